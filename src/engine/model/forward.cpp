// The forward pass: tokens of one or several sequences in, logits out. Every weight matrix is
// multiplied with all the tokens of a slice at once (matmul), then attention runs per token
// and head against that token's own sequence's cache, split across the pool.
//
// The arithmetic follows llama.cpp's CPU path (no flash attention) so that logits match its
// reference outputs: RMSNorm with a double sum, RoPE angles by repeated multiplication, the
// KV cache in F16 (default) or F32 with V transposed, q and the attention weights rounded to
// the cache type and dotted with the cache type's vec_dot, the softmax sum in double.

#include <algorithm>
#include <cmath>
#include <cstring>
#include <unordered_set>

#include "common/check.hpp"
#include "engine/kernels/attention.hpp"
#include "engine/kernels/kernel_table.hpp"
#include "engine/model/matmul.hpp"
#include "engine/model/model.hpp"

namespace rbee::engine {
namespace {

// Tokens per forward pass: bounds the scratch memory (about 1 MB per token for a 1.1B model)
// while giving each weight block plenty of activations to be reused for.
constexpr int64_t kMaxSliceTokens = 128;
// Element work below which a loop stays on the calling thread (see matmul.cpp).
constexpr int64_t kMinChunkWork = 64 * 1024;

// ggml_rms_norm (double sum of squares) followed by the multiplication with the weight.
void rms_norm(const float* x, const float* weight, float* out, int64_t n, float eps) {
  double sum = 0;
  for (int64_t i = 0; i < n; ++i) sum += double(x[i] * x[i]);
  const float mean = float(sum / double(n));
  const float scale = 1.0f / std::sqrt(mean + eps);
  for (int64_t i = 0; i < n; ++i) out[i] = (x[i] * scale) * weight[i];
}

float silu(float x) {
  return x / (1.0f + std::exp(-x));
}

// RoPE's rotation for one position: pair i turns by pos * base^(-2i/n_rot), the angle grown by
// repeated multiplication as ggml does. The same for every head and layer, so made once per
// token.
void rope_angles(int64_t n_rot, int64_t pos, float freq_base, float* cos_out, float* sin_out) {
  const float theta_scale = std::pow(freq_base, -2.0f / float(n_rot));
  float theta = float(pos);
  for (int64_t i = 0; i < n_rot / 2; ++i) {
    cos_out[i] = std::cos(theta);
    sin_out[i] = std::sin(theta);
    theta *= theta_scale;
  }
}

// Rotates one head: adjacent pairs (2i, 2i+1), or with neox (qwen2) the halves (i, i+n_rot/2).
void rope_apply(float* head, int64_t n_rot, const float* cos, const float* sin, bool neox) {
  for (int64_t i = 0; i < n_rot / 2; ++i) {
    const int64_t a = neox ? i : 2 * i;
    const int64_t b = neox ? i + n_rot / 2 : 2 * i + 1;
    const float x0 = head[a];
    const float x1 = head[b];
    head[a] = x0 * cos[i] - x1 * sin[i];
    head[b] = x0 * sin[i] + x1 * cos[i];
  }
}

kernels::KernelType cache_kernel_type(KvType type) {
  return type == KvType::kF16 ? kernels::KernelType::kF16 : kernels::KernelType::kF32;
}

// Runs fn(begin, end) over [0, n) rows of `work_per_row` element operations each, on the
// pool when there is enough work to share.
template <typename Fn>
void for_rows(ThreadPool& pool, int64_t n, int64_t work_per_row, const Fn& fn) {
  const int64_t grain = std::max<int64_t>(1, kMinChunkWork / std::max<int64_t>(work_per_row, 1));
  pool.parallel_for(n, fn, grain);
}

// A token's place in a batch.
struct BatchToken {
  Session* session;
  int32_t id;
  int64_t pos;
  size_t input;        // which SequenceInput it came from
  int64_t logits_row;  // its row in that input's logits, or -1 when none is wanted
};

// Per-thread scratch of one attention chunk.
struct AttentionScratch {
  std::vector<float> scores;
  std::vector<std::byte> queries;
  std::vector<std::byte> weights;
};

// Causal attention of query heads [head, head + n_heads) of one token at `pos`, which share
// one key head, over its cache positions 0..pos: scores K·q (q rounded to the cache type),
// softmax of score * scale in float with a double sum, then each output dimension the dot of
// V's row (transposed cache) with the weights rounded to the cache type. The heads go through
// the kernels together, so the cache is read once for all of them; every head's results are
// the bits it gets alone.
void attend(const ModelHParams& hp, const KvCache& kv, int64_t layer, const float* q, int64_t head,
            int64_t n_heads, int64_t pos, float* out, AttentionScratch& scratch) {
  const int64_t head_dim = hp.head_dim();
  const int64_t kv_head = head / (hp.n_head / hp.n_head_kv);
  const int64_t n_kv = pos + 1;
  const float scale = 1.0f / std::sqrt(float(head_dim));
  const kernels::KernelTraits& cache = kernels::type_traits(cache_kernel_type(kv.type()));
  const size_t element = kv.element_bytes();

  scratch.queries.resize(size_t(n_heads * head_dim) * element);
  for (int64_t h = 0; h < n_heads; ++h) {
    cache.quantize_row(q + (head + h) * head_dim,
                       scratch.queries.data() + size_t(h * head_dim) * element, head_dim);
  }
  scratch.scores.resize(size_t(n_heads * n_kv));
  float* scores = scratch.scores.data();
  kernels::attention_scores(cache.type, kv.keys(layer, kv_head), head_dim,
                            {scratch.queries.data(), head_dim, n_heads}, head_dim, n_kv, scale,
                            scores, n_kv);
  for (int64_t h = 0; h < n_heads; ++h) {
    float* row = scores + h * n_kv;
    float max_score = -INFINITY;
    for (int64_t t = 0; t < n_kv; ++t) max_score = std::max(max_score, row[t]);
    const double total = kernels::exp_shifted(row, n_kv, max_score);
    const float inv_total = float(1.0 / total);
    for (int64_t t = 0; t < n_kv; ++t) row[t] *= inv_total;
  }
  scratch.weights.resize(kernels::attention_values_scratch_bytes(cache.type, n_kv, n_heads));
  kernels::attention_values(cache.type, kv.values(layer, kv_head * head_dim), kv.n_ctx(),
                            {scores, n_kv, n_heads}, n_kv, head_dim, scratch.weights,
                            out + head * head_dim, head_dim);
}

// Query heads per attention task: all those that share a key head (so the cache is read once
// for them), unless that leaves fewer than two tasks per thread; then the fewest that do.
int64_t heads_per_attention_task(const ModelHParams& hp, int64_t n_tokens, int n_threads) {
  const int64_t group = hp.n_head / hp.n_head_kv;
  for (int64_t split = 1; split < group; ++split) {
    if (group % split == 0 && n_tokens * hp.n_head_kv * split >= 2 * int64_t(n_threads)) {
      return group / split;
    }
  }
  return 1;
}

// Buffers of one slice, kept from slice to slice.
struct ForwardScratch {
  std::vector<float> x, cur, q, k, v, attn, proj, gate, up, rope_cos, rope_sin, logits;
  ActivationBatch activations;
};

void add_bias(float* values, const std::vector<float>& bias) {
  for (size_t i = 0; i < bias.size(); ++i) values[i] += bias[i];
}

// ys[i] = weights[i] x for the slice's rows, for weights that read the same input (Q, K, V;
// gate, up): x is prepared once for all that share an activation layout, and those go
// through the pool as one product.
void multiply_each(std::span<const GgufTensor* const> weights, const float* x, int64_t n,
                   std::span<float* const> ys, ThreadPool& pool, ActivationBatch& activations) {
  activations.prepare(*weights[0], x, n, pool);
  size_t first = 0;
  for (size_t i = 1; i <= weights.size(); ++i) {
    if (i < weights.size() && activations.suits(*weights[i])) continue;
    matmul(weights.subspan(first, i - first), activations, ys.subspan(first, i - first), pool);
    if (i < weights.size()) activations.prepare(*weights[i], x, n, pool);
    first = i;
  }
}

void multiply(const GgufTensor& weight, const float* x, int64_t n, float* y, ThreadPool& pool,
              ActivationBatch& activations) {
  const GgufTensor* weights[] = {&weight};
  float* ys[] = {y};
  multiply_each(weights, x, n, ys, pool, activations);
}

// Every layer for the tokens of one slice, then the logits rows they want.
void forward_slice(const Model& model, ThreadPool& pool, std::span<const BatchToken> tokens,
                   ForwardScratch& s, std::vector<std::vector<float>>& logits_out) {
  const ModelHParams& hp = model.hparams();
  const int64_t n = int64_t(tokens.size());
  const int64_t n_embd = hp.n_embd;
  const int64_t n_embd_kv = hp.n_embd_kv();
  const int64_t head_dim = hp.head_dim();
  const int64_t half_rot = hp.n_rot / 2;
  auto sized = [](std::vector<float>& buffer, int64_t count) {
    buffer.resize(size_t(count));
    return buffer.data();
  };
  float* x = sized(s.x, n * n_embd);
  float* cur = sized(s.cur, n * n_embd);
  float* q = sized(s.q, n * n_embd);
  float* k = sized(s.k, n * n_embd_kv);
  float* v = sized(s.v, n * n_embd_kv);
  float* attn = sized(s.attn, n * n_embd);
  float* proj = sized(s.proj, n * n_embd);
  float* gate = sized(s.gate, n * hp.n_ff);
  float* up = sized(s.up, n * hp.n_ff);
  float* rope_cos = sized(s.rope_cos, n * half_rot);
  float* rope_sin = sized(s.rope_sin, n * half_rot);

  for (int64_t i = 0; i < n; ++i) {
    model.embed(tokens[size_t(i)].id, x + i * n_embd);
    rope_angles(hp.n_rot, tokens[size_t(i)].pos, hp.rope_freq_base, rope_cos + i * half_rot,
                rope_sin + i * half_rot);
  }

  for (int64_t l = 0; l < hp.n_layer; ++l) {
    const LayerWeights& w = model.layer(l);
    for (int64_t i = 0; i < n; ++i) {
      rms_norm(x + i * n_embd, w.attn_norm.data(), cur + i * n_embd, n_embd, hp.rms_eps);
    }
    const GgufTensor* qkv[] = {w.wq, w.wk, w.wv};
    float* qkv_out[] = {q, k, v};
    multiply_each(qkv, cur, n, qkv_out, pool, s.activations);
    for (int64_t i = 0; i < n; ++i) {
      float* qi = q + i * n_embd;
      float* ki = k + i * n_embd_kv;
      float* vi = v + i * n_embd_kv;
      add_bias(qi, w.bq);
      add_bias(ki, w.bk);
      add_bias(vi, w.bv);
      const float* cos = rope_cos + i * half_rot;
      const float* sin = rope_sin + i * half_rot;
      for (int64_t h = 0; h < hp.n_head; ++h)
        rope_apply(qi + h * head_dim, hp.n_rot, cos, sin, hp.rope_neox());
      for (int64_t h = 0; h < hp.n_head_kv; ++h)
        rope_apply(ki + h * head_dim, hp.n_rot, cos, sin, hp.rope_neox());
      tokens[size_t(i)].session->kv().store(l, tokens[size_t(i)].pos, ki, vi);
    }
    // Every key and value of the slice is stored before any token attends: a token sees the
    // ones before it in its own sequence, whichever slice they came in.
    int64_t total_kv = 0;
    for (const BatchToken& token : tokens) total_kv += token.pos + 1;
    const int64_t heads_per_task = heads_per_attention_task(hp, n, pool.n_threads());
    const int64_t tasks_per_token = hp.n_head / heads_per_task;
    const int64_t work_per_task =
        2 * head_dim * heads_per_task * std::max<int64_t>(1, total_kv / n);
    for_rows(pool, n * tasks_per_token, work_per_task, [&](int64_t begin, int64_t end) {
      AttentionScratch scratch;
      for (int64_t task = begin; task < end; ++task) {
        const int64_t i = task / tasks_per_token;
        const BatchToken& token = tokens[size_t(i)];
        attend(hp, token.session->kv(), l, q + i * n_embd,
               (task % tasks_per_token) * heads_per_task, heads_per_task, token.pos,
               attn + i * n_embd, scratch);
      }
    });
    multiply(*w.wo, attn, n, proj, pool, s.activations);
    for (int64_t j = 0; j < n * n_embd; ++j) x[j] += proj[j];
    for (int64_t i = 0; i < n; ++i) {
      rms_norm(x + i * n_embd, w.ffn_norm.data(), cur + i * n_embd, n_embd, hp.rms_eps);
    }
    const GgufTensor* gate_up[] = {w.ffn_gate, w.ffn_up};
    float* gate_up_out[] = {gate, up};
    multiply_each(gate_up, cur, n, gate_up_out, pool, s.activations);
    for_rows(pool, n, 8 * hp.n_ff, [&](int64_t begin, int64_t end) {
      for (int64_t j = begin * hp.n_ff; j < end * hp.n_ff; ++j) gate[j] = silu(gate[j]) * up[j];
    });
    multiply(*w.ffn_down, gate, n, proj, pool, s.activations);
    for (int64_t j = 0; j < n * n_embd; ++j) x[j] += proj[j];
  }

  // The rows that want logits, normalized side by side, then one product with the output.
  int64_t m = 0;
  for (int64_t i = 0; i < n; ++i) {
    if (tokens[size_t(i)].logits_row < 0) continue;
    rms_norm(x + i * n_embd, model.output_norm().data(), cur + m * n_embd, n_embd, hp.rms_eps);
    ++m;
  }
  if (m == 0) return;
  float* logits = sized(s.logits, m * hp.n_vocab);
  multiply(model.output(), cur, m, logits, pool, s.activations);
  m = 0;
  for (const BatchToken& token : tokens) {
    if (token.logits_row < 0) continue;
    std::copy(logits + m * hp.n_vocab, logits + (m + 1) * hp.n_vocab,
              logits_out[token.input].begin() + token.logits_row * hp.n_vocab);
    ++m;
  }
}

// Why `input` cannot be evaluated, or nothing.
Status check_input(const SequenceInput& input, const Model& model) {
  if (input.session == nullptr) return Error{ErrorCode::kInvalidArgument, "no session"};
  if (&input.session->model() != &model) {
    return Error{ErrorCode::kInvalidArgument, "the sessions of a batch must share one model"};
  }
  if (input.tokens.empty()) return Error{ErrorCode::kInvalidArgument, "nothing to evaluate"};
  const Session& session = *input.session;
  if (session.n_past() + int64_t(input.tokens.size()) > session.n_ctx()) {
    return Error{ErrorCode::kResourceExhausted,
                 "the context holds " + std::to_string(session.n_ctx()) + " tokens; " +
                     std::to_string(session.n_past()) + " are used and " +
                     std::to_string(input.tokens.size()) + " more do not fit"};
  }
  const int64_t n_vocab = model.hparams().n_vocab;
  for (int32_t token : input.tokens) {
    if (token < 0 || token >= n_vocab) {
      return Error{ErrorCode::kInvalidArgument, "token id " + std::to_string(token) +
                                                    " is outside the vocabulary (size " +
                                                    std::to_string(n_vocab) + ")"};
    }
  }
  return ok_status();
}

}  // namespace

KvCache::KvCache(const ModelHParams& hparams, int64_t n_ctx, KvType type)
    : type_(type), n_ctx_(n_ctx), n_embd_kv_(hparams.n_embd_kv()), head_dim_(hparams.head_dim()) {
  const size_t size = size_t(n_ctx * n_embd_kv_) * element_bytes();
  k_.assign(size_t(hparams.n_layer), std::vector<std::byte>(size));
  v_.assign(size_t(hparams.n_layer), std::vector<std::byte>(size));
}

void KvCache::store(int64_t layer, int64_t pos, const float* k, const float* v) {
  const kernels::KernelTraits& cache = kernels::type_traits(cache_kernel_type(type_));
  const size_t element = element_bytes();
  for (int64_t head = 0; head < n_embd_kv_ / head_dim_; ++head) {
    cache.quantize_row(
        k + head * head_dim_,
        k_[size_t(layer)].data() + size_t((head * n_ctx_ + pos) * head_dim_) * element, head_dim_);
  }
  // V is transposed: the row is rounded once, then each element goes to its dimension's row.
  value_row_.resize(size_t(n_embd_kv_) * element);
  cache.quantize_row(v, value_row_.data(), n_embd_kv_);
  std::byte* values = v_[size_t(layer)].data();
  for (int64_t d = 0; d < n_embd_kv_; ++d) {
    std::memcpy(values + size_t(d * n_ctx_ + pos) * element,
                value_row_.data() + size_t(d) * element, element);
  }
}

size_t KvCache::bytes() const {
  size_t total = 0;
  for (const auto& layer : k_) total += layer.size();
  for (const auto& layer : v_) total += layer.size();
  return total;
}

Result<std::unique_ptr<Session>> Session::create(const Model& model, int64_t n_ctx, KvType kv_type,
                                                 int n_threads) {
  if (n_threads < 1) return Error{ErrorCode::kInvalidArgument, "at least one thread is needed"};
  return create(model, n_ctx, kv_type, std::make_shared<ThreadPool>(n_threads));
}

Result<std::unique_ptr<Session>> Session::create(const Model& model, int64_t n_ctx, KvType kv_type,
                                                 std::shared_ptr<ThreadPool> pool) {
  if (n_ctx < 1) {
    return Error{ErrorCode::kInvalidArgument, "the context must hold at least one token"};
  }
  if (!pool) return Error{ErrorCode::kInvalidArgument, "no thread pool"};
  if (const DeviceForward* device = model.device()) {
    RBEE_RETURN_IF_ERROR(device->check_session(n_ctx, kv_type));
  }
  return std::unique_ptr<Session>(new Session(model, n_ctx, kv_type, std::move(pool)));
}

Session::Session(const Model& model, int64_t n_ctx, KvType kv_type,
                 std::shared_ptr<ThreadPool> pool)
    : model_(model),
      n_ctx_(n_ctx),
      pool_(std::move(pool)),
      // A session on another device keeps its cache there.
      kv_(model.hparams(), model.device() ? 0 : n_ctx, kv_type) {}

Session::~Session() {
  if (DeviceForward* device = model_.device()) device->forget(*this);
}

Result<std::vector<float>> Session::eval(std::span<const int32_t> tokens, bool all_logits) {
  const SequenceInput input{this, tokens, all_logits};
  RBEE_ASSIGN_OR_RETURN(auto logits, eval_batch(std::span(&input, 1)));
  return std::move(logits[0]);
}

Result<std::vector<std::vector<float>>> eval_batch(std::span<const SequenceInput> inputs) {
  if (inputs.empty()) return Error{ErrorCode::kInvalidArgument, "nothing to evaluate"};
  if (inputs[0].session == nullptr) return Error{ErrorCode::kInvalidArgument, "no session"};
  const Model& model = inputs[0].session->model();
  std::unordered_set<const Session*> seen;
  for (size_t i = 0; i < inputs.size(); ++i) {
    Status ok = check_input(inputs[i], model);
    if (ok && !seen.insert(inputs[i].session).second) {
      ok = Error{ErrorCode::kInvalidArgument, "a session appears twice in one batch"};
    }
    if (!ok) {
      if (inputs.size() == 1) return ok.error();
      return Error{ok.error().code, "sequence " + std::to_string(i) + ": " + ok.error().message};
    }
  }

  if (DeviceForward* device = model.device()) {
    RBEE_ASSIGN_OR_RETURN(auto logits, device->eval(inputs));
    for (const SequenceInput& input : inputs) {
      input.session->n_past_ += int64_t(input.tokens.size());
    }
    return logits;
  }

  const int64_t n_vocab = model.hparams().n_vocab;
  std::vector<std::vector<float>> logits(inputs.size());
  std::vector<BatchToken> tokens;
  for (size_t i = 0; i < inputs.size(); ++i) {
    const SequenceInput& input = inputs[i];
    const int64_t count = int64_t(input.tokens.size());
    logits[i].resize(size_t(input.logits_rows() * n_vocab));
    for (int64_t j = 0; j < count; ++j) {
      tokens.push_back({input.session, input.tokens[size_t(j)], input.session->n_past() + j, i,
                        input.logits_row(j)});
    }
  }
  ThreadPool& pool = inputs[0].session->pool();
  ForwardScratch scratch;
  for (size_t begin = 0; begin < tokens.size(); begin += size_t(kMaxSliceTokens)) {
    const size_t end = std::min(tokens.size(), begin + size_t(kMaxSliceTokens));
    forward_slice(model, pool, std::span(tokens).subspan(begin, end - begin), scratch, logits);
  }
  for (const SequenceInput& input : inputs) input.session->n_past_ += int64_t(input.tokens.size());
  return logits;
}

}  // namespace rbee::engine
