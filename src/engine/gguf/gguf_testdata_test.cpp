// Reads every GGUF file in the shared test data (/work/shared/testdata beside the checkout)
// and checks facts that llama.cpp's files are known to have. Skips when the folder is missing.

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <map>

#include "engine/gguf/gguf_reader.hpp"

namespace rbee::engine {
namespace {

namespace fs = std::filesystem;

fs::path testdata_dir() {
  return fs::path(RBEE_TESTDATA_DIR);
}

std::vector<fs::path> gguf_files(const fs::path& dir) {
  std::vector<fs::path> files;
  if (!fs::is_directory(dir)) return files;
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (entry.path().extension() == ".gguf") files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  return files;
}

#define SKIP_WITHOUT_TESTDATA()                                                       \
  if (!fs::is_directory(testdata_dir() / "models")) {                                 \
    GTEST_SKIP() << "no test data at " << testdata_dir() << " (see testdata README)"; \
  }

// The tensors follow one another in the data section with only alignment padding between:
// this holds only when every type's byte size (ggml_types) is right.
void expect_tightly_packed(const GgufReader& gguf) {
  std::vector<const GgufTensor*> tensors;
  for (const GgufTensor& tensor : gguf.tensors()) tensors.push_back(&tensor);
  std::sort(tensors.begin(), tensors.end(),
            [](const GgufTensor* a, const GgufTensor* b) { return a->offset < b->offset; });
  uint64_t next = 0;
  for (const GgufTensor* tensor : tensors) {
    uint64_t aligned = (next + gguf.alignment() - 1) / gguf.alignment() * gguf.alignment();
    EXPECT_EQ(tensor->offset, aligned) << tensor->name;
    next = tensor->offset + tensor->n_bytes;
  }
}

TEST(GgufTestdataTest, EveryModelParses) {
  SKIP_WITHOUT_TESTDATA();
  auto files = gguf_files(testdata_dir() / "models");
  ASSERT_GE(files.size(), 20u);
  for (const fs::path& path : files) {
    SCOPED_TRACE(path.filename().string());
    auto gguf = GgufReader::open(path);
    ASSERT_TRUE(gguf) << gguf.error().message;
    EXPECT_TRUE(gguf->get<std::string_view>("general.architecture"));
    EXPECT_FALSE(gguf->tensors().empty());
    expect_tightly_packed(*gguf);
    auto tokens = gguf->get_string_array("tokenizer.ggml.tokens");
    ASSERT_TRUE(tokens) << tokens.error().message;
    EXPECT_GE(tokens->size(), 512u);
  }
}

TEST(GgufTestdataTest, Stories260KFacts) {
  SKIP_WITHOUT_TESTDATA();
  auto gguf = GgufReader::open(testdata_dir() / "models" / "stories260K.gguf");
  ASSERT_TRUE(gguf) << gguf.error().message;
  EXPECT_EQ(*gguf->get<std::string_view>("general.architecture"), "llama");
  EXPECT_EQ(*gguf->get_uint("llama.embedding_length"), 64u);
  EXPECT_EQ(*gguf->get_uint("llama.block_count"), 5u);
  EXPECT_EQ(*gguf->get_uint("llama.attention.head_count"), 8u);
  EXPECT_EQ(*gguf->get_uint("llama.attention.head_count_kv"), 4u);
  EXPECT_EQ(*gguf->get_uint("llama.feed_forward_length"), 172u);
  auto embd = gguf->tensor("token_embd.weight");
  ASSERT_TRUE(embd) << embd.error().message;
  EXPECT_EQ(embd->type, GgmlType::kF32);
  EXPECT_EQ(std::vector<uint64_t>(embd->shape().begin(), embd->shape().end()),
            (std::vector<uint64_t>{64, 512}));
  EXPECT_EQ(embd->n_bytes, 64u * 512 * 4);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(embd->data) % gguf->alignment(), 0u);
  auto tokens = gguf->get_string_array("tokenizer.ggml.tokens");
  ASSERT_TRUE(tokens);
  EXPECT_EQ(tokens->size(), 512u);
  auto scores = gguf->get_array<float>("tokenizer.ggml.scores");
  ASSERT_TRUE(scores) << scores.error().message;
  EXPECT_EQ(scores->size(), 512u);
  auto token_types = gguf->get_array<int32_t>("tokenizer.ggml.token_type");
  ASSERT_TRUE(token_types) << token_types.error().message;
  EXPECT_EQ(token_types->size(), 512u);
  for (const GgufTensor& tensor : gguf->tensors()) EXPECT_EQ(tensor.type, GgmlType::kF32);
}

// rand-llama-q-<TYPE>.gguf is "pure": every matrix (2-D tensor) has that type, norms F32.
TEST(GgufTestdataTest, PureQuantizedModelsHaveTheirMatricesInTheirType) {
  SKIP_WITHOUT_TESTDATA();
  const std::map<std::string, GgmlType> files = {
      {"F32", GgmlType::kF32},   {"F16", GgmlType::kF16},   {"BF16", GgmlType::kBF16},
      {"Q8_0", GgmlType::kQ8_0}, {"Q4_0", GgmlType::kQ4_0}, {"Q4_1", GgmlType::kQ4_1},
      {"Q5_0", GgmlType::kQ5_0}, {"Q5_1", GgmlType::kQ5_1}, {"Q2_K", GgmlType::kQ2_K},
      {"Q3_K", GgmlType::kQ3_K}, {"Q4_K", GgmlType::kQ4_K}, {"Q5_K", GgmlType::kQ5_K},
      {"Q6_K", GgmlType::kQ6_K},
  };
  for (const auto& [suffix, type] : files) {
    SCOPED_TRACE(suffix);
    auto gguf = GgufReader::open(testdata_dir() / "models" / ("rand-llama-q-" + suffix + ".gguf"));
    ASSERT_TRUE(gguf) << gguf.error().message;
    int n_matrices = 0;
    for (const GgufTensor& tensor : gguf->tensors()) {
      if (tensor.n_dims >= 2) {
        EXPECT_EQ(tensor.type, type) << tensor.name;
        ++n_matrices;
      } else {
        EXPECT_EQ(tensor.type, GgmlType::kF32) << tensor.name;
      }
    }
    EXPECT_GE(n_matrices, 2 * 7 + 2);  // 7 per layer, embedding, output
    auto q = gguf->tensor("blk.0.attn_q.weight");
    ASSERT_TRUE(q);
    EXPECT_EQ(q->dims[0], 256u);
    EXPECT_EQ(q->n_bytes, 256u * 256 / block_size(type) * type_size(type));
  }
}

TEST(GgufTestdataTest, VocabFilesParse) {
  SKIP_WITHOUT_TESTDATA();
  auto files = gguf_files(testdata_dir() / "vocab");
  ASSERT_GE(files.size(), 10u);
  for (const fs::path& path : files) {
    SCOPED_TRACE(path.filename().string());
    auto gguf = GgufReader::open(path);
    ASSERT_TRUE(gguf) << gguf.error().message;
    EXPECT_TRUE(gguf->get<std::string_view>("tokenizer.ggml.model"));
    auto tokens = gguf->get_string_array("tokenizer.ggml.tokens");
    ASSERT_TRUE(tokens) << tokens.error().message;
    EXPECT_GT(tokens->size(), 1000u);
    if (gguf->has_key("tokenizer.ggml.token_type")) {
      auto token_types = gguf->get_array<int32_t>("tokenizer.ggml.token_type");
      ASSERT_TRUE(token_types) << token_types.error().message;
      EXPECT_EQ(token_types->size(), tokens->size());
    }
    if (gguf->has_key("tokenizer.ggml.merges")) {
      auto merges = gguf->get_string_array("tokenizer.ggml.merges");
      ASSERT_TRUE(merges) << merges.error().message;
      EXPECT_FALSE(merges->empty());
    }
  }
}

}  // namespace
}  // namespace rbee::engine
