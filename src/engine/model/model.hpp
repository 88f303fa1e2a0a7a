#pragma once

// A loaded llama-family model (llama, qwen2) and the forward pass that turns tokens into
// logits. The weights stay in the mmap'd GGUF file; only norms and biases are copied out as
// floats. The arithmetic follows llama.cpp's CPU path (no flash attention) so that logits
// match its reference outputs: RMSNorm with a double sum, RoPE angles by repeated
// multiplication, the KV cache in F16 (default) or F32, attention scores and weights rounded
// to the cache type before their dot products.

#include <filesystem>
#include <memory>
#include <span>
#include <vector>

#include "common/result.hpp"
#include "engine/gguf/gguf_reader.hpp"
#include "engine/model/hparams.hpp"
#include "engine/model/thread_pool.hpp"

namespace rbee::engine {

enum class KvType { kF16, kF32 };

struct LayerWeights {
  const GgufTensor* wq = nullptr;
  const GgufTensor* wk = nullptr;
  const GgufTensor* wv = nullptr;
  const GgufTensor* wo = nullptr;
  const GgufTensor* ffn_gate = nullptr;
  const GgufTensor* ffn_up = nullptr;
  const GgufTensor* ffn_down = nullptr;
  std::vector<float> attn_norm;
  std::vector<float> ffn_norm;
  std::vector<float> bq, bk, bv;  // qwen2 only
};

class Model {
 public:
  // Maps and checks a GGUF model: architecture, hyperparameters, every tensor's presence,
  // shape and type. kNotFound for a missing file, kInvalidArgument naming what is wrong.
  static Result<std::unique_ptr<Model>> load(const std::filesystem::path& path);

  const ModelHParams& hparams() const { return hparams_; }
  const GgufReader& gguf() const { return gguf_; }

  // Dequantized embedding row of a token (n_embd floats).
  void embed(int32_t token, float* out) const;

  const GgufTensor& token_embd() const { return *token_embd_; }
  const GgufTensor& output() const { return *output_; }
  std::span<const float> output_norm() const { return output_norm_; }
  const LayerWeights& layer(int64_t i) const { return layers_[size_t(i)]; }

 private:
  explicit Model(GgufReader gguf) : gguf_(std::move(gguf)) {}
  Status bind();

  GgufReader gguf_;
  ModelHParams hparams_;
  const GgufTensor* token_embd_ = nullptr;
  const GgufTensor* output_ = nullptr;  // token_embd_ when tied
  std::vector<float> output_norm_;
  std::vector<LayerWeights> layers_;
};

// One sequence's state: its KV cache and position. Not thread-safe; one per sequence.
class Session {
 public:
  // kInvalidArgument when n_ctx < 1.
  static Result<std::unique_ptr<Session>> create(const Model& model, int64_t n_ctx, KvType kv_type,
                                                 int n_threads);

  // Feeds tokens at the next positions (the prompt in one batch, or one generated token) and
  // returns the logits of the last one, or of every one with all_logits (rows of n_vocab).
  // kInvalidArgument for a token outside the vocabulary; kResourceExhausted when the context
  // is full.
  Result<std::vector<float>> eval(std::span<const int32_t> tokens, bool all_logits = false);

  int64_t n_past() const { return n_past_; }
  int64_t n_ctx() const { return n_ctx_; }
  // Forgets everything (a new conversation).
  void reset() { n_past_ = 0; }

 private:
  Session(const Model& model, int64_t n_ctx, KvType kv_type, int n_threads);
  void attention(int64_t layer, const float* q, int64_t pos, float* out) const;
  void store_kv(int64_t layer, int64_t pos, const float* k, const float* v);

  const Model& model_;
  int64_t n_ctx_;
  KvType kv_type_;
  ThreadPool pool_;
  int64_t n_past_ = 0;
  // Per layer: K rows [n_ctx][n_embd_kv] and V rows, as F16 bits or floats.
  std::vector<std::vector<uint16_t>> k16_, v16_;
  std::vector<std::vector<float>> k32_, v32_;
};

}  // namespace rbee::engine
