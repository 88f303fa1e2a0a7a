#include "engine/tokenizer/utf8.hpp"

namespace rbee::engine::detail {
namespace {

constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD

bool is_continuation(uint8_t byte) {
  return (byte & 0xC0) == 0x80;
}

}  // namespace

size_t utf8_claimed_length(uint8_t lead) {
  if (lead < 0x80) return 1;
  if ((lead & 0xE0) == 0xC0) return 2;
  if ((lead & 0xF0) == 0xE0) return 3;
  if ((lead & 0xF8) == 0xF0) return 4;
  return 1;
}

uint32_t utf8_decode(std::string_view text, size_t offset, size_t n) {
  const auto byte = [&](size_t i) { return static_cast<uint32_t>(static_cast<uint8_t>(text[i])); };
  switch (n) {
    case 1:
      return byte(offset);
    case 2:
      return ((byte(offset) & 0x1F) << 6) | (byte(offset + 1) & 0x3F);
    case 3:
      return ((byte(offset) & 0x0F) << 12) | ((byte(offset + 1) & 0x3F) << 6) |
             (byte(offset + 2) & 0x3F);
    default:
      return ((byte(offset) & 0x07) << 18) | ((byte(offset + 1) & 0x3F) << 12) |
             ((byte(offset + 2) & 0x3F) << 6) | (byte(offset + 3) & 0x3F);
  }
}

size_t utf8_valid_length(std::string_view text, size_t offset) {
  const auto lead = static_cast<uint8_t>(text[offset]);
  if (lead < 0x80) return 1;
  const size_t n = utf8_claimed_length(lead);
  if (n == 1 || offset + n > text.size()) return 0;
  for (size_t i = 1; i < n; ++i) {
    if (!is_continuation(static_cast<uint8_t>(text[offset + i]))) return 0;
  }
  const uint32_t cp = utf8_decode(text, offset, n);
  // RFC 3629: the shortest form only, no surrogates, nothing past U+10FFFF.
  static constexpr uint32_t kMinForLength[5] = {0, 0, 0x80, 0x800, 0x10000};
  if (cp < kMinForLength[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
  return n;
}

std::string utf8_sanitize(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  size_t offset = 0;
  while (offset < text.size()) {
    const size_t n = utf8_valid_length(text, offset);
    if (n == 0) {
      out += kReplacement;
      offset += 1;
    } else {
      out.append(text.substr(offset, n));
      offset += n;
    }
  }
  return out;
}

size_t utf8_incomplete_tail(std::string_view text) {
  // A sequence is at most 4 bytes, so an unfinished one starts in the last 3.
  const size_t n_back = text.size() < 3 ? text.size() : 3;
  for (size_t back = 1; back <= n_back; ++back) {
    const size_t start = text.size() - back;
    const auto byte = static_cast<uint8_t>(text[start]);
    if (is_continuation(byte)) continue;
    const size_t claimed = utf8_claimed_length(byte);
    if (claimed <= back) return 0;  // complete, or a byte that starts nothing
    // The bytes present must be able to begin a valid sequence: pad with the smallest
    // continuation that keeps the form valid and check it.
    std::string probe(text.substr(start));
    while (probe.size() < claimed) probe.push_back(static_cast<char>(0x80));
    if (utf8_valid_length(probe, 0) == claimed) return back;
    // 0x80 padding can be too small for E0/F0 leads whose second byte is still missing.
    probe.resize(back);
    while (probe.size() < claimed) probe.push_back(static_cast<char>(0xBF));
    return utf8_valid_length(probe, 0) == claimed ? back : 0;
  }
  return 0;
}

void utf8_append(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

}  // namespace rbee::engine::detail
