// llama.cpp's own tokens and detokenizations (golden/tokenizer/*.jsonl): encode each text
// and decode the tokens, comparing bytes exactly.

#include <gtest/gtest.h>

#include <filesystem>
#include <iostream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "engine/tokenizer/test_data.hpp"
#include "engine/tokenizer/test_vocab_loader.hpp"
#include "engine/tokenizer/tokenizer.hpp"

namespace rbee::engine {
namespace {

// Minimal field extraction for the flat one-line JSON objects of the golden files (the engine
// links no JSON library).
std::string string_field(const std::string& line, const std::string& key) {
  const std::string marker = "\"" + key + "\": \"";
  const size_t at = line.find(marker);
  if (at == std::string::npos) return {};
  const size_t start = at + marker.size();
  return line.substr(start, line.find('"', start) - start);
}

bool bool_field(const std::string& line, const std::string& key) {
  return line.find("\"" + key + "\": true") != std::string::npos;
}

std::vector<TokenId> ids_field(const std::string& line, const std::string& key) {
  const std::string marker = "\"" + key + "\": [";
  const size_t at = line.find(marker);
  std::vector<TokenId> ids;
  if (at == std::string::npos) return ids;
  const size_t start = at + marker.size();
  std::string list = line.substr(start, line.find(']', start) - start);
  for (char& c : list) {
    if (c == ',') c = ' ';
  }
  std::istringstream in(list);
  TokenId id = 0;
  while (in >> id) ids.push_back(id);
  return ids;
}

std::string from_hex(const std::string& hex) {
  std::string bytes;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) {
    bytes.push_back(static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16)));
  }
  return bytes;
}

class TokenizerGoldenTest : public ::testing::TestWithParam<std::string> {};

TEST_P(TokenizerGoldenTest, EncodesAndDecodesLikeLlamaCpp) {
  const auto golden = testing::testdata_dir() / "golden" / "tokenizer" / (GetParam() + ".jsonl");
  if (!std::filesystem::exists(golden)) GTEST_SKIP() << golden << " is missing";
  std::istringstream lines(testing::read_file_bytes(golden));
  std::string line;
  std::optional<Tokenizer> tokenizer;
  size_t n_cases = 0;
  size_t n_encoded = 0;
  size_t n_decoded = 0;
  while (std::getline(lines, line)) {
    if (!tokenizer) {
      const std::string file = string_field(line, "vocab");
      const auto dir = file.rfind("ggml-vocab-", 0) == 0 ? "vocab" : "models";
      const auto path = testing::testdata_dir() / dir / file;
      if (!std::filesystem::exists(path)) GTEST_SKIP() << path << " is missing";
      auto loaded = testing::load_vocabulary_from_gguf(path.string());
      ASSERT_TRUE(loaded) << loaded.error().message;
      auto created = Tokenizer::create(std::move(loaded->vocab));
      ASSERT_TRUE(created) << created.error().message;
      tokenizer.emplace(std::move(*created));
    }
    ++n_cases;
    const std::string text = from_hex(string_field(line, "text_hex"));
    const std::vector<TokenId> expected = ids_field(line, "tokens");
    const std::vector<TokenId> ids =
        tokenizer->encode(text, bool_field(line, "add_special"), bool_field(line, "parse_special"));
    EXPECT_EQ(ids, expected) << GetParam() << " \"" << text << "\"";
    if (ids == expected) ++n_encoded;
    const std::string decoded = tokenizer->decode(expected, false, false);
    const std::string want = from_hex(string_field(line, "detokenize_hex"));
    EXPECT_EQ(decoded, want) << GetParam() << " \"" << text << "\"";
    if (decoded == want) ++n_decoded;
    // Each piece alone, as llama.cpp printed them.
    const std::string pieces = line.substr(line.find("\"pieces_hex\""));
    size_t cursor = pieces.find('[');
    for (const TokenId id : expected) {
      const size_t open = pieces.find('"', cursor + 1);
      const size_t close = pieces.find('"', open + 1);
      EXPECT_EQ(tokenizer->token_to_piece(id, false),
                from_hex(pieces.substr(open + 1, close - open - 1)))
          << GetParam() << " token " << id;
      cursor = close;
    }
  }
  std::cout << "[ golden   ] " << GetParam() << ": encode " << n_encoded << "/" << n_cases
            << ", decode " << n_decoded << "/" << n_cases << "\n";
}

INSTANTIATE_TEST_SUITE_P(LlamaCpp, TokenizerGoldenTest,
                         ::testing::Values("ggml-vocab-llama-spm", "ggml-vocab-gpt-2",
                                           "ggml-vocab-phi-3", "model-stories260K",
                                           "model-aidreams260K", "model-llama-2-tiny-random",
                                           "model-rand-llama-bpe-F16", "model-rand-qwen2-F32"),
                         [](const ::testing::TestParamInfo<std::string>& param) {
                           std::string name = param.param;
                           for (char& c : name) {
                             if (c == '-') c = '_';
                           }
                           return name;
                         });

}  // namespace
}  // namespace rbee::engine
