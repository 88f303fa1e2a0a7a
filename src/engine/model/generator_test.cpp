#include "engine/model/generator.hpp"

#include <gtest/gtest.h>

#include "engine/model/vocabulary_loader.hpp"

namespace rbee::engine {
namespace {

const std::filesystem::path kModels = std::filesystem::path(RBEE_TESTDATA_DIR) / "models";

struct Loaded {
  std::unique_ptr<Model> model;
  std::optional<Tokenizer> tokenizer;
};

Loaded load(const char* name) {
  Loaded loaded;
  auto model = Model::load(kModels / name);
  if (!model) return loaded;
  loaded.model = std::move(*model);
  auto vocab = read_vocabulary(loaded.model->gguf());
  if (vocab) {
    auto tokenizer = Tokenizer::create(*vocab);
    if (tokenizer) loaded.tokenizer = std::move(*tokenizer);
  }
  return loaded;
}

GenerateOptions greedy(int max_tokens) {
  GenerateOptions options;
  options.max_tokens = max_tokens;
  options.sampling.temperature = 0;
  return options;
}

TEST(GeneratorTest, Stories260KGreedyMatchesLlamaCpp) {
  auto loaded = load("stories260K.gguf");
  if (!loaded.model) GTEST_SKIP() << "stories260K.gguf is not available";
  ASSERT_TRUE(loaded.tokenizer);
  auto session = Session::create(*loaded.model, 512, KvType::kF16, 1);
  ASSERT_TRUE(session);
  std::string streamed;
  auto result = generate(**session, *loaded.tokenizer, "Once upon a time", greedy(32),
                         [&](std::string_view text) {
                           streamed += text;
                           return true;
                         });
  ASSERT_TRUE(result) << result.error().message;
  // The continuation llama.cpp produces (testdata/README.md).
  EXPECT_EQ(result->text,
            ", there was a little girl named Lily. She loved to play outside in the park. One day, "
            "she saw");
  EXPECT_EQ(streamed, result->text);
  EXPECT_EQ(result->finish_reason, "length");
  EXPECT_EQ(result->tokens.size(), 32u);
  EXPECT_EQ(result->prompt_tokens, (std::vector<TokenId>{1, 403, 407, 261, 378}));
}

TEST(GeneratorTest, StopStringEndsGenerationAndIsNotShown) {
  auto loaded = load("stories260K.gguf");
  if (!loaded.model) GTEST_SKIP() << "stories260K.gguf is not available";
  auto session = Session::create(*loaded.model, 512, KvType::kF16, 2);
  ASSERT_TRUE(session);
  auto options = greedy(32);
  options.stop = {"Lily"};
  auto result = generate(**session, *loaded.tokenizer, "Once upon a time", options, nullptr);
  ASSERT_TRUE(result) << result.error().message;
  EXPECT_EQ(result->text, ", there was a little girl named ");
  EXPECT_EQ(result->finish_reason, "stop");
}

TEST(GeneratorTest, CallerCanStop) {
  auto loaded = load("stories260K.gguf");
  if (!loaded.model) GTEST_SKIP() << "stories260K.gguf is not available";
  auto session = Session::create(*loaded.model, 512, KvType::kF16, 1);
  ASSERT_TRUE(session);
  int pieces = 0;
  auto result = generate(**session, *loaded.tokenizer, "Once upon a time", greedy(32),
                         [&](std::string_view) { return ++pieces < 3; });
  ASSERT_TRUE(result);
  EXPECT_EQ(pieces, 3);
  EXPECT_EQ(result->finish_reason, "stop");
  EXPECT_EQ(result->tokens.size(), 3u);
}

TEST(GeneratorTest, PromptLongerThanContextIsRefused) {
  auto loaded = load("stories260K.gguf");
  if (!loaded.model) GTEST_SKIP() << "stories260K.gguf is not available";
  auto session = Session::create(*loaded.model, 4, KvType::kF16, 1);
  ASSERT_TRUE(session);
  auto result = generate(**session, *loaded.tokenizer, "Once upon a time", greedy(4), nullptr);
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code, ErrorCode::kResourceExhausted);
}

TEST(GeneratorTest, SameSeedSameText) {
  auto loaded = load("stories260K.gguf");
  if (!loaded.model) GTEST_SKIP() << "stories260K.gguf is not available";
  GenerateOptions options;
  options.max_tokens = 24;
  options.sampling.temperature = 1.0f;
  options.sampling.seed = 1234;
  std::vector<std::string> texts;
  for (int run = 0; run < 2; ++run) {
    auto session = Session::create(*loaded.model, 512, KvType::kF16, 1 + run);
    auto result = generate(**session, *loaded.tokenizer, "The little dog", options, nullptr);
    ASSERT_TRUE(result);
    texts.push_back(result->text);
  }
  EXPECT_EQ(texts[0], texts[1]);
}

}  // namespace
}  // namespace rbee::engine
