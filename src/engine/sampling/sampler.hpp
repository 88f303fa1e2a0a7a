#pragma once

// Choosing the next token from logits. The chain follows llama.cpp's default order:
// repetition/presence/frequency penalties → top-k → top-p → min-p → temperature → a draw
// from the seeded generator. Temperature <= 0 means greedy (ties go to the lowest id).
// The same seed, parameters and inputs always give the same tokens.

#include <cstdint>
#include <random>
#include <span>
#include <vector>

namespace rbee::engine {

struct SamplingParams {
  float temperature = 0.8f;     // <= 0: greedy
  int top_k = 40;               // <= 0: off
  float top_p = 0.95f;          // >= 1: off
  float min_p = 0.05f;          // <= 0: off
  float repeat_penalty = 1.0f;  // 1: off; divides positive logits, multiplies negative ones
  float presence_penalty = 0.0f;
  float frequency_penalty = 0.0f;
  int penalty_last_n = 64;  // how many recent tokens the penalties look at
  uint64_t seed = 0;
};

class Sampler {
 public:
  explicit Sampler(SamplingParams params);

  // The next token for `logits` (one per vocabulary entry), given the tokens so far (prompt
  // and generated) for the penalties. Not thread-safe: one Sampler per sequence.
  int32_t sample(std::span<const float> logits, std::span<const int32_t> history);

  const SamplingParams& params() const { return params_; }

 private:
  struct Candidate {
    int32_t id;
    float logit;
    float p;
  };

  void apply_penalties(std::vector<Candidate>& candidates, std::span<const int32_t> history) const;

  SamplingParams params_;
  std::mt19937_64 rng_;
  std::vector<Candidate> candidates_;  // reused between calls
};

// The index of the largest value; ties go to the lowest index. `values` must not be empty.
int32_t argmax(std::span<const float> values);

}  // namespace rbee::engine
