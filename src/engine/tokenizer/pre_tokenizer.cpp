#include "engine/tokenizer/pre_tokenizer.hpp"

#include <algorithm>
#include <array>

namespace rbee::engine::detail {
namespace {

// The patterns are the ones of the HF tokenizer.json files, as llama.cpp lists them; where
// llama.cpp rewrote a case-insensitive group as explicit classes, the same rewrite is used.
constexpr std::string_view kGpt2 =
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S))";
constexpr std::string_view kLlama3 =
    R"((?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|)"
    R"(\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
constexpr std::string_view kLlama3Original =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}|)"
    R"( ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
constexpr std::string_view kQwen2 =
    R"((?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|)"
    R"(\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
constexpr std::string_view kDeepseekLlmLetters =
    "\\s?[A-Za-z\u00B5\u00C0-\u00D6\u00D8-\u00F6\u00F8-\u01BA\u01BC-\u01BF\u01C4-\u0293"
    "\u0295-\u02AF\u0370-\u0373\u0376\u0377\u037B-\u037D\u037F\u0386\u0388-\u038A\u038C"
    "\u038E-\u03A1\u03A3-\u03F5\u03F7-\u0481\u048A-\u052F\u0531-\u0556\u10A0-\u10C5"
    "\u13A0-\u13F5\u13F8-\u13FD\u1C90-\u1CBA\u1CBD-\u1CBF\u1D00-\u1D2B\u1D6B-\u1D77"
    "\u1D79-\u1D9A\u1E00-\u1F15\u1F18-\u1F1D\u1F20-\u1F45\u1F48-\u1F4D\u1F50-\u1F57\u1F59"
    "\u1F5B\u1F5D\u1F5F-\u1F7D\u1F80-\u1FB4\u1FB6-\u1FBC\u1FBE\u1FC2-\u1FC4\u1FC6-\u1FCC"
    "\u1FD0-\u1FD3\u1FD6-\u1FDB\u1FE0-\u1FEC\u1FF2-\u1FF4\u1FF6-\u1FFC\u2102\u2107"
    "\u210A-\u2113\u2115\u2119-\u211D\u2124\u2126\u2128\u212A-\u212D\u212F-\u2134\u2139"
    "\u213C-\u213F\u2145-\u2149\u214E\u2183\u2184\u2C00-\u2C7B\u2C7E-\u2CE4\u2CEB-\u2CEE"
    "\u2CF2\u2CF3\uA640-\uA66D\uA680-\uA69B\uA722-\uA76F\uA771-\uA787\uA78B-\uA78E"
    "\uAB70-\uABBF\uFB00-\uFB06\uFB13-\uFB17\uFF21-\uFF3A\uFF41-\uFF5A\U00010400-\U0001044F"
    "\U000104B0-\U000104D3\U000104D8-\U000104FB\U00010C80-\U00010CB2\U00010CC0-\U00010CF2"
    "\U000118A0-\U000118DF\U0001E900-\U0001E943]+";
constexpr std::string_view kDeepseekLlmPunct =
    "\\s?[!-/:-~\uFF01-\uFF0F\uFF1A-\uFF5E\u2018-\u201F\u3000-\u3002]+";
constexpr std::string_view kCjk = "[\u4E00-\u9FA5\u0800-\u4E00\uAC00-\uD7FF]+";
constexpr std::string_view kBloom = R"( ?[^(\s|.,!?…。，、।۔،)]+)";

PreTokenizerConfig make(std::vector<std::string> regexes) {
  PreTokenizerConfig config;
  config.regexes = std::move(regexes);
  return config;
}

bool is_one_of(std::string_view name, std::initializer_list<std::string_view> names) {
  return std::find(names.begin(), names.end(), name) != names.end();
}

}  // namespace

Result<PreTokenizerConfig> pre_tokenizer_config(std::string_view name) {
  const std::string gpt2(kGpt2);
  if (name.empty() || name == "default") {
    return make({R"([\p{P}\$\+<=>\^~\|]+)", gpt2, R"(\p{N}+)", "[0-9][0-9][0-9]"});
  }
  if (is_one_of(name, {"llama3", "llama-v3", "llama-bpe", "falcon3"})) {
    PreTokenizerConfig config = make({std::string(kLlama3)});
    config.ignore_merges = true;
    config.add_bos = true;
    return config;
  }
  if (is_one_of(name, {"dbrx", "smaug-bpe"})) return make({std::string(kLlama3Original)});
  if (name == "deepseek-llm") {
    PreTokenizerConfig config =
        make({"[\r\n]", std::string(kDeepseekLlmLetters), std::string(kDeepseekLlmPunct), R"(\s+$)",
              std::string(kCjk), R"(\p{N}+)"});
    config.clean_spaces = false;
    return config;
  }
  if (name == "deepseek-coder") {
    PreTokenizerConfig config =
        make({"[\r\n]", R"(\s?\p{L}+)", R"(\s?\p{P}+)", std::string(kCjk), R"(\p{N})"});
    config.clean_spaces = false;
    return config;
  }
  if (name == "falcon") {
    return make({R"([\p{P}\$\+<=>\^~\|`]+)", gpt2, "[0-9][0-9][0-9]"});
  }
  if (is_one_of(name, {"starcoder", "refact", "command-r", "smollm", "codeshell", "exaone",
                       "minerva-7b"})) {
    PreTokenizerConfig config = make({R"(\p{N})", gpt2});
    config.clean_spaces = !is_one_of(name, {"command-r", "smollm"});
    return config;
  }
  if (is_one_of(name,
                {"gpt-2", "phi-2", "jina-es", "jina-de", "gigachat", "jina-v1-en", "jina-v2-es",
                 "jina-v2-de", "jina-v2-code", "roberta-bpe", "mpt", "olmo", "jais"})) {
    return make({gpt2});
  }
  if (is_one_of(name, {"qwen2", "deepseek-r1-qwen", "stablelm2", "megrez"})) {
    PreTokenizerConfig config = make({std::string(kQwen2)});
    config.clean_spaces = !is_one_of(name, {"qwen2", "deepseek-r1-qwen", "megrez"});
    return config;
  }
  if (is_one_of(name, {"poro-chat", "bloom", "gpt3-finnish"})) {
    PreTokenizerConfig config = make({std::string(kBloom)});
    config.clean_spaces = name != "poro-chat";
    return config;
  }
  return make_error(ErrorCode::kInvalidArgument,
                    "unknown pre-tokenizer \"" + std::string(name) + "\"");
}

}  // namespace rbee::engine::detail
