#include "catalog/artifact_catalog.hpp"

#include <fcntl.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <system_error>

#include "catalog/artifact_id.hpp"
#include "catalog/file_ops.hpp"
#include "common/clock.hpp"
#include "common/files.hpp"
#include "common/random.hpp"

namespace rbee::catalog {
namespace {

namespace fs = std::filesystem;

constexpr const char* kMetadataFileName = "metadata.json";
// write_file_atomic's temporary names: "metadata.json.tmp.<pid>".
constexpr std::string_view kMetadataTemporaryPrefix = "metadata.json.tmp.";
constexpr std::string_view kStagingPrefix = ".staging-";
constexpr std::string_view kRemovingPrefix = ".removing-";

bool starts_with(std::string_view text, std::string_view prefix) {
  return text.substr(0, prefix.size()) == prefix;
}

// A real folder (a symlink to one does not count: entries never leave the root).
bool is_real_directory(const fs::path& path) {
  std::error_code ec;
  return fs::symlink_status(path, ec).type() == fs::file_type::directory;
}

}  // namespace

ArtifactCatalog::ArtifactCatalog(std::filesystem::path root, std::string kind,
                                 IdValidator validator)
    : root_(std::move(root)), kind_(std::move(kind)), validator_(std::move(validator)) {
  if (!validator_) {
    validator_ = [field = kind_](const std::string& id) { return validate_artifact_id(id, field); };
  }
}

Status ArtifactCatalog::validate_id(const std::string& id) const {
  return validator_(id);
}

Result<fs::path> ArtifactCatalog::entry_dir(const std::string& id) const {
  RBEE_RETURN_IF_ERROR(validate_id(id));
  return root_ / directory_name_for_id(id);
}

Status ArtifactCatalog::ensure_root() const {
  std::error_code ec;
  fs::create_directories(root_, ec);
  if (ec) {
    return make_error(ErrorCode::kInternal,
                      "cannot create folder " + root_.string() + ": " + ec.message());
  }
  return ok_status();
}

Result<ArtifactEntry> ArtifactCatalog::read_entry(const std::string& id,
                                                  const fs::path& dir) const {
  // A symlink in place of an entry folder could point anywhere: it is not an entry.
  if (!is_real_directory(dir)) {
    return make_error(ErrorCode::kNotFound, kind_ + " '" + id + "' not found");
  }
  fs::path metadata_path = dir / kMetadataFileName;
  Result<std::string> text = read_file(metadata_path);
  if (!text) {
    if (text.error().code == ErrorCode::kNotFound) {
      return make_error(ErrorCode::kNotFound,
                        kind_ + " '" + id + "' not found (its folder has no metadata.json)");
    }
    return text.error();
  }
  auto corrupt = [&](const std::string& reason) {
    return make_error(ErrorCode::kInternal,
                      kind_ + " '" + id + "': corrupt " + metadata_path.string() + ": " + reason);
  };
  Result<Json> json = contracts::parse_json_text(*text);
  if (!json) return corrupt(json.error().message);
  Result<ArtifactEntry> entry = parse_artifact_entry(*json);
  if (!entry) return corrupt(entry.error().message);
  if (entry->id != id) return corrupt("it names '" + entry->id + "', expected '" + id + "'");
  if (entry->kind != kind_)
    return corrupt("its kind is '" + entry->kind + "', expected '" + kind_ + "'");
  entry->dir = dir;
  return entry;
}

Status ArtifactCatalog::prepare_for_store(ArtifactEntry& entry, const fs::path& final_dir) const {
  RBEE_RETURN_IF_ERROR(validate_relative_file(entry.file, "file"));
  if (!(entry.progress >= 0.0 && entry.progress <= 1.0)) {
    return make_error(ErrorCode::kInvalidArgument,
                      kind_ + " '" + entry.id + "': progress must be between 0 and 1");
  }
  entry.kind = kind_;
  entry.dir = final_dir;
  entry.updated_ms = now_unix_ms();
  if (entry.created_ms == 0) {
    Result<ArtifactEntry> stored = read_entry(entry.id, final_dir);
    entry.created_ms = stored ? stored->created_ms : entry.updated_ms;
  }
  return ok_status();
}

Status ArtifactCatalog::write_metadata(const fs::path& dir, const ArtifactEntry& entry) const {
  ArtifactEntry stored = entry;
  stored.dir.clear();  // derived from where the folder is; storing it would go stale on a move
  // Replace, not throw, should a message carry bytes that are not UTF-8 (an OS error text).
  std::string text = to_json(stored).dump(2, ' ', false, Json::error_handler_t::replace) + "\n";
  return write_file_atomic(dir / kMetadataFileName, text);
}

Result<ArtifactEntry> ArtifactCatalog::put(ArtifactEntry entry) {
  std::lock_guard lock(mutex_);
  RBEE_ASSIGN_OR_RETURN(fs::path dir, entry_dir(entry.id));
  RBEE_RETURN_IF_ERROR(ensure_root());
  bool created = false;
  if (::mkdir(dir.c_str(), 0755) == 0) {
    created = true;
  } else if (int err = errno; err != EEXIST || !is_real_directory(dir)) {
    return detail::system_error(ErrorCode::kInternal, "cannot create folder", dir,
                                err == EEXIST ? ENOTDIR : err);
  }
  RBEE_RETURN_IF_ERROR(prepare_for_store(entry, dir));
  RBEE_RETURN_IF_ERROR(write_metadata(dir, entry));
  if (created) RBEE_RETURN_IF_ERROR(detail::sync_directory(root_));
  return entry;
}

Result<ArtifactEntry> ArtifactCatalog::update(const std::string& id,
                                              const std::function<void(ArtifactEntry&)>& change) {
  std::lock_guard lock(mutex_);
  RBEE_ASSIGN_OR_RETURN(fs::path dir, entry_dir(id));
  RBEE_ASSIGN_OR_RETURN(ArtifactEntry entry, read_entry(id, dir));
  change(entry);
  entry.id = id;  // an update changes an entry, never which one it is
  RBEE_RETURN_IF_ERROR(prepare_for_store(entry, dir));
  RBEE_RETURN_IF_ERROR(write_metadata(dir, entry));
  return entry;
}

Result<ArtifactEntry> ArtifactCatalog::get(const std::string& id) const {
  std::lock_guard lock(mutex_);
  RBEE_ASSIGN_OR_RETURN(fs::path dir, entry_dir(id));
  return read_entry(id, dir);
}

ArtifactListing ArtifactCatalog::list() const {
  std::lock_guard lock(mutex_);
  ArtifactListing listing;
  std::error_code ec;
  if (!fs::exists(root_, ec)) return listing;
  fs::directory_iterator it(root_, ec);
  if (ec) {
    listing.invalid.push_back({root_, "cannot read the folder: " + ec.message()});
    return listing;
  }
  for (; it != fs::directory_iterator(); it.increment(ec)) {
    const fs::path& dir = it->path();
    std::string name = dir.filename().string();
    // Encoded ids never start with '.': these are the catalog's own temporary folders (or
    // hidden files someone else put there), not entries.
    if (starts_with(name, ".")) continue;
    if (!is_real_directory(dir)) {
      listing.invalid.push_back({dir, "not a folder"});
      continue;
    }
    std::optional<std::string> id = id_from_directory_name(name);
    if (!id) {
      listing.invalid.push_back({dir, "the folder name is not an encoded " + kind_ + " id"});
      continue;
    }
    if (Status valid = validate_id(*id); !valid) {
      listing.invalid.push_back({dir, valid.error().message});
      continue;
    }
    Result<ArtifactEntry> entry = read_entry(*id, dir);
    if (!entry) {
      listing.invalid.push_back({dir, entry.error().message});
      continue;
    }
    listing.entries.push_back(std::move(*entry));
  }
  if (ec) listing.invalid.push_back({root_, "cannot read the folder: " + ec.message()});
  std::sort(listing.entries.begin(), listing.entries.end(),
            [](const ArtifactEntry& a, const ArtifactEntry& b) { return a.id < b.id; });
  std::sort(listing.invalid.begin(), listing.invalid.end(),
            [](const InvalidEntry& a, const InvalidEntry& b) { return a.dir < b.dir; });
  return listing;
}

Result<fs::path> ArtifactCatalog::rename_away(const fs::path& dir) const {
  fs::path away = root_ / (std::string(kRemovingPrefix) + random_hex(8));
  if (::rename(dir.c_str(), away.c_str()) != 0) {
    return detail::system_error(ErrorCode::kInternal, "cannot move away", dir, errno);
  }
  return away;
}

Status ArtifactCatalog::remove(const std::string& id) {
  fs::path away;
  {
    std::lock_guard lock(mutex_);
    RBEE_ASSIGN_OR_RETURN(fs::path dir, entry_dir(id));
    if (!is_real_directory(dir)) {
      return make_error(ErrorCode::kNotFound, kind_ + " '" + id + "' not found");
    }
    RBEE_ASSIGN_OR_RETURN(away, rename_away(dir));
    RBEE_RETURN_IF_ERROR(detail::sync_directory(root_));
  }
  // Outside the lock: deleting a large model's files takes a while, and the entry is
  // already gone from every listing.
  detail::remove_all_quietly(away);
  return ok_status();
}

Result<fs::path> ArtifactCatalog::create_staging_dir() {
  RBEE_RETURN_IF_ERROR(ensure_root());
  std::string pattern = (root_ / (std::string(kStagingPrefix) + "XXXXXX")).string();
  if (::mkdtemp(pattern.data()) == nullptr) {
    return detail::system_error(ErrorCode::kInternal, "cannot create a staging folder in", root_,
                                errno);
  }
  return fs::path(pattern);
}

Result<ArtifactEntry> ArtifactCatalog::commit_staging(const fs::path& staging_dir,
                                                      ArtifactEntry entry) {
  fs::path replaced;  // the previous entry's folder, deleted after the lock is released
  {
    std::lock_guard lock(mutex_);
    RBEE_ASSIGN_OR_RETURN(fs::path dir, entry_dir(entry.id));
    if (staging_dir.parent_path() != root_ ||
        !starts_with(staging_dir.filename().string(), kStagingPrefix) ||
        !is_real_directory(staging_dir)) {
      return make_error(ErrorCode::kInvalidArgument,
                        staging_dir.string() + " is not a staging folder of " + root_.string());
    }
    RBEE_RETURN_IF_ERROR(prepare_for_store(entry, dir));
    RBEE_RETURN_IF_ERROR(write_metadata(staging_dir, entry));

    if (!is_real_directory(dir)) {
      if (::rename(staging_dir.c_str(), dir.c_str()) != 0) {
        return detail::system_error(ErrorCode::kInternal, "cannot move into place", dir, errno);
      }
    } else if (::renameat2(AT_FDCWD, staging_dir.c_str(), AT_FDCWD, dir.c_str(), RENAME_EXCHANGE) ==
               0) {
      // One atomic step: the new entry is in place and the old one sits under the staging
      // name, from where it is deleted.
      replaced = staging_dir;
    } else if (errno == EINVAL || errno == ENOSYS || errno == ENOTSUP) {
      // File systems without RENAME_EXCHANGE: two renames, with a moment without the entry.
      RBEE_ASSIGN_OR_RETURN(replaced, rename_away(dir));
      if (::rename(staging_dir.c_str(), dir.c_str()) != 0) {
        int err = errno;
        ::rename(replaced.c_str(), dir.c_str());  // put the previous entry back
        return detail::system_error(ErrorCode::kInternal, "cannot move into place", dir, err);
      }
    } else {
      return detail::system_error(ErrorCode::kInternal, "cannot replace", dir, errno);
    }
    RBEE_RETURN_IF_ERROR(detail::sync_directory(root_));
  }
  if (!replaced.empty()) detail::remove_all_quietly(replaced);
  return entry;
}

void ArtifactCatalog::discard_staging(const fs::path& staging_dir) {
  if (staging_dir.parent_path() != root_ ||
      !starts_with(staging_dir.filename().string(), kStagingPrefix)) {
    return;  // never delete anything but our own staging folders
  }
  detail::remove_all_quietly(staging_dir);
}

size_t ArtifactCatalog::remove_leftovers() {
  std::lock_guard lock(mutex_);
  size_t n_removed = 0;
  std::error_code ec;
  for (fs::directory_iterator it(root_, ec), end; !ec && it != end; it.increment(ec)) {
    const fs::path& path = it->path();
    std::string name = path.filename().string();
    if (starts_with(name, kStagingPrefix) || starts_with(name, kRemovingPrefix)) {
      detail::remove_all_quietly(path);
      ++n_removed;
      continue;
    }
    if (starts_with(name, ".") || !is_real_directory(path)) continue;
    std::error_code inner_ec;
    for (fs::directory_iterator file(path, inner_ec), file_end; !inner_ec && file != file_end;
         file.increment(inner_ec)) {
      if (starts_with(file->path().filename().string(), kMetadataTemporaryPrefix)) {
        std::error_code ignored;
        if (fs::remove(file->path(), ignored)) ++n_removed;
      }
    }
  }
  return n_removed;
}

}  // namespace rbee::catalog
