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

TEST(GeneratorTest, StepByStepMatchesGenerate) {
  auto loaded = load("stories260K.gguf");
  if (!loaded.model) GTEST_SKIP() << "stories260K.gguf is not available";
  auto session = Session::create(*loaded.model, 512, KvType::kF16, 1);
  ASSERT_TRUE(session);
  auto generation = Generation::start(**session, *loaded.tokenizer, "Once upon a time", greedy(32));
  ASSERT_TRUE(generation) << generation.error().message;
  EXPECT_EQ(generation->prompt_tokens(), (std::vector<TokenId>{1, 403, 407, 261, 378}));
  EXPECT_EQ((**session).n_past(), 0);  // nothing is evaluated before the first step
  std::string text;
  int steps = 0;
  while (!generation->done()) {
    auto piece = generation->step();
    ASSERT_TRUE(piece) << piece.error().message;
    text += *piece;
    ++steps;
    // One evaluation per step: the prompt, then one token each.
    EXPECT_EQ((**session).n_past(), 5 + steps - 1);
  }
  EXPECT_EQ(steps, 32);
  EXPECT_EQ(text,
            ", there was a little girl named Lily. She loved to play outside in the park. One day, "
            "she saw");
  EXPECT_EQ(generation->text(), text);
  EXPECT_EQ(generation->finish_reason(), "length");
  EXPECT_EQ(generation->tokens().size(), 32u);
}

TEST(GeneratorTest, TwoInterleavedGenerationsEqualTwoAlone) {
  auto loaded = load("stories260K.gguf");
  if (!loaded.model) GTEST_SKIP() << "stories260K.gguf is not available";
  auto first = Session::create(*loaded.model, 64, KvType::kF16, 1);
  auto second = Session::create(*loaded.model, 64, KvType::kF16, 1);
  ASSERT_TRUE(first && second);
  auto a = Generation::start(**first, *loaded.tokenizer, "Once upon a time", greedy(12));
  auto b = Generation::start(**second, *loaded.tokenizer,
                             loaded.tokenizer->encode("The little dog", true, false), greedy(12));
  ASSERT_TRUE(a && b);
  while (!a->done() || !b->done()) {
    if (!a->done()) {
      ASSERT_TRUE(a->step());
    }
    if (!b->done()) {
      ASSERT_TRUE(b->step());
    }
  }
  auto alone = Session::create(*loaded.model, 64, KvType::kF16, 1);
  auto expected_b = generate(**alone, *loaded.tokenizer, "The little dog", greedy(12), nullptr);
  ASSERT_TRUE(expected_b);
  EXPECT_EQ(b->text(), expected_b->text);
  EXPECT_EQ(std::string(", there was a little girl named Lily. She loved to play outside")
                .rfind(a->text(), 0),
            0u);
  EXPECT_EQ(a->tokens().size(), 12u);
}

TEST(GeneratorTest, StopEndsAGenerationWithoutTheHeldBackText) {
  auto loaded = load("stories260K.gguf");
  if (!loaded.model) GTEST_SKIP() << "stories260K.gguf is not available";
  auto session = Session::create(*loaded.model, 64, KvType::kF16, 1);
  ASSERT_TRUE(session);
  auto options = greedy(32);
  options.stop = {", there was a little boy"};  // holds back text while it could still match
  auto generation = Generation::start(**session, *loaded.tokenizer, "Once upon a time", options);
  ASSERT_TRUE(generation);
  ASSERT_TRUE(generation->step());
  EXPECT_FALSE(generation->done());
  generation->stop();
  EXPECT_TRUE(generation->done());
  EXPECT_EQ(generation->finish_reason(), "stop");
  EXPECT_EQ(generation->text(), "");
}

