#pragma once

// Text generation on one Session: tokenize the prompt, evaluate it in one batch, then sample
// token by token until EOS/EOT, a stop string, max_tokens or a full context. Text is handed
// out as soon as it is safe: never a broken UTF-8 sequence, never part of a stop string.

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"
#include "engine/model/model.hpp"
#include "engine/sampling/sampler.hpp"
#include "engine/tokenizer/tokenizer.hpp"

namespace rbee::engine {

struct GenerateOptions {
  int max_tokens = 128;
  SamplingParams sampling;
  std::vector<std::string> stop;
  bool add_bos = true;         // add BOS (and EOS) as the vocabulary says
  bool parse_special = false;  // match control tokens' text in the prompt (chat templates)
};

struct GenerateResult {
  std::vector<TokenId> prompt_tokens;
  std::vector<TokenId> tokens;  // generated, EOS/EOT not included
  std::string text;             // what was handed out
  std::string finish_reason;    // "stop" (EOS/EOT or a stop string) | "length"
};

// `on_text` receives each piece of text as it becomes safe to show; returning false stops
// generation (finish_reason "stop"). kInvalidArgument for an empty prompt (and no BOS);
// kResourceExhausted when the prompt does not fit the context.
Result<GenerateResult> generate(Session& session, const Tokenizer& tokenizer,
                                std::string_view prompt, const GenerateOptions& options,
                                const std::function<bool(std::string_view)>& on_text);

}  // namespace rbee::engine
