#pragma once

// File-system steps the catalogs share, each following ARCHITECTURE.md §3: whatever must
// survive a crash is written under a temporary name, fsync'd, then renamed, and the folder
// holding the new name is fsync'd too.

#include <sys/types.h>

#include <filesystem>
#include <stop_token>
#include <string>

#include "common/result.hpp"
#include "common/sha256.hpp"

namespace rbee::catalog::detail {

// An Error for a failed system call: "<what> <path>: <strerror(err)>".
Error system_error(ErrorCode code, const std::string& what, const std::filesystem::path& path,
                   int err);

// fsyncs a folder so that entries created, renamed or removed in it are durable.
// kInternal naming the folder on failure.
Status sync_directory(const std::filesystem::path& dir);

// Copies `source` to `destination` through a temporary name in the destination's folder
// (fsync'd, mode set exactly, then renamed), hashing the bytes on the way. Returns their
// SHA-256. kNotFound when the source is missing; kCancelled when `stop` is requested (the
// temporary file is removed); kInternal naming the path on other failures.
Result<std::string> copy_file_hashed(const std::filesystem::path& source,
                                     const std::filesystem::path& destination, mode_t mode,
                                     const ByteProgress& progress = {}, std::stop_token stop = {});

// Whether both paths exist and are the same file (same device and inode).
bool same_file(const std::filesystem::path& a, const std::filesystem::path& b);

// Removes `path` and everything under it; errors are ignored (used for clean-up only).
void remove_all_quietly(const std::filesystem::path& path);

}  // namespace rbee::catalog::detail
