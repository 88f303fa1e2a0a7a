#include "engine/model/vocabulary_loader.hpp"

#include <gtest/gtest.h>

#include "engine/tokenizer/tokenizer.hpp"

namespace rbee::engine {
namespace {

const std::filesystem::path kModels = std::filesystem::path(RBEE_TESTDATA_DIR) / "models";

TEST(VocabularyLoaderTest, Stories260KTokenizesLikeLlamaCpp) {
  auto gguf = GgufReader::open(kModels / "stories260K.gguf");
  if (!gguf) GTEST_SKIP() << gguf.error().message;
  auto vocab = read_vocabulary(*gguf);
  ASSERT_TRUE(vocab) << vocab.error().message;
  EXPECT_EQ(vocab->model, "llama");
  EXPECT_EQ(vocab->tokens.size(), 512u);
  auto tokenizer = Tokenizer::create(*vocab);
  ASSERT_TRUE(tokenizer) << tokenizer.error().message;
  // llama.cpp's prompt tokens for "Once upon a time" (golden/stories260K/p1_once.json).
  EXPECT_EQ(tokenizer->encode("Once upon a time", true, false),
            (std::vector<TokenId>{1, 403, 407, 261, 378}));
}

TEST(VocabularyLoaderTest, Qwen2BpeVocabulary) {
  auto gguf = GgufReader::open(kModels / "rand-qwen2-F32.gguf");
  if (!gguf) GTEST_SKIP() << gguf.error().message;
  auto vocab = read_vocabulary(*gguf);
  ASSERT_TRUE(vocab) << vocab.error().message;
  EXPECT_EQ(vocab->model, "gpt2");
  EXPECT_EQ(vocab->pre, "qwen2");
  EXPECT_FALSE(vocab->merges.empty());
  EXPECT_TRUE(Tokenizer::create(*vocab));
}

}  // namespace
}  // namespace rbee::engine
