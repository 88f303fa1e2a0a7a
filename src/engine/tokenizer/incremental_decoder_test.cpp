#include "engine/tokenizer/incremental_decoder.hpp"

#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>

#include "engine/tokenizer/test_data.hpp"
#include "engine/tokenizer/test_vocab_loader.hpp"

namespace rbee::engine {
namespace {

// A vocabulary of the 256 byte tokens and "▁a", enough to split characters across tokens.
Tokenizer byte_tokenizer() {
  Vocabulary vocab;
  vocab.model = "llama";
  vocab.tokens = {"<unk>", "<s>", "</s>"};
  vocab.token_types = {TokenType::kUnknown, TokenType::kControl, TokenType::kControl};
  for (int byte = 0; byte < 256; ++byte) {
    char hex[8];
    std::snprintf(hex, sizeof(hex), "<0x%02X>", byte);
    vocab.tokens.push_back(hex);
    vocab.token_types.push_back(TokenType::kByte);
  }
  vocab.tokens.push_back(
      "\xE2\x96\x81"
      "a");
  vocab.token_types.push_back(TokenType::kNormal);
  auto tokenizer = Tokenizer::create(std::move(vocab));
  EXPECT_TRUE(tokenizer);
  return std::move(*tokenizer);
}

TokenId byte_token(uint8_t byte) {
  return 3 + byte;
}

TEST(TokenizerIncrementalDecoderTest, HoldsBackSplitCharacters) {
  const Tokenizer tokenizer = byte_tokenizer();
  IncrementalDecoder decoder(tokenizer);
  EXPECT_EQ(decoder.push(259), " a");
  // 😁 is F0 9F 98 81, one byte token each.
  EXPECT_EQ(decoder.push(byte_token(0xF0)), "");
  EXPECT_EQ(decoder.push(byte_token(0x9F)), "");
  EXPECT_EQ(decoder.push(byte_token(0x98)), "");
  EXPECT_EQ(decoder.n_pending_bytes(), 3u);
  EXPECT_EQ(decoder.push(byte_token(0x81)), "\xF0\x9F\x98\x81");
  // é (C3 A9) then a complete piece.
  EXPECT_EQ(decoder.push(byte_token(0xC3)), "");
  EXPECT_EQ(decoder.push(byte_token(0xA9)), "\xC3\xA9");
  EXPECT_EQ(decoder.push(1), "");  // control token, not rendered
  EXPECT_EQ(decoder.flush(), "");
}

TEST(TokenizerIncrementalDecoderTest, NeverEmitsBrokenUtf8) {
  const Tokenizer tokenizer = byte_tokenizer();
  IncrementalDecoder decoder(tokenizer);
  // A stray continuation byte can never complete: it becomes U+FFFD at once.
  EXPECT_EQ(decoder.push(byte_token(0x80)), "\xEF\xBF\xBD");
  // A lead byte followed by something that is not a continuation.
  EXPECT_EQ(decoder.push(byte_token(0xE2)), "");
  EXPECT_EQ(decoder.push(259), "\xEF\xBF\xBD a");
  // The stream ends inside a character.
  EXPECT_EQ(decoder.push(byte_token(0xE2)), "");
  EXPECT_EQ(decoder.push(byte_token(0x96)), "");
  EXPECT_EQ(decoder.flush(), "\xEF\xBF\xBD\xEF\xBF\xBD");
  EXPECT_EQ(decoder.n_pending_bytes(), 0u);
}

// Real vocabularies: stream the tokens of every suite string one by one; each output is valid
// UTF-8 and together they equal the pieces joined.
TEST(TokenizerIncrementalDecoderTest, StreamsSuiteStrings) {
  for (const char* name : {"llama-spm", "gpt-2"}) {
    const auto dir = testing::testdata_dir() / "vocab";
    const std::string base = std::string("ggml-vocab-") + name + ".gguf";
    if (!std::filesystem::exists(dir / base)) GTEST_SKIP() << base << " is missing";
    auto loaded = testing::load_vocabulary_from_gguf((dir / base).string());
    ASSERT_TRUE(loaded) << loaded.error().message;
    auto tokenizer = Tokenizer::create(std::move(loaded->vocab));
    ASSERT_TRUE(tokenizer) << tokenizer.error().message;
    // Emoji and Khmer come out of both vocabularies in pieces of a character.
    const std::string text =
        "\xF0\x9F\x9A\x80 (normal) \xF0\x9F\x98\xB6\xE2\x80\x8D\xF0\x9F\x8C\xAB\xEF\xB8\x8F "
        "\xE1\x9E\x80\xE1\x9E\xB6\xE1\x9E\x93\xE1\x9F\x8B \xF0\x9F\xA6\x99 \xE6\x88\x91";
    const std::vector<TokenId> ids = tokenizer->encode(text, false, false);
    IncrementalDecoder decoder(*tokenizer);
    std::string streamed;
    std::string joined;
    size_t n_held = 0;
    for (const TokenId id : ids) {
      joined += tokenizer->token_to_piece(id, false);
      const std::string out = decoder.push(id);
      if (decoder.n_pending_bytes() > 0) ++n_held;
      for (size_t i = 0; i < out.size();) {
        const auto lead = static_cast<uint8_t>(out[i]);
        const size_t n = lead < 0x80 ? 1 : lead < 0xE0 ? 2 : lead < 0xF0 ? 3 : 4;
        ASSERT_LE(i + n, out.size()) << name << ": broken character in a streamed chunk";
        i += n;
      }
      streamed += out;
    }
    streamed += decoder.flush();
    EXPECT_EQ(streamed, joined) << name;
    EXPECT_GT(n_held, 0u) << name << ": expected some characters split across tokens";
  }
}

}  // namespace
}  // namespace rbee::engine
