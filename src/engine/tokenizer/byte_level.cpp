#include "engine/tokenizer/byte_level.hpp"

#include <array>
#include <cstdint>

#include "engine/tokenizer/utf8.hpp"

namespace rbee::engine::detail {
namespace {

struct Alphabet {
  std::array<uint32_t, 256> code_point_of_byte{};
  // Alphabet code points are all below U+0144; -1 marks "not in the alphabet".
  std::array<int16_t, 0x144> byte_of_code_point{};
  std::array<std::string, 256> utf8_of_byte;
};

bool is_printable_byte(uint32_t byte) {
  return (byte >= 0x21 && byte <= 0x7E) || (byte >= 0xA1 && byte <= 0xAC) ||
         (byte >= 0xAE && byte <= 0xFF);
}

const Alphabet& alphabet() {
  static const Alphabet table = [] {
    Alphabet a;
    a.byte_of_code_point.fill(-1);
    uint32_t next_extra = 0x100;
    for (uint32_t byte = 0; byte < 256; ++byte) {
      const uint32_t cp = is_printable_byte(byte) ? byte : next_extra++;
      a.code_point_of_byte[byte] = cp;
      a.byte_of_code_point[cp] = static_cast<int16_t>(byte);
      utf8_append(a.utf8_of_byte[byte], cp);
    }
    return a;
  }();
  return table;
}

}  // namespace

std::string byte_level_encode(std::string_view bytes) {
  const Alphabet& a = alphabet();
  std::string out;
  out.reserve(bytes.size() * 2);
  for (const char c : bytes) out += a.utf8_of_byte[static_cast<uint8_t>(c)];
  return out;
}

std::string byte_level_decode(std::string_view text) {
  const Alphabet& a = alphabet();
  std::string out;
  out.reserve(text.size());
  size_t offset = 0;
  while (offset < text.size()) {
    const size_t n = utf8_valid_length(text, offset);
    if (n == 0) {
      out.push_back(text[offset]);
      offset += 1;
      continue;
    }
    const uint32_t cp = utf8_decode(text, offset, n);
    if (cp < a.byte_of_code_point.size() && a.byte_of_code_point[cp] >= 0) {
      out.push_back(static_cast<char>(static_cast<uint8_t>(a.byte_of_code_point[cp])));
    } else {
      out.append(text.substr(offset, n));
    }
    offset += n;
  }
  return out;
}

}  // namespace rbee::engine::detail
