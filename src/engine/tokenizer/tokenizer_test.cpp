// Tokenizer on small in-memory vocabularies: no test data needed.

#include "engine/tokenizer/tokenizer.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "engine/tokenizer/byte_level.hpp"
#include "engine/tokenizer/utf8.hpp"
#include "engine/tokenizer/wpm_encoder.hpp"

namespace rbee::engine {
namespace {

// <unk> <s> </s>, the 256 byte tokens, then a few pieces with scores.
Vocabulary tiny_spm_vocabulary() {
  Vocabulary vocab;
  vocab.model = "llama";
  const auto add = [&](std::string text, float score, TokenType type) {
    vocab.tokens.push_back(std::move(text));
    vocab.scores.push_back(score);
    vocab.token_types.push_back(type);
  };
  add("<unk>", 0, TokenType::kUnknown);
  add("<s>", 0, TokenType::kControl);
  add("</s>", 0, TokenType::kControl);
  for (int byte = 0; byte < 256; ++byte) {
    char hex[8];
    std::snprintf(hex, sizeof(hex), "<0x%02X>", byte);
    add(hex, 0, TokenType::kByte);
  }
  add("\xE2\x96\x81", -1, TokenType::kNormal);       // 259 ▁
  add("h", -2, TokenType::kNormal);                  // 260
  add("e", -2, TokenType::kNormal);                  // 261
  add("l", -2, TokenType::kNormal);                  // 262
  add("o", -2, TokenType::kNormal);                  // 263
  add("ll", -3, TokenType::kNormal);                 // 264
  add("he", -4, TokenType::kNormal);                 // 265
  add("llo", -5, TokenType::kNormal);                // 266
  add("hello", -6, TokenType::kNormal);              // 267
  add("\xE2\x96\x81hello", -7, TokenType::kNormal);  // 268 ▁hello
  add("<|user|>", 0, TokenType::kUserDefined);       // 269
  return vocab;
}

TEST(SpmTokenizerTest, MergesByScoreAndAddsSpacePrefix) {
  auto tokenizer = Tokenizer::create(tiny_spm_vocabulary());
  ASSERT_TRUE(tokenizer) << tokenizer.error().message;
  EXPECT_EQ(tokenizer->encode("hello", false, false), (std::vector<TokenId>{268}));
  EXPECT_EQ(tokenizer->encode("hello", true, false), (std::vector<TokenId>{1, 268}));
  EXPECT_EQ(tokenizer->encode("", false, false), std::vector<TokenId>{});
  EXPECT_EQ(tokenizer->encode("", true, false), (std::vector<TokenId>{1}));
  // "hell": ll (-3) before he (-4), then nothing joins "he"+"ll".
  EXPECT_EQ(tokenizer->encode("hell", false, false), (std::vector<TokenId>{259, 265, 264}));
}

TEST(SpmTokenizerTest, FallsBackToBytes) {
  auto tokenizer = Tokenizer::create(tiny_spm_vocabulary());
  ASSERT_TRUE(tokenizer);
  // é is C3 A9: not a piece, so two byte tokens (3 + byte).
  EXPECT_EQ(tokenizer->encode("h\xC3\xA9", false, false),
            (std::vector<TokenId>{259, 260, 3 + 0xC3, 3 + 0xA9}));
  const std::vector<TokenId> ids = tokenizer->encode("h\xC3\xA9 hello", false, false);
  EXPECT_EQ(tokenizer->decode(ids, false, false), "h\xC3\xA9 hello");
}

TEST(SpmTokenizerTest, SpecialTokensInText) {
  auto tokenizer = Tokenizer::create(tiny_spm_vocabulary());
  ASSERT_TRUE(tokenizer);
  // Control tokens are text unless parse_special; user-defined ones always match, and the
  // text after a special token gets a space prefix again.
  EXPECT_EQ(tokenizer->encode("<s>hello", false, true), (std::vector<TokenId>{1, 268}));
  EXPECT_NE(tokenizer->encode("<s>hello", false, false).front(), 1);
  EXPECT_EQ(tokenizer->encode("<|user|>hello", false, false), (std::vector<TokenId>{269, 268}));
  EXPECT_EQ(tokenizer->encode("hello<|user|>", false, false), (std::vector<TokenId>{268, 269}));
  // The space prefix is dropped from the first piece only, here "<s>" (as llama.cpp does).
  EXPECT_EQ(tokenizer->decode(std::vector<TokenId>{1, 268}, false, true), "<s> hello");
  EXPECT_EQ(tokenizer->decode(std::vector<TokenId>{1, 268}, true, false), " hello");
  EXPECT_EQ(tokenizer->decode(std::vector<TokenId>{268}, false, false), "hello");
  EXPECT_TRUE(tokenizer->is_end_of_generation(2));
  EXPECT_FALSE(tokenizer->is_end_of_generation(268));
}

Vocabulary tiny_bpe_vocabulary() {
  Vocabulary vocab;
  vocab.model = "gpt2";
  vocab.pre = "gpt-2";
  vocab.tokens = {"h",        "e",
                  "l",        "o",
                  "\xC4\xA0", "he",
                  "ll",       "hell",
                  "hello",    "\xC4\xA0hello",
                  "!",        "<|endoftext|>"};
  vocab.token_types.assign(vocab.tokens.size(), TokenType::kNormal);
  vocab.token_types.back() = TokenType::kControl;
  vocab.merges = {"l l", "h e", "he ll", "hell o", "\xC4\xA0 hello"};
  vocab.eos_id = 11;
  vocab.bos_id = 11;
  return vocab;
}

TEST(BpeTokenizerTest, MergesByRank) {
  auto tokenizer = Tokenizer::create(tiny_bpe_vocabulary());
  ASSERT_TRUE(tokenizer) << tokenizer.error().message;
  EXPECT_EQ(tokenizer->encode("hello hello!", true, false), (std::vector<TokenId>{8, 9, 10}));
  EXPECT_EQ(tokenizer->decode(std::vector<TokenId>{8, 9, 10}, false, false), "hello hello!");
  EXPECT_EQ(tokenizer->encode("<|endoftext|>", false, true), (std::vector<TokenId>{11}));
  EXPECT_TRUE(tokenizer->is_end_of_generation(11));
}

TEST(BpeTokenizerTest, CleansSpacesLikeLlamaCpp) {
  auto tokenizer = Tokenizer::create(tiny_bpe_vocabulary());
  ASSERT_TRUE(tokenizer);
  // "hello" " !" decodes with the space before ! removed (pre gpt-2 cleans up).
  EXPECT_EQ(tokenizer->decode(std::vector<TokenId>{8, 4, 10}, false, false), "hello!");
}

// A few BERT-style pieces: word-initial ones carry U+2581, continuations are bare.
Vocabulary tiny_wpm_vocabulary() {
  Vocabulary vocab;
  vocab.model = "bert";
  const std::string w = "\xE2\x96\x81";  // U+2581
  vocab.tokens = {"[PAD]",               // 0
                  "[UNK]",               // 1
                  "[CLS]",               // 2
                  "[SEP]",               // 3
                  w + "hello",           // 4
                  w + "hell",            // 5
                  "o",                   // 6
                  w + "world",           // 7
                  w + ",",               // 8
                  w + "!",               // 9
                  w + "un",              // 10
                  "aff",                 // 11
                  "able",                // 12
                  w + "cafe",            // 13
                  w + "\xE4\xB8\xAD",    // 14 (中)
                  w + "$",               // 15
                  w + "a",               // 16
                  "b"};                  // 17
  vocab.token_types.assign(vocab.tokens.size(), TokenType::kNormal);
  for (TokenId id = 0; id < 4; ++id) vocab.token_types[id] = TokenType::kControl;
  vocab.unk_id = 1;
  vocab.cls_id = 2;
  vocab.sep_id = 3;
  return vocab;
}

TEST(WpmTokenizerTest, LongestMatchFirst) {
  auto tokenizer = Tokenizer::create(tiny_wpm_vocabulary());
  ASSERT_TRUE(tokenizer) << tokenizer.error().message;
  EXPECT_EQ(tokenizer->kind(), TokenizerKind::kWpm);
  EXPECT_EQ(tokenizer->encode("hello", false, false), (std::vector<TokenId>{4}));
  EXPECT_EQ(tokenizer->encode("unaffable", false, false), (std::vector<TokenId>{10, 11, 12}));
  EXPECT_EQ(tokenizer->encode("hellob", false, false), (std::vector<TokenId>{4, 17}));
  // "hell" + "o" would cut the word too, but "▁hello" is the longer match.
  EXPECT_EQ(tokenizer->encode("hello hello", false, false), (std::vector<TokenId>{4, 4}));
  // A word that cannot be cut all the way is one unknown token.
  EXPECT_EQ(tokenizer->encode("hellox world", false, false), (std::vector<TokenId>{1, 7}));
  EXPECT_EQ(tokenizer->encode("", false, false), std::vector<TokenId>{});
}

TEST(WpmTokenizerTest, NormalizesAndSplitsLikeBert) {
  auto tokenizer = Tokenizer::create(tiny_wpm_vocabulary());
  ASSERT_TRUE(tokenizer);
  // Lowercased; punctuation is a word of its own.
  EXPECT_EQ(tokenizer->encode("Hello, WORLD!", false, false), (std::vector<TokenId>{4, 8, 7, 9}));
  // Accents of precomposed letters go; CJK ideographs and ASCII symbols stand alone.
  EXPECT_EQ(tokenizer->encode("Caf\xC3\xA9", false, false), (std::vector<TokenId>{13}));
  EXPECT_EQ(tokenizer->encode("\xE4\xB8\xAD\xE4\xB8\xAD", false, false),
            (std::vector<TokenId>{14, 14}));
  EXPECT_EQ(tokenizer->encode("a$a", false, false), (std::vector<TokenId>{16, 15, 16}));
  // White space of any kind separates; format characters and invalid bytes are dropped.
  EXPECT_EQ(tokenizer->encode("hello\t\xE3\x80\x80world\n", false, false),
            (std::vector<TokenId>{4, 7}));
  EXPECT_EQ(tokenizer->encode("hel\xE2\x80\x8Blo hel\xFFlo", false, false),
            (std::vector<TokenId>{4, 4}));

  EXPECT_EQ(detail::wpm_split_words("\xC3\x9Cn\xC3\xAF Code\xE2\x80\x94x \xE2\x84\xA6"),
            (std::vector<std::string>{"uni", "code", "\xE2\x80\x94", "x", "\xCF\x89"}));
  // A combining mark written on its own stays in the word (as in llama.cpp).
  EXPECT_EQ(detail::wpm_split_words("e\xCC\x81"), (std::vector<std::string>{"e\xCC\x81"}));
  // Symbols beyond ASCII stay in the word.
  EXPECT_EQ(detail::wpm_split_words("a\xC2\xA9z"), (std::vector<std::string>{"a\xC2\xA9z"}));
  EXPECT_TRUE(detail::wpm_split_words(" \t\r\n").empty());
}

TEST(WpmTokenizerTest, AddsClsAndSep) {
  auto tokenizer = Tokenizer::create(tiny_wpm_vocabulary());
  ASSERT_TRUE(tokenizer);
  EXPECT_EQ(tokenizer->bos_id(), 2);
  EXPECT_EQ(tokenizer->unk_id(), 1);
  EXPECT_TRUE(tokenizer->add_bos());
  EXPECT_EQ(tokenizer->encode("hello", true, false), (std::vector<TokenId>{2, 4, 3}));
  EXPECT_EQ(tokenizer->encode("", true, false), (std::vector<TokenId>{2, 3}));
  // Control tokens in the text only with parse_special.
  EXPECT_EQ(tokenizer->encode("[SEP]hello", false, true), (std::vector<TokenId>{3, 4}));
}

TEST(WpmTokenizerTest, Decodes) {
  auto tokenizer = Tokenizer::create(tiny_wpm_vocabulary());
  ASSERT_TRUE(tokenizer);
  EXPECT_EQ(tokenizer->token_to_piece(4, false), " hello");
  EXPECT_EQ(tokenizer->token_to_piece(6, false), "o");
  EXPECT_EQ(tokenizer->token_to_piece(1, false), "");
  EXPECT_EQ(tokenizer->token_to_piece(1, true), "[UNK]");
  // Word-initial pieces start with a space (kept on the first word, as llama.cpp does);
  // the space before punctuation is cleaned up.
  const std::vector<TokenId> ids = {2, 4, 8, 10, 11, 12, 9, 3};
  EXPECT_EQ(tokenizer->decode(ids, true, false), " hello, unaffable!");
  EXPECT_EQ(tokenizer->decode(ids, false, false), " hello, unaffable!");
  EXPECT_EQ(tokenizer->decode(ids, false, true), "[CLS] hello, unaffable![SEP]");
  EXPECT_EQ(tokenizer->decode(ids, true, true), " hello, unaffable!");
}

TEST(TokenizerTest, RejectsBadVocabularies) {
  Vocabulary unknown_model = tiny_bpe_vocabulary();
  unknown_model.model = "t5";
  EXPECT_EQ(Tokenizer::create(unknown_model).error().code, ErrorCode::kInvalidArgument);
  Vocabulary unknown_pre = tiny_bpe_vocabulary();
  unknown_pre.pre = "no-such-pre";
  EXPECT_EQ(Tokenizer::create(unknown_pre).error().code, ErrorCode::kInvalidArgument);
  Vocabulary bad_merge = tiny_bpe_vocabulary();
  bad_merge.merges.push_back("nospace");
  EXPECT_EQ(Tokenizer::create(bad_merge).error().code, ErrorCode::kInvalidArgument);
  Vocabulary short_scores = tiny_spm_vocabulary();
  short_scores.scores.pop_back();
  EXPECT_EQ(Tokenizer::create(short_scores).error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(Tokenizer::create(Vocabulary{}).error().code, ErrorCode::kInvalidArgument);
}

TEST(TokenizerTest, EveryKnownPreTokenizerCompiles) {
  for (const char* pre : {"default", "llama-bpe", "dbrx", "deepseek-llm", "deepseek-coder",
                          "falcon", "starcoder", "refact", "gpt-2", "mpt", "qwen2", "bloom"}) {
    Vocabulary vocab = tiny_bpe_vocabulary();
    vocab.pre = pre;
    auto tokenizer = Tokenizer::create(vocab);
    ASSERT_TRUE(tokenizer) << pre << ": " << tokenizer.error().message;
    const std::vector<TokenId> ids = tokenizer->encode("hello hello!", false, false);
    std::string joined;
    for (const TokenId id : ids) joined += tokenizer->token_to_piece(id, false);
    EXPECT_EQ(joined, "hello hello!") << pre;
  }
}

// All 256 byte-level characters plus a few merges: every text has a tokenization.
Vocabulary byte_level_vocabulary(const char* pre) {
  Vocabulary vocab;
  vocab.model = "gpt2";
  vocab.pre = pre;
  for (int byte = 0; byte < 256; ++byte) {
    vocab.tokens.push_back(detail::byte_level_encode(std::string(1, static_cast<char>(byte))));
  }
  vocab.tokens.push_back("\xC4\xA0\xC4\xA0");  // two spaces
  vocab.tokens.push_back("ab");
  vocab.merges = {"\xC4\xA0 \xC4\xA0", "a b"};
  return vocab;
}

std::string joined_pieces(const Tokenizer& tokenizer, const std::vector<TokenId>& ids) {
  std::string joined;
  for (const TokenId id : ids) joined += tokenizer.token_to_piece(id, false);
  return joined;
}

TEST(TokenizerTest, LongRunsAndRandomBytesRoundTrip) {
  std::mt19937 random(1234);
  std::uniform_int_distribution<int> byte(0, 255);
  for (const char* pre : {"default", "llama-bpe", "deepseek-llm", "deepseek-coder", "falcon",
                          "starcoder", "gpt-2", "qwen2"}) {
    auto tokenizer = Tokenizer::create(byte_level_vocabulary(pre));
    ASSERT_TRUE(tokenizer) << pre << ": " << tokenizer.error().message;
    for (const std::string& text :
         {std::string(50000, ' ') + "x", std::string(30000, '\n'), std::string(50000, 'a'),
          std::string(20000, '1') + "  \t\r\n ."}) {
      EXPECT_EQ(joined_pieces(*tokenizer, tokenizer->encode(text, false, false)), text) << pre;
    }
    for (int round = 0; round < 50; ++round) {
      std::string text;
      for (int i = 0; i < 64; ++i) text.push_back(static_cast<char>(byte(random)));
      // Invalid UTF-8 reads as U+FFFD, as in llama.cpp.
      EXPECT_EQ(joined_pieces(*tokenizer, tokenizer->encode(text, false, false)),
                detail::utf8_sanitize(text))
          << pre;
    }
  }
  auto spm = Tokenizer::create(tiny_spm_vocabulary());
  ASSERT_TRUE(spm);
  for (int round = 0; round < 50; ++round) {
    std::string text;
    for (int i = 0; i < 64; ++i) text.push_back(static_cast<char>(byte(random)));
    // No spaces: after a lead byte the U+2581 standing for a space would be cut into the
    // lead's character (as in llama.cpp) and come back as its three bytes.
    std::replace(text.begin(), text.end(), ' ', 'x');
    // Byte fallback keeps every byte, valid UTF-8 or not.
    EXPECT_EQ(joined_pieces(*spm, spm->encode(text, false, false)), " " + text);
  }
}

}  // namespace
}  // namespace rbee::engine
