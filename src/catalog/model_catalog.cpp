#include "catalog/model_catalog.hpp"

#include <unistd.h>

#include <cerrno>
#include <system_error>

#include "catalog/file_ops.hpp"

namespace rbee::catalog {
namespace {

namespace fs = std::filesystem;

constexpr const char* kSourceHuggingFace = "huggingface";
constexpr const char* kSourceLocal = "local";

Json to_json(const ModelFileRecord& file) {
  return {{"name", file.name},
          {"size_bytes", file.size_bytes},
          {"sha256", file.sha256},
          {"hard_linked", file.hard_linked}};
}

Json to_json(const ModelSource& source) {
  Json json = {{"type", source.type}};
  if (source.type == kSourceHuggingFace) {
    json["repo"] = source.repo;
    json["revision"] = source.revision;
    json["files"] = source.files;
  } else {
    json["path"] = source.path;
  }
  return json;
}

Status read_size(contracts::ObjectReader& reader, const char* key, uint64_t& out) {
  int64_t value = 0;
  RBEE_RETURN_IF_ERROR(reader.optional_int(key, value));
  if (value < 0) {
    return make_error(ErrorCode::kInvalidArgument,
                      "field '" + reader.field_path(key) + "' must not be negative");
  }
  out = static_cast<uint64_t>(value);
  return ok_status();
}

Result<ModelFileRecord> parse_file_record(const Json& json, const std::string& path) {
  contracts::ObjectReader reader(json, path);
  RBEE_RETURN_IF_ERROR(reader.expect_object());
  ModelFileRecord file;
  RBEE_RETURN_IF_ERROR(reader.required_string("name", file.name));
  RBEE_RETURN_IF_ERROR(validate_relative_file(file.name, path + ".name"));
  RBEE_RETURN_IF_ERROR(read_size(reader, "size_bytes", file.size_bytes));
  RBEE_RETURN_IF_ERROR(reader.optional_string("sha256", file.sha256));
  RBEE_RETURN_IF_ERROR(reader.optional_bool("hard_linked", file.hard_linked));
  return file;
}

Result<ModelSource> parse_source(const Json& json, const std::string& path) {
  contracts::ObjectReader reader(json, path);
  RBEE_RETURN_IF_ERROR(reader.expect_object());
  ModelSource source;
  RBEE_RETURN_IF_ERROR(reader.required_string("type", source.type));
  if (source.type == kSourceHuggingFace) {
    RBEE_RETURN_IF_ERROR(reader.required_string("repo", source.repo));
    RBEE_RETURN_IF_ERROR(reader.optional_string("revision", source.revision));
    if (const Json* files = reader.optional_value("files")) {
      if (!files->is_array()) {
        return make_error(ErrorCode::kInvalidArgument,
                          "field '" + reader.field_path("files") + "' must be an array");
      }
      for (const Json& file : *files) {
        if (!file.is_string()) {
          return make_error(ErrorCode::kInvalidArgument,
                            "field '" + reader.field_path("files") + "' must hold strings");
        }
        source.files.push_back(file.get<std::string>());
      }
    }
  } else if (source.type == kSourceLocal) {
    RBEE_RETURN_IF_ERROR(reader.required_string("path", source.path));
  } else {
    return make_error(ErrorCode::kInvalidArgument, "field '" + reader.field_path("type") +
                                                       "' must be huggingface or local, got '" +
                                                       source.type + "'");
  }
  return source;
}

// Scoped claim on an id, so two imports of one model do not build it at once.
class ImportClaim {
 public:
  ImportClaim(std::mutex& mutex, std::set<std::string>& running, std::string id)
      : mutex_(mutex), running_(running), id_(std::move(id)) {
    std::lock_guard lock(mutex_);
    claimed_ = running_.insert(id_).second;
  }
  ~ImportClaim() {
    if (!claimed_) return;
    std::lock_guard lock(mutex_);
    running_.erase(id_);
  }
  ImportClaim(const ImportClaim&) = delete;
  ImportClaim& operator=(const ImportClaim&) = delete;
  bool claimed() const { return claimed_; }

