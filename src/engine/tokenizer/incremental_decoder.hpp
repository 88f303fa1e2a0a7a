#pragma once

// rbee::engine::IncrementalDecoder: turns generated tokens into text for streaming. A token's
// piece can end in the middle of a UTF-8 sequence (byte tokens, byte-level BPE pieces of an
// emoji); the decoder holds such an unfinished tail back until the tokens that complete it
// arrive, so every string it returns is valid UTF-8.
//
//   IncrementalDecoder decoder(tokenizer);
//   for (TokenId id : generated) send(decoder.push(id));
//   send(decoder.flush());
//
// The concatenation of everything returned equals the concatenated token_to_piece() of the
// tokens (with bytes that can never form a character replaced by U+FFFD). Unlike
// Tokenizer::decode() it neither drops a leading space nor cleans up spaces: generated text
// continues a prompt. Not thread-safe; the Tokenizer must outlive the decoder.

#include <string>

#include "engine/tokenizer/tokenizer.hpp"

namespace rbee::engine {

class IncrementalDecoder {
 public:
  // render_special: show control tokens' text (as token_to_piece's `special`).
  explicit IncrementalDecoder(const Tokenizer& tokenizer, bool render_special = false)
      : tokenizer_(&tokenizer), render_special_(render_special) {}

  // The text that token `id` completes: possibly empty, never a partial character.
  std::string push(TokenId id);

  // Ends the stream: returns what is held back, each byte of an unfinished sequence
  // becoming U+FFFD.
  std::string flush();

  // Bytes held back, waiting for the rest of a character.
  size_t n_pending_bytes() const { return pending_.size(); }

 private:
  const Tokenizer* tokenizer_;
  bool render_special_;
  std::string pending_;
};

}  // namespace rbee::engine
