#pragma once

// The cluster token (ARCHITECTURE.md §6): a random secret in config/cluster.token, mode
// 0600, created by the queen on first start. Hives and workers send it as a bearer token on
// every internal call.

#include <filesystem>
#include <string>

#include "common/result.hpp"

namespace rbee {

// Reads the token, creating it (0600, atomically) when the file does not exist yet.
// A file with group/other permission bits is tightened to 0600.
Result<std::string> load_or_create_cluster_token(const std::filesystem::path& path);

// Reads an existing token. kNotFound when the queen has not created it yet;
// kFailedPrecondition when the file is empty.
Result<std::string> read_cluster_token(const std::filesystem::path& path);

}  // namespace rbee
