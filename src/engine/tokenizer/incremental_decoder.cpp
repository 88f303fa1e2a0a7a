#include "engine/tokenizer/incremental_decoder.hpp"

#include "engine/tokenizer/utf8.hpp"

namespace rbee::engine {

std::string IncrementalDecoder::push(TokenId id) {
  pending_ += tokenizer_->token_to_piece(id, render_special_);
  const size_t n_held = detail::utf8_incomplete_tail(pending_);
  const std::string_view ready = std::string_view(pending_).substr(0, pending_.size() - n_held);
  std::string out = detail::utf8_sanitize(ready);
  pending_.erase(0, ready.size());
  return out;
}

std::string IncrementalDecoder::flush() {
  std::string out = detail::utf8_sanitize(pending_);
  pending_.clear();
  return out;
}

}  // namespace rbee::engine
