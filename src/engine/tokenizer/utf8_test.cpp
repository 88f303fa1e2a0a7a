#include "engine/tokenizer/utf8.hpp"

#include <gtest/gtest.h>

#include "engine/tokenizer/byte_level.hpp"

namespace rbee::engine::detail {
namespace {

TEST(TokenizerUtf8Test, IncompleteTail) {
  EXPECT_EQ(utf8_incomplete_tail(""), 0u);
  EXPECT_EQ(utf8_incomplete_tail("abc"), 0u);
  EXPECT_EQ(utf8_incomplete_tail("a\xF0\x9F"), 2u);      // first half of an emoji
  EXPECT_EQ(utf8_incomplete_tail("a\xF0\x9F\x98"), 3u);  // three of four bytes
  EXPECT_EQ(utf8_incomplete_tail("\xF0\x9F\x98\x81"), 0u);
  EXPECT_EQ(utf8_incomplete_tail("\xE0"), 1u);
  EXPECT_EQ(utf8_incomplete_tail("\xE0\x80"), 0u);  // can only become an overlong form
  EXPECT_EQ(utf8_incomplete_tail("\x80"), 0u);      // stray continuation byte
  EXPECT_EQ(utf8_incomplete_tail("\xFF"), 0u);
}

TEST(TokenizerUtf8Test, SanitizeReplacesInvalidBytes) {
  EXPECT_EQ(utf8_sanitize("a\xC3\xA9"), "a\xC3\xA9");
  EXPECT_EQ(utf8_sanitize("a\xFF"
                          "b"),
            "a\xEF\xBF\xBD"
            "b");
  EXPECT_EQ(utf8_sanitize("\xED\xA0\x80"), "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");  // surrogate
}

TEST(TokenizerByteLevelTest, RoundTripsEveryByte) {
  std::string all;
  for (int byte = 0; byte < 256; ++byte) all.push_back(static_cast<char>(byte));
  EXPECT_EQ(byte_level_decode(byte_level_encode(all)), all);
  EXPECT_EQ(byte_level_encode(" \n!"), "\xC4\xA0\xC4\x8A!");  // Ġ Ċ !
}

}  // namespace
}  // namespace rbee::engine::detail
