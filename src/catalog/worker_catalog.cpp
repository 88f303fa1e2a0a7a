#include "catalog/worker_catalog.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>

#include "catalog/file_ops.hpp"
#include "catalog/program_runner.hpp"
#include "common/sha256.hpp"

#ifndef RBEE_VERSION
#define RBEE_VERSION "0.0.0"
#endif

namespace rbee::catalog {
namespace {

namespace fs = std::filesystem;

constexpr const char* kBinFolder = "bin";

Status validate_binary_name(const std::string& name) {
  auto invalid = [&](const std::string& reason) {
    return make_error(ErrorCode::kInvalidArgument, "invalid binary name '" + name + "': " + reason);
  };
  if (name.empty()) return invalid("empty");
  if (name == "." || name == "..") return invalid("not a file name");
  if (name.size() > 255) return invalid("too long");
  for (char c : name) {
    auto byte = static_cast<unsigned char>(c);
    if (c == '/' || c == '\\') return invalid("must not contain a path separator");
    if (byte < 0x20 || byte == 0x7f) return invalid("must not contain control characters");
  }
  return ok_status();
}

// Whether the file starts like something the kernel can execute: an ELF image or a script
// with an interpreter line. Anything else would only fail later with ENOEXEC.
Result<bool> looks_executable(const fs::path& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return detail::system_error(ErrorCode::kInternal, "cannot open", path, errno);
  char magic[4] = {};
  ssize_t n = ::read(fd, magic, sizeof(magic));
  ::close(fd);
  if (n >= 4 && magic[0] == '\x7f' && magic[1] == 'E' && magic[2] == 'L' && magic[3] == 'F') {
    return true;
  }
  return n >= 2 && magic[0] == '#' && magic[1] == '!';
}

// The first non-empty line, without surrounding whitespace.
std::string first_line(const std::string& text) {
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    std::string line = text.substr(start, end - start);
    size_t first = line.find_first_not_of(" \t\r");
    if (first != std::string::npos) {
      size_t last = line.find_last_not_of(" \t\r");
      return line.substr(first, last - first + 1);
    }
    start = end + 1;
  }
  return "";
}

bool is_builtin(const ArtifactEntry& entry) {
  Result<WorkerMetadata> metadata = parse_worker_metadata(entry.metadata);
  return metadata && metadata->builtin;
}

}  // namespace

Status validate_worker_type(const std::string& worker_type) {
  auto invalid = [&](const std::string& reason) {
    return make_error(ErrorCode::kInvalidArgument,
                      "invalid worker_type '" + worker_type + "': " + reason);
  };
  if (worker_type.empty()) {
    return make_error(ErrorCode::kInvalidArgument, "worker_type must not be empty");
  }
  if (worker_type.size() > kMaxWorkerTypeBytes) {
    return make_error(ErrorCode::kInvalidArgument,
                      "worker_type is too long (" + std::to_string(worker_type.size()) +
                          " bytes, at most " + std::to_string(kMaxWorkerTypeBytes) + ")");
  }
  for (char c : worker_type) {
    bool allowed = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                   c == '-' || c == '_';
    if (!allowed) {
      auto byte = static_cast<unsigned char>(c);
      if (byte < 0x20 || byte == 0x7f) return invalid("control characters are not allowed");
      return invalid("only letters, digits, '-' and '_' are allowed");
    }
  }
  return ok_status();
}

fs::path builtin_worker_path(const fs::path& hive_executable) {
  return hive_executable.parent_path() / kBuiltinCpuWorkerProgram;
}

Json to_json(const WorkerMetadata& metadata) {
  Json json = {{"builtin", metadata.builtin}, {"version", metadata.version}};
  if (!metadata.binary.empty()) json["binary"] = metadata.binary;
  if (!metadata.source.empty()) json["source"] = metadata.source;
  if (!metadata.sha256.empty()) json["sha256"] = metadata.sha256;
  return json;
}

Result<WorkerMetadata> parse_worker_metadata(const Json& json) {
  contracts::ObjectReader reader(json, "metadata");
  RBEE_RETURN_IF_ERROR(reader.expect_object());
  WorkerMetadata metadata;
  RBEE_RETURN_IF_ERROR(reader.optional_bool("builtin", metadata.builtin));
  RBEE_RETURN_IF_ERROR(reader.optional_string("version", metadata.version));
  RBEE_RETURN_IF_ERROR(reader.optional_string("binary", metadata.binary));
  RBEE_RETURN_IF_ERROR(reader.optional_string("source", metadata.source));
  RBEE_RETURN_IF_ERROR(reader.optional_string("sha256", metadata.sha256));
  return metadata;
}

