#include "engine/model/vocabulary_loader.hpp"

namespace rbee::engine {
namespace {

template <typename T>
Status read_optional(const GgufReader& gguf, const std::string& key, std::optional<T>& out) {
  if (!gguf.has_key(key)) return ok_status();
  if constexpr (std::is_same_v<T, bool>) {
    RBEE_ASSIGN_OR_RETURN(bool value, gguf.get<bool>(key));
    out = value;
  } else {
    RBEE_ASSIGN_OR_RETURN(uint64_t value, gguf.get_uint(key));
    out = static_cast<T>(value);
  }
  return ok_status();
}

}  // namespace

Result<Vocabulary> read_vocabulary(const GgufReader& gguf) {
  Vocabulary vocab;
  auto model = gguf.get<std::string_view>("tokenizer.ggml.model");
  if (!model) {
    return Error{ErrorCode::kInvalidArgument,
                 "the model has no tokenizer (tokenizer.ggml.model): " + model.error().message};
  }
  vocab.model = std::string(*model);
  if (gguf.has_key("tokenizer.ggml.pre")) {
    RBEE_ASSIGN_OR_RETURN(std::string_view pre, gguf.get<std::string_view>("tokenizer.ggml.pre"));
    vocab.pre = std::string(pre);
  }
  RBEE_ASSIGN_OR_RETURN(auto tokens, gguf.get_string_array("tokenizer.ggml.tokens"));
  vocab.tokens.assign(tokens.begin(), tokens.end());
  if (gguf.has_key("tokenizer.ggml.scores")) {
    RBEE_ASSIGN_OR_RETURN(vocab.scores, gguf.get_array<float>("tokenizer.ggml.scores"));
    if (vocab.scores.size() != vocab.tokens.size()) {
      return Error{ErrorCode::kInvalidArgument,
                   "tokenizer.ggml.scores has " + std::to_string(vocab.scores.size()) +
                       " entries for " + std::to_string(vocab.tokens.size()) + " tokens"};
    }
  }
  if (gguf.has_key("tokenizer.ggml.token_type")) {
    RBEE_ASSIGN_OR_RETURN(auto types, gguf.get_array<int32_t>("tokenizer.ggml.token_type"));
    if (types.size() != vocab.tokens.size()) {
      return Error{ErrorCode::kInvalidArgument,
                   "tokenizer.ggml.token_type has " + std::to_string(types.size()) +
                       " entries for " + std::to_string(vocab.tokens.size()) + " tokens"};
    }
    for (int32_t type : types) vocab.token_types.push_back(static_cast<TokenType>(type));
  }
  if (gguf.has_key("tokenizer.ggml.merges")) {
    RBEE_ASSIGN_OR_RETURN(auto merges, gguf.get_string_array("tokenizer.ggml.merges"));
    vocab.merges.assign(merges.begin(), merges.end());
  }
  const std::string p = "tokenizer.ggml.";
  RBEE_RETURN_IF_ERROR(read_optional(gguf, p + "bos_token_id", vocab.bos_id));
  RBEE_RETURN_IF_ERROR(read_optional(gguf, p + "eos_token_id", vocab.eos_id));
  RBEE_RETURN_IF_ERROR(read_optional(gguf, p + "eot_token_id", vocab.eot_id));
  RBEE_RETURN_IF_ERROR(read_optional(gguf, p + "eom_token_id", vocab.eom_id));
  RBEE_RETURN_IF_ERROR(read_optional(gguf, p + "unknown_token_id", vocab.unk_id));
  RBEE_RETURN_IF_ERROR(read_optional(gguf, p + "padding_token_id", vocab.pad_id));
  RBEE_RETURN_IF_ERROR(read_optional(gguf, p + "seperator_token_id", vocab.sep_id));
  RBEE_RETURN_IF_ERROR(read_optional(gguf, p + "cls_token_id", vocab.cls_id));
  RBEE_RETURN_IF_ERROR(read_optional(gguf, p + "mask_token_id", vocab.mask_id));
  RBEE_RETURN_IF_ERROR(read_optional(gguf, p + "add_bos_token", vocab.add_bos));
  RBEE_RETURN_IF_ERROR(read_optional(gguf, p + "add_eos_token", vocab.add_eos));
  RBEE_RETURN_IF_ERROR(read_optional(gguf, p + "add_space_prefix", vocab.add_space_prefix));
  return vocab;
}

}  // namespace rbee::engine
