#include "engine/model/model.hpp"

#include <cmath>

#include "common/check.hpp"
#include "engine/kernels/float16.hpp"
#include "engine/model/matmul.hpp"

namespace rbee::engine {
namespace {

std::string shape_text(const GgufTensor& t) {
  std::string out = "[";
  for (uint32_t i = 0; i < t.n_dims; ++i) out += (i ? ", " : "") + std::to_string(t.dims[i]);
  return out + "]";
}

Result<const GgufTensor*> find(const GgufReader& gguf, const std::string& name, int64_t ne0,
                               int64_t ne1) {
  const GgufTensor* t = gguf.find_tensor(name);
  if (!t) return Error{ErrorCode::kInvalidArgument, "the model lacks tensor '" + name + "'"};
  bool ok = int64_t(t->dims[0]) == ne0 && int64_t(t->dims[1]) == ne1 && t->dims[2] == 1 &&
            t->dims[3] == 1;
  if (!ok) {
    return Error{ErrorCode::kInvalidArgument,
                 "tensor '" + name + "' has shape " + shape_text(*t) + ", expected [" +
                     std::to_string(ne0) + (ne1 > 1 ? ", " + std::to_string(ne1) : "") + "]"};
  }
  return t;
}

Result<const GgufTensor*> find_matrix(const GgufReader& gguf, const std::string& name, int64_t ne0,
                                      int64_t ne1) {
  RBEE_ASSIGN_OR_RETURN(const GgufTensor* t, find(gguf, name, ne0, ne1));
  RBEE_RETURN_IF_ERROR(check_matmul_type(*t));
  return t;
}

Result<std::vector<float>> find_vector(const GgufReader& gguf, const std::string& name, int64_t n) {
  RBEE_ASSIGN_OR_RETURN(const GgufTensor* t, find(gguf, name, n, 1));
  RBEE_RETURN_IF_ERROR(check_matmul_type(*t));
  std::vector<float> out(static_cast<size_t>(n));
  dequantize_row(*t, 0, out.data());
  return out;
}

// ggml_rms_norm (double sum of squares) followed by the multiplication with the weight.
void rms_norm(const float* x, const float* weight, float* out, int64_t n, float eps) {
  double sum = 0;
  for (int64_t i = 0; i < n; ++i) sum += double(x[i] * x[i]);
  const float mean = float(sum / double(n));
  const float scale = 1.0f / std::sqrt(mean + eps);
  for (int64_t i = 0; i < n; ++i) out[i] = (x[i] * scale) * weight[i];
}

// RoPE on one head: the angle of pair i is pos * base^(-2i/n_rot), computed by repeated
// multiplication as ggml does.
void rope(float* head, int64_t n_rot, int64_t pos, float freq_base, bool neox) {
  const float theta_scale = std::pow(freq_base, -2.0f / float(n_rot));
  float theta = float(pos);
  for (int64_t i = 0; i < n_rot; i += 2) {
    const float cos_theta = std::cos(theta);
    const float sin_theta = std::sin(theta);
    const int64_t a = neox ? i / 2 : i;
    const int64_t b = neox ? i / 2 + n_rot / 2 : i + 1;
    const float x0 = head[a];
    const float x1 = head[b];
    head[a] = x0 * cos_theta - x1 * sin_theta;
    head[b] = x0 * sin_theta + x1 * cos_theta;
    theta *= theta_scale;
  }
}

float silu(float x) {
  return x / (1.0f + std::exp(-x));
}

}  // namespace

Result<std::unique_ptr<Model>> Model::load(const std::filesystem::path& path) {
  RBEE_ASSIGN_OR_RETURN(GgufReader gguf, GgufReader::open(path));
  std::unique_ptr<Model> model(new Model(std::move(gguf)));
  if (auto bound = model->bind(); !bound) {
    return Error{bound.error().code, path.string() + ": " + bound.error().message};
  }
  return model;
}

Status Model::bind() {
  RBEE_ASSIGN_OR_RETURN(hparams_, read_hparams(gguf_));
  const auto& hp = hparams_;
  RBEE_ASSIGN_OR_RETURN(token_embd_, find(gguf_, "token_embd.weight", hp.n_embd, hp.n_vocab));
  RBEE_RETURN_IF_ERROR(check_matmul_type(*token_embd_));
  RBEE_ASSIGN_OR_RETURN(output_norm_, find_vector(gguf_, "output_norm.weight", hp.n_embd));
  if (gguf_.find_tensor("output.weight")) {
    RBEE_ASSIGN_OR_RETURN(output_, find_matrix(gguf_, "output.weight", hp.n_embd, hp.n_vocab));
  } else {
    output_ = token_embd_;  // tied embeddings
  }
  const int64_t n_embd_kv = hp.n_embd_kv();
  for (int64_t i = 0; i < hp.n_layer; ++i) {
    const std::string p = "blk." + std::to_string(i) + ".";
    LayerWeights layer;
    RBEE_ASSIGN_OR_RETURN(layer.attn_norm, find_vector(gguf_, p + "attn_norm.weight", hp.n_embd));
    RBEE_ASSIGN_OR_RETURN(layer.wq, find_matrix(gguf_, p + "attn_q.weight", hp.n_embd, hp.n_embd));
    RBEE_ASSIGN_OR_RETURN(layer.wk, find_matrix(gguf_, p + "attn_k.weight", hp.n_embd, n_embd_kv));
    RBEE_ASSIGN_OR_RETURN(layer.wv, find_matrix(gguf_, p + "attn_v.weight", hp.n_embd, n_embd_kv));
    RBEE_ASSIGN_OR_RETURN(layer.wo,
                          find_matrix(gguf_, p + "attn_output.weight", hp.n_embd, hp.n_embd));
    RBEE_ASSIGN_OR_RETURN(layer.ffn_norm, find_vector(gguf_, p + "ffn_norm.weight", hp.n_embd));
    RBEE_ASSIGN_OR_RETURN(layer.ffn_gate,
                          find_matrix(gguf_, p + "ffn_gate.weight", hp.n_embd, hp.n_ff));
    RBEE_ASSIGN_OR_RETURN(layer.ffn_up,
                          find_matrix(gguf_, p + "ffn_up.weight", hp.n_embd, hp.n_ff));
    RBEE_ASSIGN_OR_RETURN(layer.ffn_down,
                          find_matrix(gguf_, p + "ffn_down.weight", hp.n_ff, hp.n_embd));
    if (hp.arch == Architecture::kQwen2) {
      RBEE_ASSIGN_OR_RETURN(layer.bq, find_vector(gguf_, p + "attn_q.bias", hp.n_embd));
      RBEE_ASSIGN_OR_RETURN(layer.bk, find_vector(gguf_, p + "attn_k.bias", n_embd_kv));
      RBEE_ASSIGN_OR_RETURN(layer.bv, find_vector(gguf_, p + "attn_v.bias", n_embd_kv));
    }
    layers_.push_back(std::move(layer));
  }
  return ok_status();
}

void Model::embed(int32_t token, float* out) const {
  dequantize_row(*token_embd_, token, out);
}

Result<std::unique_ptr<Session>> Session::create(const Model& model, int64_t n_ctx, KvType kv_type,
                                                 int n_threads) {
  if (n_ctx < 1)
    return Error{ErrorCode::kInvalidArgument, "the context must hold at least one token"};
  if (n_threads < 1) return Error{ErrorCode::kInvalidArgument, "at least one thread is needed"};
  return std::unique_ptr<Session>(new Session(model, n_ctx, kv_type, n_threads));
}

Session::Session(const Model& model, int64_t n_ctx, KvType kv_type, int n_threads)
    : model_(model), n_ctx_(n_ctx), kv_type_(kv_type), pool_(n_threads) {
  const auto& hp = model.hparams();
  size_t size = size_t(n_ctx * hp.n_embd_kv());
  if (kv_type == KvType::kF16) {
    k16_.assign(size_t(hp.n_layer), std::vector<uint16_t>(size));
    v16_.assign(size_t(hp.n_layer), std::vector<uint16_t>(size));
  } else {
    k32_.assign(size_t(hp.n_layer), std::vector<float>(size));
    v32_.assign(size_t(hp.n_layer), std::vector<float>(size));
  }
}

void Session::store_kv(int64_t layer, int64_t pos, const float* k, const float* v) {
  const int64_t n = model_.hparams().n_embd_kv();
  const size_t at = size_t(pos * n);
  if (kv_type_ == KvType::kF16) {
    for (int64_t i = 0; i < n; ++i) {
      k16_[size_t(layer)][at + size_t(i)] = kernels::fp32_to_fp16(k[i]);
      v16_[size_t(layer)][at + size_t(i)] = kernels::fp32_to_fp16(v[i]);
    }
  } else {
    std::copy(k, k + n, k32_[size_t(layer)].begin() + long(at));
    std::copy(v, v + n, v32_[size_t(layer)].begin() + long(at));
  }
}

// Causal attention of one token at `pos` over cache positions 0..pos, as llama.cpp computes it
// without flash attention: scores K·q (q rounded to the cache type), softmax of score*scale in
// float with a double sum, then the weighted sum of V (weights rounded to the cache type).
void Session::attention(int64_t layer, const float* q, int64_t pos, float* out) const {
  const auto& hp = model_.hparams();
  const int64_t head_dim = hp.head_dim();
  const int64_t n_embd_kv = hp.n_embd_kv();
  const int64_t group = hp.n_head / hp.n_head_kv;
  const int64_t n_kv = pos + 1;
  const float scale = 1.0f / std::sqrt(float(head_dim));
  const bool f16 = kv_type_ == KvType::kF16;
  std::vector<float> scores(static_cast<size_t>(n_kv));
  std::vector<float> q_row(static_cast<size_t>(head_dim));
  for (int64_t h = 0; h < hp.n_head; ++h) {
    const int64_t kv_head = h / group;
    const float* qh = q + h * head_dim;
    for (int64_t d = 0; d < head_dim; ++d) {
      q_row[size_t(d)] = f16 ? kernels::fp16_to_fp32(kernels::fp32_to_fp16(qh[d])) : qh[d];
    }
    for (int64_t t = 0; t < n_kv; ++t) {
      const size_t at = size_t(t * n_embd_kv + kv_head * head_dim);
      double sum = 0;
      for (int64_t d = 0; d < head_dim; ++d) {
        float k = f16 ? kernels::fp16_to_fp32(k16_[size_t(layer)][at + size_t(d)])
                      : k32_[size_t(layer)][at + size_t(d)];
        sum += double(k * q_row[size_t(d)]);
      }
      scores[size_t(t)] = float(sum) * scale;
    }
    float max_score = -INFINITY;
    for (float s : scores) max_score = std::max(max_score, s);
    double total = 0;
    for (float& s : scores) {
      s = std::exp(s - max_score);
      total += s;
    }
    const float inv_total = float(1.0 / total);
    for (float& s : scores) {
      s *= inv_total;
      if (f16) s = kernels::fp16_to_fp32(kernels::fp32_to_fp16(s));
    }
    float* oh = out + h * head_dim;
    for (int64_t d = 0; d < head_dim; ++d) {
      double sum = 0;
      for (int64_t t = 0; t < n_kv; ++t) {
        const size_t at = size_t(t * n_embd_kv + kv_head * head_dim + d);
        float v = f16 ? kernels::fp16_to_fp32(v16_[size_t(layer)][at]) : v32_[size_t(layer)][at];
        sum += double(v * scores[size_t(t)]);
      }
      oh[d] = float(sum);
    }
  }
}

Result<std::vector<float>> Session::eval(std::span<const int32_t> tokens, bool all_logits) {
  const auto& hp = model_.hparams();
  if (tokens.empty()) return Error{ErrorCode::kInvalidArgument, "nothing to evaluate"};
  if (n_past_ + int64_t(tokens.size()) > n_ctx_) {
    return Error{ErrorCode::kResourceExhausted,
                 "the context holds " + std::to_string(n_ctx_) + " tokens; " +
                     std::to_string(n_past_) + " are used and " + std::to_string(tokens.size()) +
                     " more do not fit"};
  }
  for (int32_t token : tokens) {
    if (token < 0 || token >= hp.n_vocab) {
      return Error{ErrorCode::kInvalidArgument, "token id " + std::to_string(token) +
                                                    " is outside the vocabulary (size " +
                                                    std::to_string(hp.n_vocab) + ")"};
    }
  }
  const int64_t n = int64_t(tokens.size());
  const int64_t n_embd = hp.n_embd;
  const int64_t n_embd_kv = hp.n_embd_kv();
  std::vector<float> x(static_cast<size_t>(n * n_embd));
  for (int64_t i = 0; i < n; ++i) model_.embed(tokens[size_t(i)], &x[size_t(i * n_embd)]);

  std::vector<float> cur(static_cast<size_t>(n_embd)), q(static_cast<size_t>(n_embd)),
      k(static_cast<size_t>(n_embd_kv)), v(static_cast<size_t>(n_embd_kv));
  std::vector<float> attn(static_cast<size_t>(n * n_embd)), proj(static_cast<size_t>(n_embd));
  std::vector<float> gate(static_cast<size_t>(hp.n_ff)), up(static_cast<size_t>(hp.n_ff));
  std::vector<float> qs(static_cast<size_t>(n * n_embd));
  PreparedActivation scratch;
  auto add_bias = [](std::vector<float>& values, const std::vector<float>& bias) {
    for (size_t i = 0; i < bias.size(); ++i) values[i] += bias[i];
  };

  for (int64_t l = 0; l < hp.n_layer; ++l) {
    const LayerWeights& w = model_.layer(l);
    // Q, K, V for every token first: a token attends to the whole batch before it.
    for (int64_t i = 0; i < n; ++i) {
      const int64_t pos = n_past_ + i;
      rms_norm(&x[size_t(i * n_embd)], w.attn_norm.data(), cur.data(), n_embd, hp.rms_eps);
      matvec(*w.wq, cur.data(), q.data(), pool_, scratch);
      matvec(*w.wk, cur.data(), k.data(), pool_, scratch);
      matvec(*w.wv, cur.data(), v.data(), pool_, scratch);
      add_bias(q, w.bq);
      add_bias(k, w.bk);
      add_bias(v, w.bv);
      for (int64_t h = 0; h < hp.n_head; ++h)
        rope(&q[size_t(h * hp.head_dim())], hp.n_rot, pos, hp.rope_freq_base, hp.rope_neox());
      for (int64_t h = 0; h < hp.n_head_kv; ++h)
        rope(&k[size_t(h * hp.head_dim())], hp.n_rot, pos, hp.rope_freq_base, hp.rope_neox());
      std::copy(q.begin(), q.end(), qs.begin() + long(i * n_embd));
      store_kv(l, pos, k.data(), v.data());
    }
    pool_.parallel_for(n, [&](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; ++i)
        attention(l, &qs[size_t(i * n_embd)], n_past_ + i, &attn[size_t(i * n_embd)]);
    });
    for (int64_t i = 0; i < n; ++i) {
      float* xi = &x[size_t(i * n_embd)];
      matvec(*w.wo, &attn[size_t(i * n_embd)], proj.data(), pool_, scratch);
      for (int64_t j = 0; j < n_embd; ++j) xi[j] += proj[size_t(j)];
      rms_norm(xi, w.ffn_norm.data(), cur.data(), n_embd, hp.rms_eps);
      matvec(*w.ffn_gate, cur.data(), gate.data(), pool_, scratch);
      matvec(*w.ffn_up, cur.data(), up.data(), pool_, scratch);
      for (int64_t j = 0; j < hp.n_ff; ++j) gate[size_t(j)] = silu(gate[size_t(j)]) * up[size_t(j)];
      matvec(*w.ffn_down, gate.data(), proj.data(), pool_, scratch);
      for (int64_t j = 0; j < n_embd; ++j) xi[j] += proj[size_t(j)];
    }
  }

  const int64_t first = all_logits ? 0 : n - 1;
  std::vector<float> logits(static_cast<size_t>((n - first) * hp.n_vocab));
  for (int64_t i = first; i < n; ++i) {
    rms_norm(&x[size_t(i * n_embd)], model_.output_norm().data(), cur.data(), n_embd, hp.rms_eps);
    matvec(model_.output(), cur.data(), &logits[size_t((i - first) * hp.n_vocab)], pool_, scratch);
  }
  n_past_ += n;
  return logits;
}

}  // namespace rbee::engine
