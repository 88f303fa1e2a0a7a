#pragma once

// detail::TokenIndex: text -> id lookups that accept std::string_view keys without copying.

#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "engine/tokenizer/vocabulary.hpp"

namespace rbee::engine::detail {

struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view text) const { return std::hash<std::string_view>{}(text); }
};

// Token text -> id. When two ids share a text the higher id wins, as in llama.cpp.
using TokenIndex = std::unordered_map<std::string, TokenId, StringHash, std::equal_to<>>;
// "left right" merge -> rank (0 = merged first).
using MergeRanks = std::unordered_map<std::string, int32_t, StringHash, std::equal_to<>>;

inline TokenId find_token(const TokenIndex& index, std::string_view text) {
  const auto it = index.find(text);
  return it == index.end() ? kNoToken : it->second;
}

}  // namespace rbee::engine::detail
