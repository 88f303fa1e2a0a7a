#pragma once

// Test helpers for the forward pass (the CPU's and the GPU's tests): prompts of random ids.

#include <cstdint>
#include <random>
#include <vector>

namespace rbee::engine::testing {

// `n` token ids in [1, n_vocab), the same for the same seed (0 is left out: BOS in the test
// models' vocabularies).
inline std::vector<int32_t> random_tokens(int64_t n, int64_t n_vocab, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int32_t> pick(1, int32_t(n_vocab - 1));
  std::vector<int32_t> tokens(static_cast<size_t>(n));
  for (auto& token : tokens) token = pick(rng);
  return tokens;
}

}  // namespace rbee::engine::testing
