#pragma once

// ModelCatalog: the hive's models, an ArtifactCatalog of kind "model" over <cache>/models.
// An entry's folder holds the GGUF file(s) beside metadata.json; the entry's `metadata` is a
// ModelMetadata: what the model is (ModelInfo), where it came from, and each file's size and
// SHA-256.
//
//   ModelCatalog models(paths.cache_dir);
//   RBEE_ASSIGN_OR_RETURN(ArtifactEntry entry, models.import_local_gguf("/data/tiny.gguf"));
//   // entry.id == "local:tiny", entry.file_path() is the model to load
//
// Downloads from HuggingFace are written by src/provision through put()/update(); which
// models are in use is tracked by the hive. Thread-safety: every member may be called from
// any thread.

#include <filesystem>
#include <mutex>
#include <optional>
#include <set>
#include <stop_token>
#include <string>
#include <vector>

#include "catalog/artifact_catalog.hpp"
#include "catalog/model_info.hpp"
#include "common/result.hpp"
#include "common/sha256.hpp"

namespace rbee::catalog {

inline constexpr const char* kModelKind = "model";

// One file of a model entry.
struct ModelFileRecord {
  std::string name;  // relative to the entry's folder
  uint64_t size_bytes = 0;
  std::string sha256;        // lowercase hex; empty while not yet verified
  bool hard_linked = false;  // local imports: a hard link to the original, not a copy
};

// Where a model came from.
struct ModelSource {
  std::string type;                // "huggingface" or "local"
  std::string repo;                // huggingface: "TheBloke/TinyLlama-1.1B-Chat-v1.0-GGUF"
  std::string revision;            // huggingface: "main" or a commit
  std::vector<std::string> files;  // huggingface: the repository paths downloaded
  std::string path;                // local: the original file (first part of a split model)
};

// The model-specific part of an entry (ArtifactEntry::metadata).
struct ModelMetadata {
  std::optional<ModelInfo> info;  // absent until the files are there to describe
  ModelSource source;
  std::vector<ModelFileRecord> files;
};

// {"format":"gguf","info":{...},"source":{"type":...},"files":[{...}]}
Json to_json(const ModelMetadata& metadata);
// kInvalidArgument naming the field ("metadata.files[0].sha256") on a wrong type or an
// unknown source type.
Result<ModelMetadata> parse_model_metadata(const Json& json);

// The id a local import gets by default: "local:" + the file's stem, without the split
// suffix for split models ("/m/tiny-00001-of-00002.gguf" → "local:tiny").
std::string default_local_model_id(const std::filesystem::path& gguf);

struct ImportOptions {
  std::string id;         // the entry's id; default_local_model_id() when empty
  ByteProgress progress;  // hashing/copying progress over all files
  std::stop_token stop;   // cancels between 1 MiB blocks
};

class ModelCatalog {
 public:
  // The catalog lives in cache_dir / "models".
  explicit ModelCatalog(const std::filesystem::path& cache_dir);

  ArtifactCatalog& artifacts() { return artifacts_; }
  const ArtifactCatalog& artifacts() const { return artifacts_; }

  // See ArtifactCatalog.
  Result<ArtifactEntry> get(const std::string& id) const { return artifacts_.get(id); }
  ArtifactListing list() const { return artifacts_.list(); }
  Result<ArtifactEntry> put(ArtifactEntry entry) { return artifacts_.put(std::move(entry)); }
  Status remove(const std::string& id) { return artifacts_.remove(id); }
  size_t remove_leftovers() { return artifacts_.remove_leftovers(); }

  // Adds the GGUF model at `gguf` (all parts of a split model) as a ready entry. The files
  // are hard-linked into the entry's folder when they are on the same file system (no copy;
  // note that the entry then shares its bytes with the original), else copied through a
  // temporary name; each is hashed (SHA-256). The entry appears at once and complete.
  // Idempotent: importing the same unchanged file under the same id returns the existing
  // entry; a changed file (size or content) replaces it.
  // Errors: kNotFound when the file does not exist; kInvalidArgument when it is not a valid
  // GGUF model or the id is invalid; kAlreadyExists when the id belongs to a model from
  // elsewhere; kUnavailable while another import of that id runs; kCancelled when
  // options.stop is requested; kInternal on file-system failures. On any error nothing is
  // left behind and an existing entry is untouched.
  Result<ArtifactEntry> import_local_gguf(const std::filesystem::path& gguf,
                                          const ImportOptions& options = {});

 private:
  // Links or copies the files into a staging folder, hashes them, and commits the entry
  // unless the existing one already holds exactly these files.
  Result<ArtifactEntry> import_into_staging(const std::filesystem::path& source,
                                            const ModelInfo& info, const std::string& id,
                                            const ImportOptions& options);

  ArtifactCatalog artifacts_;
  std::mutex imports_mutex_;
  std::set<std::string> imports_running_;  // guarded by imports_mutex_
};

}  // namespace rbee::catalog
