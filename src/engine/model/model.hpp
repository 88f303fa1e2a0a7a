#pragma once

// A loaded llama-family model (llama, qwen2) and the forward pass that turns tokens into
// logits. The weights stay in the mmap'd GGUF file, except the matrices the kernels read
// faster in a repacked layout (repacked_weights.hpp); norms and biases are copied out as
// floats. The arithmetic follows llama.cpp's CPU path (no flash attention) so that logits
// match its reference outputs: RMSNorm with a double sum, RoPE angles by repeated
// multiplication, the KV cache in F16 (default) or F32, attention scores and weights rounded
// to the cache type before their dot products.

#include <cstddef>
#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "common/result.hpp"
#include "engine/gguf/gguf_reader.hpp"
#include "engine/model/hparams.hpp"
#include "engine/model/repacked_weights.hpp"
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

class Session;
struct SequenceInput;

// A forward pass that runs on another device (a GPU, engine/gpu): it holds its own copy of the
// weights and, per session, its own KV cache. Once a Model has one, every evaluation of its
// sessions goes there; the CPU keeps only the embedding lookup.
class DeviceForward {
 public:
  virtual ~DeviceForward() = default;
  // The device in words, e.g. "cuda:0 (NVIDIA H100 80GB HBM3)".
  virtual std::string description() const = 0;
  // Bytes of device memory the weights take.
  virtual size_t weight_bytes() const = 0;
  // Why a session of `n_ctx` positions and this cache type cannot run there, or nothing.
  virtual Status check_session(int64_t n_ctx, KvType kv_type) const = 0;
  // Evaluates a batch that eval_batch has checked, with eval_batch's contract (it advances
  // the sessions' positions afterwards, and only on success).
  virtual Result<std::vector<std::vector<float>>> eval(std::span<const SequenceInput> inputs) = 0;
  // `session` is going away: its device cache can be freed.
  virtual void forget(const Session& session) = 0;
};

struct ModelOptions {
  // Copy the matrices that have a faster layout on this CPU into it (same results). Off: every
  // weight is read from the mapped file, nothing is copied.
  bool repack = true;
};

class Model {
 public:
  // Maps and checks a GGUF model: architecture, hyperparameters, every tensor's presence,
  // shape and type. kNotFound for a missing file, kInvalidArgument naming what is wrong.
  static Result<std::unique_ptr<Model>> load(const std::filesystem::path& path,
                                             const ModelOptions& options = {});

  const ModelHParams& hparams() const { return hparams_; }
  const GgufReader& gguf() const { return gguf_; }

  // Dequantized embedding row of a token (n_embd floats).
  void embed(int32_t token, float* out) const;

  const GgufTensor& token_embd() const { return *token_embd_; }
  const GgufTensor& output() const { return *output_; }
  std::span<const float> output_norm() const { return output_norm_; }
  const LayerWeights& layer(int64_t i) const { return layers_[size_t(i)]; }
  // Bytes of weights read from repacked copies rather than from the file.
  size_t repacked_bytes() const { return repacked_.bytes(); }
  // Whether the forward pass reads file tensor `tensor` (one of gguf().tensors()) from the
  // mapped file: false for a matrix it reads from a repacked copy, and for the norms and
  // biases copied out at load.
  bool reads_from_file(const GgufTensor& tensor) const;

  // Moves the forward pass to another device (engine/gpu's place_model attaches it). The
  // sessions made before keep their CPU caches, so attach before making any.
  void attach_device(std::unique_ptr<DeviceForward> device) { device_ = std::move(device); }
  // The device the forward pass runs on, or nullptr for this CPU.
  DeviceForward* device() const { return device_.get(); }

 private:
  explicit Model(GgufReader gguf) : gguf_(std::move(gguf)) {}
  Status bind();
  void repack();

  GgufReader gguf_;
  ModelHParams hparams_;
  const GgufTensor* token_embd_ = nullptr;
  const GgufTensor* output_ = nullptr;  // token_embd_ when tied
  std::vector<float> output_norm_;
  std::vector<LayerWeights> layers_;
  RepackedWeights repacked_;
  std::unique_ptr<DeviceForward> device_;
};

// One sequence's keys and values, per layer: K as rows [n_ctx][n_embd_kv] (a position's
// keys side by side, for the scores K·q) and V transposed, [n_embd_kv][n_ctx] (a dimension's
// values over positions side by side, for the weighted sum as one dot product per dimension),
// as llama.cpp's CPU path without flash attention keeps them. Elements are F16 bits or floats.
class KvCache {
 public:
  KvCache(const ModelHParams& hparams, int64_t n_ctx, KvType type);

