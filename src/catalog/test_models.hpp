#pragma once

// Test helpers for the catalog tests (not part of the library): tiny GGUF models written
// with the engine's writer, the shared test data folder, small files.

#include <gtest/gtest.h>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "engine/gguf/gguf_writer.hpp"

namespace rbee::catalog::testing {

inline std::filesystem::path testdata_dir() {
  return std::filesystem::path(RBEE_TESTDATA_DIR);
}

inline bool have_testdata() {
  return std::filesystem::is_regular_file(testdata_dir() / "models" / "stories260K.gguf");
}

#define RBEE_SKIP_WITHOUT_TESTDATA()                                                 \
  if (!::rbee::catalog::testing::have_testdata()) {                                  \
    GTEST_SKIP() << "no test models at " << ::rbee::catalog::testing::testdata_dir() \
                 << " (see the testdata README)";                                    \
  }

// A tiny valid GGUF model: `n_rows` rows of 32 F32 weights in one 2-D tensor plus a 1-D
// norm. `seed` changes the weights, so two calls with different seeds differ in content.
inline void write_tiny_gguf(const std::filesystem::path& path, uint32_t n_rows = 4,
                            float seed = 1.0f, const std::string& name = "tiny") {
  engine::GgufWriter writer;
  writer.set("general.architecture", std::string("llama"));
  writer.set("general.name", name);
  writer.set("llama.context_length", uint32_t{256});
  std::vector<float> weights(32 * n_rows);
  for (size_t i = 0; i < weights.size(); ++i) weights[i] = seed * static_cast<float>(i);
  std::vector<float> norm(32, seed);
  ASSERT_TRUE(writer.add_tensor("token_embd.weight", engine::GgmlType::kF32, {32, n_rows},
                                std::as_bytes(std::span(weights))));
  ASSERT_TRUE(writer.add_tensor("output_norm.weight", engine::GgmlType::kF32, {32},
                                std::as_bytes(std::span(norm))));
  Status written = writer.write(path);
  ASSERT_TRUE(written) << written.error().message;
}

inline void write_text_file(const std::filesystem::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  ASSERT_TRUE(out.good()) << path;
}

inline std::string read_text_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// Names in `dir` that start with '.' (the catalogs' temporary folders and files).
inline std::vector<std::string> hidden_names(const std::filesystem::path& dir) {
  std::vector<std::string> names;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    std::string name = entry.path().filename().string();
    if (!name.empty() && name[0] == '.') names.push_back(name);
  }
  return names;
}

}  // namespace rbee::catalog::testing