 private:
  std::mutex& mutex_;
  std::set<std::string>& running_;
  std::string id_;
  bool claimed_ = false;
};

// The model's files in the order of `info.files`, as recorded for `entry`, when `entry` was
// imported from `source`; nullopt when it came from anywhere else.
std::optional<std::vector<ModelFileRecord>> files_imported_from(const ArtifactEntry& entry,
                                                                const fs::path& source) {
  Result<ModelMetadata> metadata = parse_model_metadata(entry.metadata);
  if (!metadata || metadata->source.type != kSourceLocal ||
      metadata->source.path != source.string()) {
    return std::nullopt;
  }
  return metadata->files;
}

}  // namespace

Json to_json(const ModelMetadata& metadata) {
  Json files = Json::array();
  for (const ModelFileRecord& file : metadata.files) files.push_back(to_json(file));
  Json json = {{"format", "gguf"}, {"source", to_json(metadata.source)}, {"files", files}};
  if (metadata.info) json["info"] = to_json(*metadata.info);
  return json;
}

Result<ModelMetadata> parse_model_metadata(const Json& json) {
  contracts::ObjectReader reader(json, "metadata");
  RBEE_RETURN_IF_ERROR(reader.expect_object());
  ModelMetadata metadata;
  if (const Json* info = reader.optional_value("info")) {
    RBEE_ASSIGN_OR_RETURN(metadata.info, parse_model_info(*info, reader.field_path("info")));
  }
  const Json* source = reader.optional_value("source");
  if (!source) {
    return make_error(ErrorCode::kInvalidArgument, "missing field 'metadata.source'");
  }
  RBEE_ASSIGN_OR_RETURN(metadata.source, parse_source(*source, reader.field_path("source")));
  if (const Json* files = reader.optional_value("files")) {
    if (!files->is_array()) {
      return make_error(ErrorCode::kInvalidArgument, "field 'metadata.files' must be an array");
    }
    for (size_t i = 0; i < files->size(); ++i) {
      RBEE_ASSIGN_OR_RETURN(
          ModelFileRecord file,
          parse_file_record((*files)[i], "metadata.files[" + std::to_string(i) + "]"));
      metadata.files.push_back(std::move(file));
    }
  }
  return metadata;
}

std::string default_local_model_id(const fs::path& gguf) {
  std::string file_name = gguf.filename().string();
  if (std::optional<SplitFileName> split = parse_split_file_name(file_name)) {
    return "local:" + split->prefix;
  }
  return "local:" + gguf.stem().string();
}

ModelCatalog::ModelCatalog(const fs::path& cache_dir)
    : artifacts_(cache_dir / "models", kModelKind) {}

Result<ArtifactEntry> ModelCatalog::import_local_gguf(const fs::path& gguf,
                                                      const ImportOptions& options) {
  // The recorded source must not depend on the caller's working folder.
  std::error_code ec;
  fs::path source = fs::absolute(gguf, ec).lexically_normal();
  if (ec) return make_error(ErrorCode::kInternal, "cannot resolve " + gguf.string());
  fs::file_status status = fs::status(source, ec);
  if (!fs::exists(status)) {
    return make_error(ErrorCode::kNotFound, "no such model file: " + source.string());
  }
  if (!fs::is_regular_file(status)) {
    return make_error(ErrorCode::kInvalidArgument, source.string() + " is not a regular file");
  }
  RBEE_ASSIGN_OR_RETURN(ModelInfo info, describe_gguf(source));
  if (info.architecture.empty()) {
    return make_error(ErrorCode::kInvalidArgument,
                      source.string() + " has no general.architecture: not a model");
  }
  // A split model is recorded by its first part, whichever part was given.
  source = info.files.front();

  std::string id = options.id.empty() ? default_local_model_id(source) : options.id;
  if (Result<fs::path> dir = artifacts_.entry_dir(id); !dir) return std::move(dir).error();
  ImportClaim claim(imports_mutex_, imports_running_, id);
  if (!claim.claimed()) {
    return make_error(ErrorCode::kUnavailable, "model '" + id + "' is being imported already");
  }

  if (Result<ArtifactEntry> existing = artifacts_.get(id)) {
    // A ready model from elsewhere is never replaced by accident; an unfinished or failed
    // entry (an interrupted download) is.
    if (existing->ready() && !files_imported_from(*existing, source)) {
      return make_error(ErrorCode::kAlreadyExists,
                        "model '" + id + "' already exists and was not imported from " +
                            source.string() + "; import under another id");
    }
  }
  return import_into_staging(source, info, id, options);
}

Result<ArtifactEntry> ModelCatalog::import_into_staging(const fs::path& source,
                                                        const ModelInfo& info,
                                                        const std::string& id,
                                                        const ImportOptions& options) {
  RBEE_ASSIGN_OR_RETURN(fs::path staging, artifacts_.create_staging_dir());
  auto fail = [&](Error error) -> Result<ArtifactEntry> {
    artifacts_.discard_staging(staging);
    return error;
  };

  ModelMetadata metadata;
  metadata.info = info;
  metadata.source.type = kSourceLocal;
  metadata.source.path = source.string();
  uint64_t bytes_before = 0;  // progress across all parts
  for (const fs::path& part : info.files) {
    ModelFileRecord record;
    record.name = part.filename().string();
    fs::path target = staging / record.name;
    ByteProgress part_progress;
    if (options.progress) {
      part_progress = [&](uint64_t done, uint64_t) {
        options.progress(bytes_before + done, info.file_size_bytes);
      };
    }
    Result<std::string> hash = make_error(ErrorCode::kInternal, "not hashed");
    // Same file system: a hard link costs nothing. Otherwise (EXDEV, or a link refused, e.g.
    // by fs.protected_hardlinks for a file someone else owns) copy the bytes.
    if (::link(part.c_str(), target.c_str()) == 0) {
      record.hard_linked = true;
      hash = sha256_file(target, part_progress, options.stop);
    } else {
      hash = detail::copy_file_hashed(part, target, 0644, part_progress, options.stop);
    }
    if (!hash) return fail(std::move(hash).error());
    record.sha256 = *hash;
    std::error_code ec;
    record.size_bytes = fs::file_size(target, ec);
    if (ec)
      return fail(detail::system_error(ErrorCode::kInternal, "cannot stat", target, ec.value()));
    bytes_before += record.size_bytes;
    metadata.files.push_back(std::move(record));
  }

  // Re-importing unchanged files: keep the entry exactly as it is.
  if (Result<ArtifactEntry> existing = artifacts_.get(id); existing && existing->ready()) {
    std::optional<std::vector<ModelFileRecord>> previous = files_imported_from(*existing, source);
    bool same = previous && previous->size() == metadata.files.size();
    for (size_t i = 0; same && i < metadata.files.size(); ++i) {
      const ModelFileRecord& before = (*previous)[i];
      const ModelFileRecord& now = metadata.files[i];
      std::error_code ec;
      same = before.name == now.name && before.sha256 == now.sha256 &&
             before.size_bytes == now.size_bytes &&
             fs::file_size(existing->dir / before.name, ec) == now.size_bytes && !ec;
    }
    if (same) {
      artifacts_.discard_staging(staging);
      return *existing;
    }
  }

  ArtifactEntry entry;
  entry.id = id;
  entry.file = metadata.files.front().name;
  entry.size_bytes = bytes_before;
  entry.state = ArtifactState::kReady;
  entry.progress = 1.0;
  entry.metadata = to_json(metadata);
  Result<ArtifactEntry> committed = artifacts_.commit_staging(staging, std::move(entry));
  if (!committed) return fail(std::move(committed).error());
  return committed;
}

}  // namespace rbee::catalog
