#pragma once

// The tables behind a Tokenizer, shared by tokenizer.cpp (building, encoding) and
// detokenizer.cpp (pieces, decoding). Private to the tokenizer library.

#include <optional>
#include <string>
#include <unordered_set>
#include <vector>

#include "engine/tokenizer/bpe_encoder.hpp"
#include "engine/tokenizer/regex_splitter.hpp"
#include "engine/tokenizer/spm_encoder.hpp"
#include "engine/tokenizer/token_index.hpp"
#include "engine/tokenizer/tokenizer.hpp"
#include "engine/tokenizer/wpm_encoder.hpp"

namespace rbee::engine {

struct Tokenizer::Impl {
  TokenizerKind kind = TokenizerKind::kSpm;
  std::vector<std::string> tokens;
  std::vector<float> scores;           // one per token
  std::vector<TokenType> token_types;  // one per token
  detail::TokenIndex index;
  detail::MergeRanks ranks;
  detail::SpmModel spm;  // points into index and scores
  detail::BpeModel bpe;  // points into index and ranks
  detail::WpmModel wpm;  // points into index
  std::optional<detail::RegexSplitter> splitter;
  // Control, user-defined and unknown tokens with non-empty text, longest text first: the
  // ones encode() looks for in raw text before the model sees it.
  std::vector<TokenId> special_tokens;
  std::unordered_set<TokenId> end_of_generation;
  TokenId bos = kNoToken;
  TokenId eos = kNoToken;
  TokenId eot = kNoToken;
  TokenId unk = kNoToken;
  TokenId sep = kNoToken;  // "bert": [SEP], added after the text
  bool add_bos = false;
  bool add_eos = false;
  bool add_sep = false;
  bool add_space_prefix = false;
  bool clean_spaces = false;

  Impl() = default;
  Impl(const Impl&) = delete;  // spm/bpe/wpm point into this object
  Impl& operator=(const Impl&) = delete;

  bool valid(TokenId id) const { return id >= 0 && id < static_cast<TokenId>(tokens.size()); }
};

}  // namespace rbee::engine
