#pragma once

// Small file helpers with rbee's crash-safety rule: a file that must survive a crash is
// written to a temporary name, fsync'd, then renamed (never half-visible).

#include <sys/types.h>

#include <filesystem>
#include <string>

#include "common/result.hpp"

namespace rbee {

// Writes `content` to `path` atomically with the given mode. kInternal naming the path.
Status write_file_atomic(const std::filesystem::path& path, const std::string& content,
                         mode_t mode = 0644);

// Reads a whole file. kNotFound when it does not exist, kInternal on other failures.
Result<std::string> read_file(const std::filesystem::path& path);

}  // namespace rbee