WorkerCatalog::WorkerCatalog(const fs::path& cache_dir)
    : artifacts_(cache_dir / "workers", kWorkerKind, validate_worker_type) {}

Result<ArtifactEntry> WorkerCatalog::register_builtin(const std::string& worker_type,
                                                      const fs::path& binary, std::string version) {
  RBEE_RETURN_IF_ERROR(validate_worker_type(worker_type));
  if (version.empty()) version = RBEE_VERSION;
  std::error_code ec;
  // The symlink must not depend on the hive's working folder.
  fs::path target = fs::absolute(binary, ec).lexically_normal();
  if (ec) return make_error(ErrorCode::kInternal, "cannot resolve " + binary.string());
  struct stat info {};
  if (::stat(target.c_str(), &info) != 0) {
    return detail::system_error(errno == ENOENT ? ErrorCode::kNotFound : ErrorCode::kInternal,
                                "cannot find the built-in worker", target, errno);
  }
  if (!S_ISREG(info.st_mode) || ::access(target.c_str(), X_OK) != 0) {
    return make_error(ErrorCode::kInvalidArgument,
                      "the built-in worker " + target.string() + " is not an executable file");
  }

  std::string file = std::string(kBinFolder) + "/" + target.filename().string();
  if (Result<ArtifactEntry> existing = artifacts_.get(worker_type); existing && existing->ready()) {
    Result<WorkerMetadata> metadata = parse_worker_metadata(existing->metadata);
    if (metadata && metadata->builtin && metadata->binary == target.string() &&
        metadata->version == version && existing->file == file &&
        detail::same_file(existing->file_path(), target)) {
      return existing;  // registered at an earlier start; nothing changed
    }
  }

  RBEE_ASSIGN_OR_RETURN(fs::path staging, artifacts_.create_staging_dir());
  auto fail = [&](Error error) -> Result<ArtifactEntry> {
    artifacts_.discard_staging(staging);
    return error;
  };
  fs::create_directory(staging / kBinFolder, ec);
  if (ec)
    return fail(detail::system_error(ErrorCode::kInternal, "cannot create", staging / kBinFolder,
                                     ec.value()));
  fs::create_symlink(target, staging / file, ec);
  if (ec)
    return fail(
        detail::system_error(ErrorCode::kInternal, "cannot link", staging / file, ec.value()));

  ArtifactEntry entry;
  entry.id = worker_type;
  entry.file = file;
  entry.size_bytes = static_cast<uint64_t>(info.st_size);
  entry.state = ArtifactState::kReady;
  entry.progress = 1.0;
  WorkerMetadata metadata;
  metadata.builtin = true;
  metadata.version = version;
  metadata.binary = target.string();
  entry.metadata = to_json(metadata);
  Result<ArtifactEntry> committed = artifacts_.commit_staging(staging, std::move(entry));
  if (!committed) return fail(std::move(committed).error());
  return committed;
}

