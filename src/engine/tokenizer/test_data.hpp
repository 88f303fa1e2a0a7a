#pragma once

// Test-only helpers to find and read the shared tokenizer test data.

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace rbee::engine::testing {

inline std::filesystem::path testdata_dir() {
#ifdef RBEE_TESTDATA_DIR
  return std::filesystem::path(RBEE_TESTDATA_DIR);
#else
  return {};
#endif
}

inline std::string read_file_bytes(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace rbee::engine::testing
