#pragma once

// detail::bpe_encode_word: byte-level BPE by merge rank (llama.cpp's "gpt2" vocabulary type)
// on one pre-token. Starting from single characters, it repeatedly merges the adjacent pair
// with the lowest merge rank (ties: the leftmost pair).

#include <string_view>
#include <vector>

#include "engine/tokenizer/token_index.hpp"

namespace rbee::engine::detail {

struct BpeModel {
  const TokenIndex* index = nullptr;
  const MergeRanks* ranks = nullptr;
  // A word that is itself a vocabulary entry is emitted as is (llama3's ignore_merges).
  bool ignore_merges = false;
};

// Appends the tokens of `word` (already in the byte-level alphabet) to `out`.
void bpe_encode_word(const BpeModel& model, std::string_view word, std::vector<TokenId>& out);

}  // namespace rbee::engine::detail
