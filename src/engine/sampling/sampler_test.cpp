#include "engine/sampling/sampler.hpp"

#include <gtest/gtest.h>

#include <map>

namespace rbee::engine {
namespace {

SamplingParams greedy() {
  SamplingParams params;
  params.temperature = 0;
  return params;
}

TEST(SamplerTest, GreedyTakesTheLargestAndTiesGoLow) {
  Sampler sampler(greedy());
  std::vector<float> logits{0.1f, 2.0f, -1.0f, 2.0f};
  EXPECT_EQ(sampler.sample(logits, {}), 1);
  EXPECT_EQ(argmax(logits), 1);
}

TEST(SamplerTest, SameSeedSameTokens) {
  SamplingParams params;
  params.temperature = 1.0f;
  params.top_k = 0;
  params.top_p = 1.0f;
  params.min_p = 0;
  params.seed = 42;
  std::vector<float> logits{1.0f, 1.1f, 0.9f, 1.05f, 0.2f};
  Sampler a(params);
  Sampler b(params);
  std::vector<int32_t> from_a;
  std::vector<int32_t> from_b;
  for (int i = 0; i < 50; ++i) {
    from_a.push_back(a.sample(logits, {}));
    from_b.push_back(b.sample(logits, {}));
  }
  EXPECT_EQ(from_a, from_b);
  params.seed = 43;
  Sampler c(params);
  std::vector<int32_t> from_c;
  for (int i = 0; i < 50; ++i) from_c.push_back(c.sample(logits, {}));
  EXPECT_NE(from_a, from_c);
}

TEST(SamplerTest, DrawsFollowTheDistribution) {
  SamplingParams params;
  params.temperature = 1.0f;
  params.top_k = 0;
  params.top_p = 1.0f;
  params.min_p = 0;
  params.seed = 7;
  // p(0) = 1/(1+e^-1+e^-2) ≈ 0.665
  std::vector<float> logits{0.0f, -1.0f, -2.0f};
  Sampler sampler(params);
  std::map<int32_t, int> counts;
  for (int i = 0; i < 20000; ++i) ++counts[sampler.sample(logits, {})];
  EXPECT_NEAR(counts[0] / 20000.0, 0.665, 0.02);
  EXPECT_NEAR(counts[1] / 20000.0, 0.245, 0.02);
}

TEST(SamplerTest, TopKKeepsOnlyTheBest) {
  SamplingParams params;
  params.temperature = 5.0f;  // flatten, so only the filter keeps token 3 out
  params.top_k = 2;
  params.top_p = 1.0f;
  params.min_p = 0;
  Sampler sampler(params);
  std::vector<float> logits{3.0f, 2.9f, 0.0f, 2.8f};
  for (int i = 0; i < 500; ++i) {
    int32_t token = sampler.sample(logits, {});
    EXPECT_TRUE(token == 0 || token == 1) << token;
  }
}

TEST(SamplerTest, TopPCutsTheTail) {
  SamplingParams params;
  params.temperature = 1.0f;
  params.top_k = 0;
  params.top_p = 0.5f;
  params.min_p = 0;
  Sampler sampler(params);
  std::vector<float> logits{2.0f, 0.0f, 0.0f};  // p(0) ≈ 0.79 ≥ 0.5: only token 0 remains
  for (int i = 0; i < 200; ++i) EXPECT_EQ(sampler.sample(logits, {}), 0);
}

TEST(SamplerTest, MinPDropsUnlikelyTokens) {
  SamplingParams params;
  params.temperature = 1.0f;
  params.top_k = 0;
  params.top_p = 1.0f;
  params.min_p = 0.5f;
  Sampler sampler(params);
  std::vector<float> logits{1.0f, 0.9f, -3.0f};  // token 2 is far below half of token 0
  for (int i = 0; i < 500; ++i) EXPECT_NE(sampler.sample(logits, {}), 2);
}

TEST(SamplerTest, RepeatPenaltyChangesTheGreedyChoice) {
  SamplingParams params = greedy();
  params.repeat_penalty = 2.0f;
  Sampler sampler(params);
  std::vector<float> logits{1.0f, 0.8f};
  std::vector<int32_t> history{0};
  EXPECT_EQ(sampler.sample(logits, history), 1);  // 1.0 / 2 < 0.8
  EXPECT_EQ(sampler.sample(logits, {}), 0);
}

TEST(SamplerTest, PresenceAndFrequencyPenalties) {
  SamplingParams params = greedy();
  params.frequency_penalty = 0.3f;
  Sampler sampler(params);
  std::vector<float> logits{1.0f, 0.5f};
  EXPECT_EQ(sampler.sample(logits, std::vector<int32_t>{0}), 0);     // 0.7 > 0.5
  EXPECT_EQ(sampler.sample(logits, std::vector<int32_t>{0, 0}), 1);  // 0.4 < 0.5
  SamplingParams presence = greedy();
  presence.presence_penalty = 0.6f;
  Sampler sampler2(presence);
  EXPECT_EQ(sampler2.sample(logits, std::vector<int32_t>{0}), 1);  // 0.4 < 0.5
}

TEST(SamplerTest, PenaltiesOnlyLookAtTheLastN) {
  SamplingParams params = greedy();
  params.repeat_penalty = 2.0f;
  params.penalty_last_n = 1;
  Sampler sampler(params);
  std::vector<float> logits{1.0f, 0.8f};
  EXPECT_EQ(sampler.sample(logits, std::vector<int32_t>{0, 1}), 0);  // only token 1 is recent
}

}  // namespace
}  // namespace rbee::engine
