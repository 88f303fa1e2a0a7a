#include "engine/model/hparams.hpp"

namespace rbee::engine {
namespace {

Result<int64_t> required_int(const GgufReader& gguf, const std::string& key) {
  auto value = gguf.get_uint(key);
  if (!value) {
    if (value.error().code == ErrorCode::kNotFound) {
      return Error{ErrorCode::kInvalidArgument, "the model lacks the required key '" + key + "'"};
    }
    return std::move(value).error();
  }
  return static_cast<int64_t>(*value);
}

Result<float> optional_float(const GgufReader& gguf, const std::string& key, float fallback) {
  auto value = gguf.get<float>(key);
  if (value) return *value;
  if (value.error().code == ErrorCode::kNotFound) return fallback;
  return std::move(value).error();
}

}  // namespace

Result<ModelHParams> read_hparams(const GgufReader& gguf) {
  ModelHParams hp;
  auto arch = gguf.get<std::string_view>("general.architecture");
  if (!arch) return Error{ErrorCode::kInvalidArgument, "the model has no general.architecture"};
  hp.arch_name = std::string(*arch);
  if (hp.arch_name == "llama") {
    hp.arch = Architecture::kLlama;
  } else if (hp.arch_name == "qwen2") {
    hp.arch = Architecture::kQwen2;
  } else {
    return Error{ErrorCode::kInvalidArgument,
                 "architecture '" + hp.arch_name + "' is not supported (supported: llama, qwen2)"};
  }
  const std::string p = hp.arch_name + ".";
  RBEE_ASSIGN_OR_RETURN(hp.n_ctx_train, required_int(gguf, p + "context_length"));
  RBEE_ASSIGN_OR_RETURN(hp.n_embd, required_int(gguf, p + "embedding_length"));
  RBEE_ASSIGN_OR_RETURN(hp.n_layer, required_int(gguf, p + "block_count"));
  RBEE_ASSIGN_OR_RETURN(hp.n_ff, required_int(gguf, p + "feed_forward_length"));
  RBEE_ASSIGN_OR_RETURN(hp.n_head, required_int(gguf, p + "attention.head_count"));
  hp.n_head_kv = hp.n_head;
  if (gguf.has_key(p + "attention.head_count_kv")) {
    RBEE_ASSIGN_OR_RETURN(hp.n_head_kv, required_int(gguf, p + "attention.head_count_kv"));
  }
  auto eps = gguf.get<float>(p + "attention.layer_norm_rms_epsilon");
  if (!eps) {
    return Error{ErrorCode::kInvalidArgument,
                 "the model lacks the required key '" + p + "attention.layer_norm_rms_epsilon'"};
  }
  hp.rms_eps = *eps;
  RBEE_ASSIGN_OR_RETURN(hp.rope_freq_base, optional_float(gguf, p + "rope.freq_base", 10000.0f));
  if (hp.n_embd <= 0 || hp.n_layer <= 0 || hp.n_ff <= 0 || hp.n_head <= 0 || hp.n_head_kv <= 0 ||
      hp.n_ctx_train <= 0) {
    return Error{ErrorCode::kInvalidArgument, "the model's shape has a zero or negative size"};
  }
  if (hp.n_embd % hp.n_head != 0 || hp.n_head % hp.n_head_kv != 0) {
    return Error{ErrorCode::kInvalidArgument,
                 "heads do not divide: embedding " + std::to_string(hp.n_embd) + ", heads " +
                     std::to_string(hp.n_head) + ", kv heads " + std::to_string(hp.n_head_kv)};
  }
  hp.n_rot = hp.head_dim();
  if (gguf.has_key(p + "rope.dimension_count")) {
    RBEE_ASSIGN_OR_RETURN(hp.n_rot, required_int(gguf, p + "rope.dimension_count"));
    if (hp.n_rot <= 0 || hp.n_rot > hp.head_dim() || hp.n_rot % 2 != 0) {
      return Error{ErrorCode::kInvalidArgument, "rope.dimension_count " + std::to_string(hp.n_rot) +
                                                    " does not fit head size " +
                                                    std::to_string(hp.head_dim())};
    }
  }
  auto token_embd = gguf.tensor("token_embd.weight");
  if (!token_embd) return Error{ErrorCode::kInvalidArgument, "the model has no token_embd.weight"};
  hp.n_vocab = static_cast<int64_t>(token_embd->dims[1]);
  return hp;
}

}  // namespace rbee::engine
