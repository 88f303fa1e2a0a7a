#pragma once

// Random-weight models of any llama-family shape in any supported tensor type, for
// benchmarks that need 1B-class models that cannot be shipped.

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

#include "common/result.hpp"

namespace rbee::llm {

struct SynthOptions {
  std::optional<std::filesystem::path> like;  // copy shape, metadata and vocabulary from here
  std::string arch = "llama";
  int64_t n_embd = 0, n_layer = 0, n_head = 0, n_head_kv = 0, n_ff = 0;
  int64_t n_ctx = 2048;
  double rope_freq_base = 10000;
  std::optional<std::filesystem::path> vocab_from;  // tokenizer.* keys from here
  // With vocab_from: pad its vocabulary with unused tokens to this size (0: keep it), so that
  // the embedding and output matrices get a real model's row count.
  int64_t n_vocab = 0;
  std::string type = "f32";  // matrices in this type; norms stay F32
  uint64_t seed = 0;
  std::filesystem::path out;
};

// Writes the model atomically. kInvalidArgument naming the problem (unknown type, a shape
// whose rows do not split into the type's blocks, missing shape with no --like).
Status synthesize_model(const SynthOptions& options);

}  // namespace rbee::llm
