#pragma once

// A model's shape, read from GGUF metadata (`{arch}.*` keys). Only the architectures the
// engine implements are accepted: `llama` (Llama 1/2/3, Mistral, TinyLlama, SmolLM) and
// `qwen2`.

#include <cstdint>
#include <string>

#include "common/result.hpp"
#include "engine/gguf/gguf_reader.hpp"

namespace rbee::engine {

enum class Architecture { kLlama, kQwen2 };

struct ModelHParams {
  Architecture arch = Architecture::kLlama;
  std::string arch_name;  // as in general.architecture
  int64_t n_ctx_train = 0;
  int64_t n_embd = 0;
  int64_t n_layer = 0;
  int64_t n_ff = 0;
  int64_t n_head = 0;
  int64_t n_head_kv = 0;
  int64_t n_rot = 0;  // rope.dimension_count, default head_dim
  int64_t n_vocab = 0;
  float rms_eps = 1e-5f;
  float rope_freq_base = 10000.0f;

  int64_t head_dim() const { return n_embd / n_head; }
  int64_t n_embd_kv() const { return head_dim() * n_head_kv; }
  // Llama rotates adjacent pairs (2i, 2i+1); Qwen2 rotates (i, i + n_rot/2) ("NeoX").
  bool rope_neox() const { return arch == Architecture::kQwen2; }
};

// Reads and checks the hyperparameters. A missing required key or an unsupported
// architecture is kInvalidArgument naming it; so are shapes that do not divide (heads).
Result<ModelHParams> read_hparams(const GgufReader& gguf);

}  // namespace rbee::engine
