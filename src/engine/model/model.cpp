#include "engine/model/model.hpp"

#include <algorithm>
#include <thread>

#include "common/check.hpp"
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

// The matrices of a layer, for the code that treats them alike.
constexpr const GgufTensor* LayerWeights::*kLayerMatrices[] = {
    &LayerWeights::wq,       &LayerWeights::wk,     &LayerWeights::wv,      &LayerWeights::wo,
    &LayerWeights::ffn_gate, &LayerWeights::ffn_up, &LayerWeights::ffn_down};

}  // namespace

Result<std::unique_ptr<Model>> Model::load(const std::filesystem::path& path,
                                           const ModelOptions& options) {
  RBEE_ASSIGN_OR_RETURN(GgufReader gguf, GgufReader::open(path));
  std::unique_ptr<Model> model(new Model(std::move(gguf)));
  if (auto bound = model->bind(); !bound) {
    return Error{bound.error().code, path.string() + ": " + bound.error().message};
  }
  if (options.repack) model->repack();
  return model;
}

void Model::repack() {
  // The matrices of the forward pass; not the embedding table, whose rows are looked up one
  // at a time (nor the output matrix when it is that table).
  std::vector<const GgufTensor**> slots;
  for (LayerWeights& layer : layers_) {
    for (auto matrix : kLayerMatrices) slots.push_back(&(layer.*matrix));
  }
  if (output_ != token_embd_) slots.push_back(&output_);
  const int threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  ThreadPool pool(threads);
  repacked_.repack(slots, pool);
}

bool Model::reads_from_file(const GgufTensor& tensor) const {
  if (&tensor == token_embd_ || &tensor == output_) return true;
  return std::any_of(layers_.begin(), layers_.end(), [&](const LayerWeights& layer) {
    return std::any_of(std::begin(kLayerMatrices), std::end(kLayerMatrices),
                       [&](auto matrix) { return layer.*matrix == &tensor; });
  });
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

}  // namespace rbee::engine
