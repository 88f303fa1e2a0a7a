#pragma once

// WorkerCatalog: the worker binaries a hive can spawn, an ArtifactCatalog of kind "worker"
// over <cache>/workers, keyed by worker type ("cpu", "llamacpp", ...):
//
//   workers/<type>/metadata.json
//   workers/<type>/bin/<binary>
//
// The built-in `cpu` type is our own llm-worker-rbee, found beside rbee-hive and registered
// at every hive start as a symlink to that binary (no copy). Other types are installed from
// a file (the hive downloads http(s) sources to a temporary file first): copied, made
// executable, verified and asked for `--version` before they appear, complete, in one step.
//
//   WorkerCatalog workers(paths.cache_dir);
//   RBEE_ASSIGN_OR_RETURN(ArtifactEntry cpu,
//                         workers.register_builtin("cpu", builtin_worker_path(hive_exe)));
//   RBEE_ASSIGN_OR_RETURN(std::filesystem::path binary, workers.binary_path("cpu"));
//
// Thread-safety: every member may be called from any thread.

#include <chrono>
#include <filesystem>
#include <stop_token>
#include <string>

#include "catalog/artifact_catalog.hpp"
#include "common/result.hpp"

namespace rbee::catalog {

inline constexpr const char* kWorkerKind = "worker";
// The built-in worker type and the program that serves it.
inline constexpr const char* kBuiltinCpuWorkerType = "cpu";
inline constexpr const char* kBuiltinCpuWorkerProgram = "llm-worker-rbee";
inline constexpr size_t kMaxWorkerTypeBytes = 64;

// OK when `worker_type` is 1..64 letters, digits, '-' or '_'. Else kInvalidArgument naming
// the field "worker_type".
Status validate_worker_type(const std::string& worker_type);

// Where the built-in worker lives: beside the running hive program.
std::filesystem::path builtin_worker_path(const std::filesystem::path& hive_executable);

// The worker-specific part of an entry (ArtifactEntry::metadata).
struct WorkerMetadata {
  bool builtin = false;  // registered by the hive itself; cannot be deleted or replaced
  std::string version;   // first line of `<binary> --version` (builtin: the hive's version)
  std::string binary;    // builtin: the program the symlink points at; else empty
  std::string source;    // installed: the file it was installed from
  std::string sha256;    // installed: of the binary (lowercase hex)
};
Json to_json(const WorkerMetadata& metadata);
// kInvalidArgument naming the field on a wrong type.
Result<WorkerMetadata> parse_worker_metadata(const Json& json);

struct WorkerInstallOptions {
  std::string expected_sha256;  // when set (64 hex digits), the file must hash to it
  std::string binary_name;      // the name under bin/; the source's file name when empty
  std::chrono::milliseconds version_timeout{5000};
  std::stop_token stop;  // cancels the copy
};

class WorkerCatalog {
 public:
  // The catalog lives in cache_dir / "workers".
  explicit WorkerCatalog(const std::filesystem::path& cache_dir);

  ArtifactCatalog& artifacts() { return artifacts_; }
  const ArtifactCatalog& artifacts() const { return artifacts_; }

  // Registers `binary` (an existing executable, not copied) as the built-in `worker_type`,
  // ready, with metadata {builtin:true, version}. `version` defaults to this build's
  // RBEE_VERSION. Replaces whatever entry the type had; unchanged registrations (same binary,
  // same version) keep the entry as it is. kNotFound when `binary` does not exist;
  // kInvalidArgument when it is not an executable regular file or the type is invalid;
  // kInternal on file-system failures.
  Result<ArtifactEntry> register_builtin(const std::string& worker_type,
                                         const std::filesystem::path& binary,
                                         std::string version = {});

  // Installs the program at `source` as `worker_type`: copied into bin/ through a temporary
  // name, chmod 0755, hashed (and checked against options.expected_sha256), checked to be an
  // ELF binary or '#!' script, and run as `<binary> --version`, which must exit 0 within
  // options.version_timeout; its first output line is recorded as the version. Replaces a
  // previous install of the type. On any error nothing is left behind and a previous
  // install is untouched.
  // Errors: kNotFound when `source` does not exist; kInvalidArgument for an invalid type,
  // binary name or expected hash, a hash mismatch (both hashes named), a file that is not a
  // program, or a --version run that fails or times out; kFailedPrecondition when the type
  // is built in; kCancelled when options.stop is requested; kInternal on file-system failures.
  Result<ArtifactEntry> install_from_file(const std::string& worker_type,
                                          const std::filesystem::path& source,
                                          const WorkerInstallOptions& options = {});

  // See ArtifactCatalog; ids are worker types.
  Result<ArtifactEntry> get(const std::string& worker_type) const {
    return artifacts_.get(worker_type);
  }
  ArtifactListing list() const { return artifacts_.list(); }
  size_t remove_leftovers() { return artifacts_.remove_leftovers(); }

  // Deletes an installed worker type. kFailedPrecondition for a built-in type (the hive
  // registers it again at every start, so deleting it could not last); kNotFound when there
  // is no such type; kInvalidArgument for an invalid type.
  Status remove(const std::string& worker_type);

  // The program to spawn for `worker_type`. kNotFound when there is no such type;
  // kFailedPrecondition when the entry is not ready or its binary has gone missing.
  Result<std::filesystem::path> binary_path(const std::string& worker_type) const;

 private:
  ArtifactCatalog artifacts_;
};

}  // namespace rbee::catalog
