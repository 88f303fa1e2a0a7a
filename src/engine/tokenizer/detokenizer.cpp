// Tokenizer::token_to_piece and Tokenizer::decode: ids back to text, as llama.cpp's
// llama_token_to_piece and llama_detokenize compute it.

#include <string>

#include "engine/tokenizer/byte_level.hpp"
#include "engine/tokenizer/tokenizer.hpp"
#include "engine/tokenizer/tokenizer_impl.hpp"

namespace rbee::engine {
namespace {

constexpr std::string_view kSpaceMarker = "\xE2\x96\x81";  // U+2581

std::string unescape_spaces(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  size_t offset = 0;
  while (offset < text.size()) {
    if (text.substr(offset, kSpaceMarker.size()) == kSpaceMarker) {
      out.push_back(' ');
      offset += kSpaceMarker.size();
    } else {
      out.push_back(text[offset++]);
    }
  }
  return out;
}

// "<0x41>" -> 0x41; -1 when the text is not of that form.
int parse_byte_token(std::string_view text) {
  if (text.size() != 6 || text.substr(0, 3) != "<0x" || text[5] != '>') return -1;
  int value = 0;
  for (const char c : text.substr(3, 2)) {
    value <<= 4;
    if (c >= '0' && c <= '9') {
      value |= c - '0';
    } else if (c >= 'A' && c <= 'F') {
      value |= c - 'A' + 10;
    } else if (c >= 'a' && c <= 'f') {
      value |= c - 'a' + 10;
    } else {
      return -1;
    }
  }
  return value;
}

// The clean-up of HF's `clean_up_tokenization_spaces`, in llama.cpp's three passes over
// bytes: drop the space before ?!., then around a lone apostrophe (" ' "), then before the
// contractions 's 'm 're 've (llama.cpp leaves 't 'd 'll alone).
std::string clean_up_spaces(std::string text) {
  if (text.empty()) return text;
  std::string pass;
  pass.reserve(text.size());
  pass.push_back(text[0]);
  for (size_t i = 1; i < text.size(); ++i) {
    const char c = text[i];
    if (text[i - 1] == ' ' && (c == '?' || c == '!' || c == '.' || c == ',')) pass.pop_back();
    pass.push_back(c);
  }
  text.swap(pass);

  pass.clear();
  pass.push_back(text[0]);
  bool previous_dropped = false;  // the space after a lone apostrophe was dropped
  for (size_t i = 1; i < text.size(); ++i) {
    const char c = text[i];
    const bool previous_is_space = text[i - 1] == ' ' && !previous_dropped;
    previous_dropped = false;
    if (c == '\'' && i + 1 < text.size() && previous_is_space && text[i + 1] == ' ') {
      pass.pop_back();
      pass.push_back(c);
      ++i;  // drop the space after it too
      previous_dropped = true;
      continue;
    }
    pass.push_back(c);
  }
  text.swap(pass);

  pass.clear();
  pass.push_back(text[0]);
  for (size_t i = 1; i < text.size(); ++i) {
    const char c = text[i];
    if (text[i - 1] == ' ' && c == '\'' && i + 1 < text.size()) {
      const char c1 = text[i + 1];
      const char c2 = i + 2 < text.size() ? text[i + 2] : '\0';
      if (c1 == 's' || c1 == 'm') {
        pass.pop_back();
      } else if (c1 != 't' && c1 != 'd' && i + 2 < text.size() &&
                 ((c1 == 'r' && c2 == 'e') || (c1 == 'v' && c2 == 'e'))) {
        pass.pop_back();
      }
    }
    pass.push_back(c);
  }
  return pass;
}

}  // namespace

std::string Tokenizer::token_to_piece(TokenId id, bool special) const {
  const Impl& impl = *impl_;
  if (!impl.valid(id)) return {};
  const TokenType type = impl.token_types[id];
  const std::string& text = impl.tokens[id];
  if (type == TokenType::kControl || type == TokenType::kUnknown) {
    return special ? text : std::string();
  }
  if (type == TokenType::kUserDefined) return text;
  if (type == TokenType::kNormal) {
    return impl.kind == TokenizerKind::kBpe ? detail::byte_level_decode(text)
                                            : unescape_spaces(text);
  }
  if (type == TokenType::kByte && impl.kind == TokenizerKind::kSpm) {
    const int byte = parse_byte_token(text);
    if (byte >= 0) return std::string(1, static_cast<char>(byte));
  }
  return {};  // unused and undefined tokens render as nothing
}

std::string Tokenizer::decode(std::span<const TokenId> ids, bool remove_special,
                              bool unparse_special) const {
  const Impl& impl = *impl_;
  // encode() put a space before the text; the first piece loses it again, unless a leading
  // BOS was removed here (llama.cpp keeps the space then).
  bool strip_space = impl.add_space_prefix;
  if (remove_special && impl.add_bos && !ids.empty() && ids.front() == impl.bos) {
    strip_space = false;
    ids = ids.subspan(1);
  }
  if (remove_special && impl.add_sep && !ids.empty() && ids.back() == impl.sep) {
    ids = ids.subspan(0, ids.size() - 1);
  }
  if (remove_special && impl.add_eos && !ids.empty() && ids.back() == impl.eos) {
    ids = ids.subspan(0, ids.size() - 1);
  }
  std::string text;
  for (const TokenId id : ids) {
    std::string piece = token_to_piece(id, unparse_special);
    if (strip_space && !piece.empty() && piece.front() == ' ') piece.erase(0, 1);
    strip_space = false;
    text += piece;
  }
  return impl.clean_spaces ? clean_up_spaces(std::move(text)) : text;
}

}  // namespace rbee::engine