TEST(GeneratorTest, StartRefusesATooLongPromptWithTheNumbers) {
  auto loaded = load("stories260K.gguf");
  if (!loaded.model) GTEST_SKIP() << "stories260K.gguf is not available";
  auto session = Session::create(*loaded.model, 4, KvType::kF16, 1);
  ASSERT_TRUE(session);
  auto generation = Generation::start(**session, *loaded.tokenizer, "Once upon a time", greedy(4));
  ASSERT_FALSE(generation);
  EXPECT_EQ(generation.error().code, ErrorCode::kResourceExhausted);
  EXPECT_NE(generation.error().message.find("5 tokens"), std::string::npos);
  auto empty = Generation::start(**session, *loaded.tokenizer, std::vector<TokenId>{}, greedy(4));
  ASSERT_FALSE(empty);
  EXPECT_EQ(empty.error().code, ErrorCode::kInvalidArgument);
}

// Generations stepped together (joining and leaving between steps) produce what each
// produces alone: the greedy reference text, a sampled text with its seed, a stop string.
TEST(GeneratorTest, SteppedTogetherMatchesAlone) {
  auto loaded = load("stories260K.gguf");
  if (!loaded.model) GTEST_SKIP() << "stories260K.gguf is not available";
  struct Case {
    const char* prompt;
    GenerateOptions options;
  };
  GenerateOptions sampled = greedy(20);
  sampled.sampling.temperature = 0.9f;
  sampled.sampling.seed = 77;
  GenerateOptions stopped = greedy(32);
  stopped.stop = {"park"};
  const std::vector<Case> cases = {
      {"Once upon a time", greedy(32)}, {"The little dog", sampled}, {"Once upon a time", stopped}};

  std::vector<GenerateResult> alone;
  for (const Case& c : cases) {
    auto session = Session::create(*loaded.model, 256, KvType::kF16, 1);
    auto result = generate(**session, *loaded.tokenizer, c.prompt, c.options, nullptr);
    ASSERT_TRUE(result) << result.error().message;
    alone.push_back(*result);
  }

  auto pool = std::make_shared<ThreadPool>(2);
  std::vector<std::unique_ptr<Session>> sessions;
  std::vector<Generation> generations;
  for (size_t i = 0; i < cases.size(); ++i) {
    auto session = Session::create(*loaded.model, 256, KvType::kF16, pool);
    ASSERT_TRUE(session);
    sessions.push_back(std::move(*session));
  }
  std::vector<std::string> streamed(cases.size());
  // The third joins after two steps of the others.
  generations.reserve(cases.size());
  auto start = [&](size_t i) {
    auto generation =
        Generation::start(*sessions[i], *loaded.tokenizer, cases[i].prompt, cases[i].options);
    ASSERT_TRUE(generation);
    generations.push_back(std::move(*generation));
  };
  start(0);
  start(1);
  for (int round = 0;; ++round) {
    if (round == 2) start(2);
    std::vector<Generation*> running;
    std::vector<size_t> which;
    for (size_t i = 0; i < generations.size(); ++i) {
      if (!generations[i].done()) {
        running.push_back(&generations[i]);
        which.push_back(i);
      }
    }
    if (running.empty()) break;
    auto texts = step_together(running);
    ASSERT_EQ(texts.size(), running.size());
    for (size_t k = 0; k < texts.size(); ++k) {
      ASSERT_TRUE(texts[k]) << texts[k].error().message;
      streamed[which[k]] += *texts[k];
    }
  }
  for (size_t i = 0; i < cases.size(); ++i) {
    EXPECT_EQ(generations[i].text(), alone[i].text) << cases[i].prompt;
    EXPECT_EQ(streamed[i], alone[i].text);
    EXPECT_EQ(generations[i].tokens(), alone[i].tokens);
    EXPECT_EQ(generations[i].finish_reason(), alone[i].finish_reason);
  }
  EXPECT_EQ(alone[0].text,
            ", there was a little girl named Lily. She loved to play outside in the park. One day, "
            "she saw");
  EXPECT_EQ(alone[2].finish_reason, "stop");
}

}  // namespace
}  // namespace rbee::engine
