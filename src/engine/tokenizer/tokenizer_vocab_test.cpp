// llama.cpp's tokenizer suite: for each ggml-vocab-<name>.gguf, encode the 46 strings of
// <name>.gguf.inp (no BOS, special tokens not parsed) and compare with <name>.gguf.out.

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "engine/tokenizer/test_data.hpp"
#include "engine/tokenizer/test_vocab_loader.hpp"
#include "engine/tokenizer/tokenizer.hpp"
#include "engine/tokenizer/wpm_encoder.hpp"

namespace rbee::engine {
namespace {

constexpr std::string_view kSeparator = "\n__ggml_vocab_test__\n";

std::vector<std::string> split_inputs(const std::string& text) {
  std::vector<std::string> inputs;
  size_t start = 0;
  while (true) {
    const size_t at = text.find(kSeparator, start);
    if (at == std::string::npos) break;
    inputs.push_back(text.substr(start, at - start));
    start = at + kSeparator.size();
  }
  return inputs;
}

std::vector<std::vector<TokenId>> parse_expected(const std::string& text) {
  std::vector<std::vector<TokenId>> expected;
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    std::istringstream ids(line);
    std::vector<TokenId> row;
    TokenId id = 0;
    while (ids >> id) row.push_back(id);
    expected.push_back(std::move(row));
  }
  return expected;
}

std::string format_ids(const std::vector<TokenId>& ids) {
  std::string out;
  for (const TokenId id : ids) out += " " + std::to_string(id);
  return out;
}

class TokenizerVocabSuiteTest : public ::testing::TestWithParam<std::string> {};

TEST_P(TokenizerVocabSuiteTest, EncodesLikeReference) {
  const auto dir = testing::testdata_dir() / "vocab";
  const std::string base = "ggml-vocab-" + GetParam() + ".gguf";
  if (!std::filesystem::exists(dir / base) || !std::filesystem::exists(dir / (base + ".inp"))) {
    GTEST_SKIP() << base << " or its .inp/.out is not in " << dir;
  }
  auto loaded = testing::load_vocabulary_from_gguf((dir / base).string());
  ASSERT_TRUE(loaded) << loaded.error().message;
  auto tokenizer = Tokenizer::create(std::move(loaded->vocab));
  ASSERT_TRUE(tokenizer) << tokenizer.error().message;

  const auto inputs = split_inputs(testing::read_file_bytes(dir / (base + ".inp")));
  const auto expected = parse_expected(testing::read_file_bytes(dir / (base + ".out")));
  ASSERT_EQ(inputs.size(), expected.size());
  size_t n_exact = 0;
  for (size_t i = 0; i < inputs.size(); ++i) {
    const std::vector<TokenId> ids = tokenizer->encode(inputs[i], false, false);
    if (ids == expected[i]) {
      ++n_exact;
    } else {
      ADD_FAILURE() << base << " string " << i << " \"" << inputs[i] << "\"\n  got     "
                    << format_ids(ids) << "\n  expected" << format_ids(expected[i]);
    }
    // The pieces put back together give the text (plus the SentencePiece space prefix);
    // WordPiece gives the normalized words, each after a space, unless a word was unknown.
    std::string joined;
    for (const TokenId id : ids) joined += tokenizer->token_to_piece(id, false);
    if (tokenizer->kind() == TokenizerKind::kWpm) {
      if (std::find(ids.begin(), ids.end(), tokenizer->unk_id()) != ids.end()) continue;
      std::string words;
      for (const std::string& word : detail::wpm_split_words(inputs[i])) words += " " + word;
      EXPECT_EQ(joined, words) << base << " string " << i;
      continue;
    }
    const bool prefixed = tokenizer->kind() == TokenizerKind::kSpm && !inputs[i].empty();
    EXPECT_EQ(joined, (prefixed ? " " : "") + inputs[i]) << base << " string " << i;
  }
  std::cout << "[ vocab    ] " << base << ": " << n_exact << "/" << inputs.size()
            << " strings exact\n";
}

// Every name with a .inp/.out pair in the suite; those without a vocabulary file skip.
INSTANTIATE_TEST_SUITE_P(LlamaCppSuite, TokenizerVocabSuiteTest,
                         ::testing::Values("llama-spm", "phi-3", "gpt-2", "deepseek-llm",
                                           "deepseek-coder", "falcon", "starcoder", "refact", "mpt",
                                           "bert-bge", "llama-bpe", "qwen2", "deepseek-r1-qwen",
                                           "command-r", "chameleon", "roberta-bpe"),
                         [](const ::testing::TestParamInfo<std::string>& param) {
                           std::string name = param.param;
                           for (char& c : name) {
                             if (c == '-') c = '_';
                           }
                           return name;
                         });

}  // namespace
}  // namespace rbee::engine