Result<ArtifactEntry> WorkerCatalog::install_from_file(const std::string& worker_type,
                                                       const fs::path& source,
                                                       const WorkerInstallOptions& options) {
  RBEE_RETURN_IF_ERROR(validate_worker_type(worker_type));
  std::string expected_sha256 = to_lower_ascii(options.expected_sha256);
  if (!expected_sha256.empty() && !is_sha256_hex(expected_sha256)) {
    return make_error(ErrorCode::kInvalidArgument,
                      "sha256 must be 64 hex digits, got '" + options.expected_sha256 + "'");
  }
  std::string binary_name =
      options.binary_name.empty() ? source.filename().string() : options.binary_name;
  RBEE_RETURN_IF_ERROR(validate_binary_name(binary_name));
  if (Result<ArtifactEntry> existing = artifacts_.get(worker_type);
      existing && is_builtin(*existing)) {
    return make_error(ErrorCode::kFailedPrecondition,
                      "worker type '" + worker_type + "' is built in and cannot be replaced");
  }
  std::error_code ec;
  fs::path absolute_source = fs::absolute(source, ec).lexically_normal();
  if (ec) return make_error(ErrorCode::kInternal, "cannot resolve " + source.string());
  fs::file_status status = fs::status(absolute_source, ec);
  if (!fs::exists(status)) {
    return make_error(ErrorCode::kNotFound, "no such worker binary: " + absolute_source.string());
  }
  if (!fs::is_regular_file(status)) {
    return make_error(ErrorCode::kInvalidArgument,
                      absolute_source.string() + " is not a regular file");
  }

  RBEE_ASSIGN_OR_RETURN(fs::path staging, artifacts_.create_staging_dir());
  auto fail = [&](Error error) -> Result<ArtifactEntry> {
    artifacts_.discard_staging(staging);
    return error;
  };
  fs::create_directory(staging / kBinFolder, ec);
  if (ec) {
    return fail(detail::system_error(ErrorCode::kInternal, "cannot create", staging / kBinFolder,
                                     ec.value()));
  }
  std::string file = std::string(kBinFolder) + "/" + binary_name;
  fs::path staged_binary = staging / file;
  Result<std::string> sha256 =
      detail::copy_file_hashed(absolute_source, staged_binary, 0755, {}, options.stop);
  if (!sha256) return fail(std::move(sha256).error());
  if (!expected_sha256.empty() && *sha256 != expected_sha256) {
    return fail(make_error(ErrorCode::kInvalidArgument,
                           "sha256 mismatch for " + absolute_source.string() + ": expected " +
                               expected_sha256 + ", got " + *sha256));
  }

  Result<bool> executable = looks_executable(staged_binary);
  if (!executable) return fail(std::move(executable).error());
  if (!*executable) {
    return fail(make_error(ErrorCode::kInvalidArgument,
                           absolute_source.string() +
                               " is not an executable program (neither an ELF binary nor a "
                               "'#!' script)"));
  }
  Result<ProgramOutput> run =
      run_program({staged_binary.string(), "--version"}, options.version_timeout);
  if (!run) {
    Error error = std::move(run).error();
    if (error.code != ErrorCode::kInternal) error.code = ErrorCode::kInvalidArgument;
    error.message =
        "worker binary " + absolute_source.string() + " failed --version: " + error.message;
    return fail(std::move(error));
  }
  if (run->exit_code != 0) {
    std::string detail = first_line(run->stderr_text);
    return fail(make_error(ErrorCode::kInvalidArgument,
                           "worker binary " + absolute_source.string() +
                               " --version exited with status " + std::to_string(run->exit_code) +
                               (detail.empty() ? "" : ": " + detail)));
  }

  ArtifactEntry entry;
  entry.id = worker_type;
  entry.file = file;
  entry.size_bytes = fs::file_size(staged_binary, ec);
  entry.state = ArtifactState::kReady;
  entry.progress = 1.0;
  WorkerMetadata metadata;
  metadata.version = first_line(run->stdout_text);
  if (metadata.version.empty()) metadata.version = "unknown";
  metadata.source = absolute_source.string();
  metadata.sha256 = *sha256;
  entry.metadata = to_json(metadata);
  Result<ArtifactEntry> committed = artifacts_.commit_staging(staging, std::move(entry));
  if (!committed) return fail(std::move(committed).error());
  return committed;
}

Status WorkerCatalog::remove(const std::string& worker_type) {
  RBEE_ASSIGN_OR_RETURN(ArtifactEntry entry, artifacts_.get(worker_type));
  if (is_builtin(entry)) {
    return make_error(ErrorCode::kFailedPrecondition,
                      "worker type '" + worker_type + "' is built in and cannot be deleted");
  }
  return artifacts_.remove(worker_type);
}

Result<fs::path> WorkerCatalog::binary_path(const std::string& worker_type) const {
  RBEE_ASSIGN_OR_RETURN(ArtifactEntry entry, artifacts_.get(worker_type));
  if (!entry.ready()) {
    return make_error(ErrorCode::kFailedPrecondition, "worker type '" + worker_type + "' is " +
                                                          std::string(state_name(entry.state)) +
                                                          ", not ready");
  }
  fs::path binary = entry.file_path();
  if (entry.file.empty() || ::access(binary.c_str(), X_OK) != 0) {
    return make_error(ErrorCode::kFailedPrecondition, "worker type '" + worker_type +
                                                          "': its binary " + binary.string() +
                                                          " is missing or not executable");
  }
  return binary;
}

}  // namespace rbee::catalog
