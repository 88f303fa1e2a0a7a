#pragma once

// detail::wpm_encode: WordPiece (llama.cpp's "bert" vocabulary type, "WPM"), as llama.cpp
// computes it for BERT's uncased vocabularies. The text is read code point by code point
// (bytes that are not valid UTF-8 are dropped) and each code point is first replaced by the
// first code point of its canonical (NFD) decomposition: "é" becomes "e", while a combining
// mark written on its own stays (llama.cpp's reading of BERT's "NFD, then strip accents").
// Then:
//   - White_Space ends the current word;
//   - U+0000, U+FFFD and other characters (Cc, Cf, Co, Cs) are dropped;
//   - punctuation (P*), the ASCII symbols $+<=>^`|~ and CJK ideographs are words of their own;
//   - anything else is lowercased (simple case mapping) and appended to the current word.
// Each word, with U+2581 in front, is cut into the longest vocabulary entries from left to
// right; a word that cannot be cut all the way becomes the unknown token.
//
// The vocabulary stores word-initial pieces with the U+2581 prefix ("▁hello") and
// continuation pieces bare ("llo"), as llama.cpp's convert script writes BERT's "##llo".

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "engine/tokenizer/token_index.hpp"

namespace rbee::engine::detail {

struct WpmModel {
  const TokenIndex* index = nullptr;
  TokenId unk = kNoToken;      // emitted for a word with no full match (nothing when kNoToken)
  size_t max_token_bytes = 0;  // the longest token text; no longer match is tried
};

// The words of `text` (raw bytes; invalid UTF-8 is dropped), normalized as above and
// without the U+2581 prefix. Needs no vocabulary.
std::vector<std::string> wpm_split_words(std::string_view text);

// Appends the tokens of `text` to `out`.
void wpm_encode(const WpmModel& model, std::string_view text, std::vector<TokenId>& out);

}  // namespace rbee::engine::detail
