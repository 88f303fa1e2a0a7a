#pragma once

// The GPT-2 byte-to-unicode alphabet of byte-level BPE vocabularies: every byte is shown as
// one printable code point (printable Latin-1 bytes as themselves, the other 68 bytes as
// U+0100.. in order), so "Hello world" is stored as "Hello", "Ġworld".

#include <string>
#include <string_view>

namespace rbee::engine::detail {

// `bytes` with every byte replaced by the UTF-8 form of its alphabet code point.
std::string byte_level_encode(std::string_view bytes);

// The inverse of byte_level_encode(). Code points outside the alphabet (and invalid UTF-8)
// are copied through unchanged.
std::string byte_level_decode(std::string_view text);

}  // namespace rbee::engine::detail
