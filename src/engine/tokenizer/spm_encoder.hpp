#pragma once

// detail::spm_encode: SentencePiece-style BPE by score (llama.cpp's "llama" vocabulary type).
// Starting from single characters, it repeatedly merges the adjacent pair whose joined text
// is a vocabulary entry with the highest score (ties: the leftmost pair). A final piece that
// is not an entry falls back to its bytes' <0xXX> tokens.

#include <array>
#include <span>
#include <string_view>
#include <vector>

#include "engine/tokenizer/token_index.hpp"

namespace rbee::engine::detail {

struct SpmModel {
  const TokenIndex* index = nullptr;
  std::span<const float> scores;  // empty: every score is 0
  // The token of each byte for byte fallback: <0xXX>, else the one-byte text, else unk_id.
  std::array<TokenId, 256> byte_tokens{};
};

// Appends the tokens of `text` (already normalized: spaces replaced by U+2581) to `out`.
void spm_encode(const SpmModel& model, std::string_view text, std::vector<TokenId>& out);

}  // namespace rbee::engine::detail