  KvType type() const { return type_; }
  size_t element_bytes() const { return type_ == KvType::kF16 ? 2 : 4; }
  int64_t n_ctx() const { return n_ctx_; }
  // Key head `kv_head`'s keys at positions 0..n_ctx, head_dim elements each, one after
  // another: attention reads a head's keys as one stream (strided over every head's, it ran
  // at a fraction of the memory's speed once the cache no longer fit the CPU's caches).
  const std::byte* keys(int64_t layer, int64_t kv_head) const {
    return k_[size_t(layer)].data() + size_t(kv_head * n_ctx_ * head_dim_) * element_bytes();
  }
  // Dimension `dim`'s values at positions 0..n_ctx.
  const std::byte* values(int64_t layer, int64_t dim) const {
    return v_[size_t(layer)].data() + size_t(dim * n_ctx_) * element_bytes();
  }
  // Writes position `pos`'s keys and values (n_embd_kv floats each), rounded to the type.
  void store(int64_t layer, int64_t pos, const float* k, const float* v);
  size_t bytes() const;

 private:
  KvType type_;
  int64_t n_ctx_;
  int64_t n_embd_kv_;
  int64_t head_dim_;
  std::vector<std::vector<std::byte>> k_, v_;
  std::vector<std::byte> value_row_;  // store()'s scratch
};

struct SequenceInput;
Result<std::vector<std::vector<float>>> eval_batch(std::span<const SequenceInput> inputs);

// One sequence's state: its KV cache and position. Not thread-safe; one per sequence.
// Sequences evaluated together (eval_batch) share the model and one thread pool.
class Session {
 public:
  // kInvalidArgument when n_ctx < 1 or n_threads < 1. The session gets a pool of its own.
  static Result<std::unique_ptr<Session>> create(const Model& model, int64_t n_ctx, KvType kv_type,
                                                 int n_threads);
  // The same with a pool shared by several sessions (not used by two at once).
  static Result<std::unique_ptr<Session>> create(const Model& model, int64_t n_ctx, KvType kv_type,
                                                 std::shared_ptr<ThreadPool> pool);
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  // Feeds tokens at the next positions (the prompt in one batch, or one generated token) and
  // returns the logits of the last one, or of every one with all_logits (rows of n_vocab).
  // kInvalidArgument for a token outside the vocabulary; kResourceExhausted when the context
  // is full. Nothing changes on an error.
  Result<std::vector<float>> eval(std::span<const int32_t> tokens, bool all_logits = false);

  int64_t n_past() const { return n_past_; }
  int64_t n_ctx() const { return n_ctx_; }
  // Forgets everything (a new conversation).
  void reset() { n_past_ = 0; }

  const Model& model() const { return model_; }
  ThreadPool& pool() const { return *pool_; }
  KvCache& kv() { return kv_; }
  const KvCache& kv() const { return kv_; }

 private:
  friend Result<std::vector<std::vector<float>>> eval_batch(std::span<const SequenceInput> inputs);
  Session(const Model& model, int64_t n_ctx, KvType kv_type, std::shared_ptr<ThreadPool> pool);

  const Model& model_;
  int64_t n_ctx_;
  std::shared_ptr<ThreadPool> pool_;
  KvCache kv_;
  int64_t n_past_ = 0;
};

// One sequence's part of a batch: tokens fed at its next positions.
struct SequenceInput {
  Session* session = nullptr;
  std::span<const int32_t> tokens;
  bool all_logits = false;  // logits of every token, not only the last

  // Rows of n_vocab logits it gets back.
  int64_t logits_rows() const { return all_logits ? int64_t(tokens.size()) : 1; }
  // Token j's row among them, or -1 when its logits are not wanted.
  int64_t logits_row(int64_t j) const {
    if (all_logits) return j;
    return j == int64_t(tokens.size()) - 1 ? 0 : -1;
  }
};

// One forward pass over several sequences at once (continuous batching: the prompt of one,
// a generated token of each of the others): each weight matrix is read once for all of their
// tokens. Returns each input's logits as Session::eval would (rows of n_vocab), the same bits
// as evaluating it alone. The sessions must be distinct, of one model, and may not be used
// elsewhere meanwhile; the first one's pool computes. Errors as Session::eval, naming the
// input; then no session changes.
Result<std::vector<std::vector<float>>> eval_batch(std::span<const SequenceInput> inputs);

}  // namespace rbee::engine
