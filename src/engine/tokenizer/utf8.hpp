#pragma once

// UTF-8 helpers shared by the tokenizers and the incremental decoder.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace rbee::engine::detail {

// The length a sequence starting with `lead` claims: 1 for ASCII and for bytes that cannot
// start a sequence (continuation bytes, 0xF8..0xFF), else 2, 3 or 4.
size_t utf8_claimed_length(uint8_t lead);

// The length of the valid UTF-8 sequence at text[offset], or 0 when the bytes there are not
// one (bad lead, bad continuation, overlong form, surrogate, past U+10FFFF, or cut short).
size_t utf8_valid_length(std::string_view text, size_t offset);

// `text` with every byte that does not belong to a valid sequence replaced by U+FFFD.
std::string utf8_sanitize(std::string_view text);

// How many bytes at the end of `text` are the start of a valid sequence that still lacks
// its last bytes (0 when text ends on a complete sequence or on invalid bytes).
size_t utf8_incomplete_tail(std::string_view text);

// Appends the UTF-8 form of code point `cp` (at most U+10FFFF).
void utf8_append(std::string& out, uint32_t cp);

// Decodes the code point of the valid sequence at text[offset] of length `n`.
uint32_t utf8_decode(std::string_view text, size_t offset, size_t n);

}  // namespace rbee::engine::detail
