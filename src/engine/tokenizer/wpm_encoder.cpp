#include "engine/tokenizer/wpm_encoder.hpp"

#include <unicode/uchar.h>
#include <unicode/unorm2.h>
#include <unicode/utf16.h>

#include <algorithm>
#include <array>
#include <cstdint>

#include "engine/tokenizer/utf8.hpp"

namespace rbee::engine::detail {
namespace {

constexpr std::string_view kWordMarker = "\xE2\x96\x81";  // U+2581

// What the splitter does with one (already decomposed) code point.
enum class CharRole {
  kSpace,    // ends the current word
  kDropped,  // ignored
  kAlone,    // a word of its own
  kWord,     // appended to the current word
};

// BERT's "Chinese character" blocks: the CJK Unified Ideographs with extensions A to E and
// the compatibility ideographs. Extension E starts at U+2B920 rather than U+2B820 here, as in
// Hugging Face's Rust tokenizer and in llama.cpp.
bool is_cjk_ideograph(uint32_t cp) {
  struct Range {
    uint32_t first;
    uint32_t last;
  };
  static constexpr std::array<Range, 8> kRanges = {{
      {0x4E00, 0x9FFF},
      {0x3400, 0x4DBF},
      {0x20000, 0x2A6DF},
      {0x2A700, 0x2B73F},
      {0x2B740, 0x2B81F},
      {0x2B920, 0x2CEAF},
      {0xF900, 0xFAFF},
      {0x2F800, 0x2FA1F},
  }};
  return std::any_of(kRanges.begin(), kRanges.end(),
                     [cp](const Range& range) { return cp >= range.first && cp <= range.last; });
}

const UNormalizer2* nfd_normalizer() {
  static const UNormalizer2* const normalizer = [] {
    UErrorCode status = U_ZERO_ERROR;
    const UNormalizer2* instance = unorm2_getNFDInstance(&status);
    return U_SUCCESS(status) ? instance : nullptr;
  }();
  return normalizer;
}

// The first code point of the canonical decomposition of `cp` (`cp` itself when it has none).
uint32_t decompose_first(uint32_t cp) {
  if (cp < 0xC0) return cp;  // nothing below U+00C0 has a canonical decomposition
  const UNormalizer2* normalizer = nfd_normalizer();
  if (normalizer == nullptr) return cp;
  std::array<UChar, 32> buffer{};
  UErrorCode status = U_ZERO_ERROR;
  const int32_t length =
      unorm2_getDecomposition(normalizer, static_cast<UChar32>(cp), buffer.data(),
                              static_cast<int32_t>(buffer.size()), &status);
  if (U_FAILURE(status) || length <= 0) return cp;
  UChar32 first = 0;
  int32_t at = 0;
  U16_NEXT(buffer.data(), at, length, first);
  return static_cast<uint32_t>(first);
}

CharRole role_of(uint32_t cp) {
  const auto c = static_cast<UChar32>(cp);
  if (u_isUWhiteSpace(c)) return CharRole::kSpace;
  if (cp == 0 || cp == 0xFFFD) return CharRole::kDropped;
  switch (static_cast<UCharCategory>(u_charType(c))) {
    case U_CONTROL_CHAR:
    case U_FORMAT_CHAR:
    case U_PRIVATE_USE_CHAR:
    case U_SURROGATE:
      return CharRole::kDropped;
    case U_DASH_PUNCTUATION:
    case U_START_PUNCTUATION:
    case U_END_PUNCTUATION:
    case U_CONNECTOR_PUNCTUATION:
    case U_OTHER_PUNCTUATION:
    case U_INITIAL_PUNCTUATION:
    case U_FINAL_PUNCTUATION:
      return CharRole::kAlone;
    case U_MATH_SYMBOL:
    case U_CURRENCY_SYMBOL:
    case U_MODIFIER_SYMBOL:
    case U_OTHER_SYMBOL:
      return cp < 0x7F ? CharRole::kAlone : CharRole::kWord;
    default:
      return is_cjk_ideograph(cp) ? CharRole::kAlone : CharRole::kWord;
  }
}

// Appends the tokens of one word (without its U+2581), or `unk` when it cannot be cut.
void encode_word(const WpmModel& model, std::string_view word, std::vector<TokenId>& out) {
  std::string marked;
  marked.reserve(kWordMarker.size() + word.size());
  marked += kWordMarker;
  marked += word;
  const std::string_view text = marked;
  const size_t start = out.size();
  size_t offset = 0;
  while (offset < text.size()) {
    TokenId id = kNoToken;
    size_t length = std::min(text.size() - offset, model.max_token_bytes);
    for (; length > 0; --length) {
      id = find_token(*model.index, text.substr(offset, length));
      if (id != kNoToken) break;
    }
    if (id == kNoToken) {
      out.resize(start);  // the word as a whole is unknown
      break;
    }
    out.push_back(id);
    offset += length;
  }
  if (out.size() == start && model.unk != kNoToken) out.push_back(model.unk);
}

}  // namespace

std::vector<std::string> wpm_split_words(std::string_view text) {
  std::vector<std::string> words;
  std::string word;
  const auto finish_word = [&] {
    if (word.empty()) return;
    words.push_back(std::move(word));
    word.clear();
  };
  size_t offset = 0;
  while (offset < text.size()) {
    const size_t n = utf8_valid_length(text, offset);
    if (n == 0) {
      ++offset;  // an invalid byte (llama.cpp reads it as U+FFFD, which is dropped)
      continue;
    }
    const uint32_t cp = decompose_first(utf8_decode(text, offset, n));
    offset += n;
    const CharRole role = role_of(cp);
    if (role == CharRole::kSpace) {
      finish_word();
    } else if (role == CharRole::kAlone) {
      finish_word();
      utf8_append(word, static_cast<uint32_t>(u_tolower(static_cast<UChar32>(cp))));
      finish_word();
    } else if (role == CharRole::kWord) {
      utf8_append(word, static_cast<uint32_t>(u_tolower(static_cast<UChar32>(cp))));
    }
  }
  finish_word();
  return words;
}

void wpm_encode(const WpmModel& model, std::string_view text, std::vector<TokenId>& out) {
  for (const std::string& word : wpm_split_words(text)) encode_word(model, word, out);
}

}  // namespace rbee::engine::detail
