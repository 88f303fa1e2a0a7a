#pragma once

// detail::wpm_encode: WordPiece (llama.cpp's "bert" vocabulary type, "WPM"), as BERT's
// uncased tokenizer computes it. The text is NFD-normalized; then, code point by code point:
// white space ends the current word; accent marks (Mn) and control/format characters are
// dropped; punctuation (P*), ASCII symbols ($+<=>^`|~) and CJK ideographs are words of
// their own; anything else is lowercased and appended to the current word. Each word, with
// U+2581 in front, is cut into the longest vocabulary entries from left to right; a word
// that cannot be cut all the way becomes the unknown token.
//
// The vocabulary stores word-initial pieces with the U+2581 prefix ("▁hello") and
// continuation pieces bare ("llo"), as llama.cpp's convert script writes BERT's "##llo".

#include <string>
#include <string_view>
#include <vector>

#include "engine/tokenizer/token_index.hpp"

namespace rbee::engine::detail {

struct WpmModel {
  const TokenIndex* index = nullptr;
  TokenId unk = kNoToken;   // emitted for a word with no full match (nothing when kNoToken)
  size_t max_token_bytes = 0;  // the longest token text; no longer match is tried
};

// The words of `text` (raw bytes; invalid UTF-8 is dropped), normalized as above and
// without the U+2581 prefix. Needs no vocabulary.
std::vector<std::string> wpm_split_words(std::string_view text);

// Appends the tokens of `text` to `out`.
void wpm_encode(const WpmModel& model, std::string_view text, std::vector<TokenId>& out);

}  // namespace rbee::engine::detail
