#pragma once

// ArtifactCatalog: entries of one kind ("model", "worker") stored as folders under a root,
// one folder per entry, each with a metadata.json (ARCHITECTURE.md §3):
//
//   <root>/<directory_name_for_id(id)>/metadata.json   the entry (to_json(ArtifactEntry))
//   <root>/<directory_name_for_id(id)>/...             its files
//   <root>/.staging-XXXXXX, <root>/.removing-XXXXXX     the catalog's own temporary folders
//
// Crash safety: metadata.json is replaced atomically (temporary name, fsync, rename), so a
// reader sees the old or the new entry, never half of one. A folder that is not a valid entry
// (a stray folder, corrupt or missing metadata.json, a name that is not an id's encoding) is
// reported by list() in `invalid` and never stops the valid entries from listing. Removal
// first renames the folder to a temporary name, so an entry is either listed whole or gone.
// New entries whose files must appear all at once are built in a staging folder and then
// renamed into place by commit_staging().
//
//   ArtifactCatalog models(cache_dir / "models", "model");
//   RBEE_ASSIGN_OR_RETURN(ArtifactEntry entry, models.get("local:tiny"));
//
// Thread-safety: every member may be called from any thread; one mutex serializes the
// changes made through this object. Two catalog objects over the same root (or two
// processes) are not coordinated.

#include <filesystem>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include "catalog/artifact_entry.hpp"
#include "common/result.hpp"

namespace rbee::catalog {

// A folder under the root that is not a valid entry, and why.
struct InvalidEntry {
  std::filesystem::path dir;
  std::string reason;
};

struct ArtifactListing {
  std::vector<ArtifactEntry> entries;  // sorted by id
  std::vector<InvalidEntry> invalid;   // sorted by folder
};

// Checks an id before it is used as a folder name. Returns kInvalidArgument when the id is
// not acceptable for this catalog.
using IdValidator = std::function<Status(const std::string& id)>;

class ArtifactCatalog {
 public:
  // `kind` names the entries in messages and in their "kind" field ("model", "worker").
  // `validator` checks ids; by default validate_artifact_id(id, kind). The root is created
  // on the first write.
  ArtifactCatalog(std::filesystem::path root, std::string kind, IdValidator validator = {});

  const std::filesystem::path& root() const { return root_; }
  const std::string& kind() const { return kind_; }

  // The folder of entry `id` (which need not exist). kInvalidArgument for an invalid id.
  Result<std::filesystem::path> entry_dir(const std::string& id) const;

  // Stores `entry` (creating its folder when needed) and returns it as stored: kind set to
  // this catalog's, dir filled in, updated_ms = now, created_ms kept from the stored entry
  // (or now for a new one) unless the caller set it. kInvalidArgument for an invalid id,
  // file or progress; kInternal naming the path when the disk write fails.
  Result<ArtifactEntry> put(ArtifactEntry entry);

  // Reads, changes and stores entry `id` under the catalog's lock, so concurrent updates of
  // one entry do not lose each other's changes (e.g. progress from a download and a
  // cancellation). `change` must not call back into the catalog. Errors as get() and put().
  Result<ArtifactEntry> update(const std::string& id,
                               const std::function<void(ArtifactEntry&)>& change);

  // The entry `id`. kNotFound ("model 'x' not found") when there is none; kInvalidArgument
  // for an invalid id; kInternal when its metadata.json is corrupt or names another id.
  Result<ArtifactEntry> get(const std::string& id) const;

  // Whether entry `id` exists with a readable metadata.json.
  bool contains(const std::string& id) const { return get(id).has_value(); }

  // Every entry, and every folder that is not one. Never fails: a missing root lists
  // nothing, an unreadable root is reported as one invalid entry.
  ArtifactListing list() const;

  // Deletes entry `id` and its files: the folder is renamed away first (the entry vanishes
  // at once and atomically), then deleted. kNotFound when there is none; kInvalidArgument
  // for an invalid id; kInternal when the rename fails. A failure while deleting the renamed
  // folder is not reported: remove_leftovers() finishes the job.
  Status remove(const std::string& id);

  // A new, empty staging folder under the root (hidden from list()), where an entry's files
  // are prepared before commit_staging(). kInternal when it cannot be created.
  Result<std::filesystem::path> create_staging_dir();

  // Writes `entry` as metadata.json into `staging_dir` and makes that folder the entry `id`
  // in one atomic step, replacing (and then deleting) any previous entry with that id.
  // Returns the stored entry as put() does. On failure the staging folder is left for the
  // caller to discard. Errors as put(); kInvalidArgument when `staging_dir` is not one of
  // this catalog's staging folders.
  Result<ArtifactEntry> commit_staging(const std::filesystem::path& staging_dir,
                                       ArtifactEntry entry);

  // Deletes a staging folder that will not be committed. Errors are ignored.
  void discard_staging(const std::filesystem::path& staging_dir);

  // Deletes what interrupted operations left behind: staging and removal folders under the
  // root, and metadata.json.tmp.* files in entry folders. Call it when no operation is
  // running on this catalog (at hive start). Returns how many items it removed.
  size_t remove_leftovers();

 private:
  Status validate_id(const std::string& id) const;
  Result<ArtifactEntry> read_entry(const std::string& id, const std::filesystem::path& dir) const;
  // Fills in kind/dir/timestamps and validates what put() and commit_staging() store.
  Status prepare_for_store(ArtifactEntry& entry, const std::filesystem::path& final_dir) const;
  Status write_metadata(const std::filesystem::path& dir, const ArtifactEntry& entry) const;
  Result<std::filesystem::path> rename_away(const std::filesystem::path& dir) const;
  Status ensure_root() const;

  std::filesystem::path root_;
  std::string kind_;
  IdValidator validator_;
  mutable std::mutex mutex_;  // serializes writes (put, update, remove, commit_staging)
};

}  // namespace rbee::catalog
