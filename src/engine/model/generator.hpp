#pragma once

// Text generation on one Session: tokenize the prompt, evaluate it in one batch, then sample
// token by token until EOS/EOT, a stop string, max_tokens or a full context. Text is handed
// out as soon as it is safe: never a broken UTF-8 sequence, never part of a stop string.
//
// Generation is the token loop, one step at a time, so that a scheduler can interleave
// several sequences (one Session each); generate() runs it to the end for one caller.
//
//   RBEE_ASSIGN_OR_RETURN(Generation gen, Generation::start(session, tokenizer, prompt, options));
//   while (!gen.done()) {
//     RBEE_ASSIGN_OR_RETURN(std::string text, gen.step());
//     show(text);
//   }
//   use(gen.finish_reason(), gen.tokens());

#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"
#include "engine/model/model.hpp"
#include "engine/sampling/sampler.hpp"
#include "engine/sampling/stop_matcher.hpp"
#include "engine/tokenizer/incremental_decoder.hpp"
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

// One sequence's generation, advanced by step(). It borrows the Session and the Tokenizer,
// which must outlive it, and continues the Session from its current position (reset() the
// Session first for a fresh sequence). Not thread-safe; movable.
class Generation {
 public:
  // Tokenizes `prompt` (options.add_bos, options.parse_special) and starts. Nothing is
  // evaluated yet. kInvalidArgument for an empty prompt (and no BOS); kResourceExhausted when
  // the prompt does not fit the rest of the context.
  static Result<Generation> start(Session& session, const Tokenizer& tokenizer,
                                  std::string_view prompt, const GenerateOptions& options);
  // The same for a prompt tokenized already (add_bos and parse_special are not used).
  static Result<Generation> start(Session& session, const Tokenizer& tokenizer,
                                  std::vector<TokenId> prompt_tokens,
                                  const GenerateOptions& options);

  // One evaluation: the first step evaluates the whole prompt, each later one the last token;
  // then the next token is sampled. Returns the text that became safe to show (often one
  // piece, sometimes empty); when the generation ends at this step the held-back tail is
  // included and done() turns true. Errors come from Session::eval; the generation is then
  // done. Must not be called once done().
  Result<std::string> step();

  // The same in two halves, for a caller that evaluates several generations in one batch
  // (step_together): the tokens the next step feeds (the prompt, then the last token), and
  // the step's end once their logits are known (`logits` of the last of them, or the
  // evaluation's error, which ends the generation).
  std::span<const TokenId> next_input() const;
  Session& session() const { return *session_; }
  Result<std::string> advance(Result<std::vector<float>> logits);

  // Ends the generation now (the caller lost interest): finish_reason "stop", nothing held
  // back is handed out.
  void stop();

  bool done() const { return done_; }
  // Empty until done(); then "stop" or "length".
  const std::string& finish_reason() const { return result_.finish_reason; }
  const std::vector<TokenId>& prompt_tokens() const { return result_.prompt_tokens; }
  // Generated so far (EOS/EOT not included).
  const std::vector<TokenId>& tokens() const { return result_.tokens; }
  // Everything handed out so far.
  const std::string& text() const { return result_.text; }
  const GenerateResult& result() const& { return result_; }
  GenerateResult&& result() && { return std::move(result_); }

 private:
  Generation(Session& session, const Tokenizer& tokenizer, std::vector<TokenId> prompt_tokens,
             const GenerateOptions& options);
  // Ends with `reason`, handing out what is held back (unless stopped by a stop string).
  std::string finish(const char* reason);

  Session* session_;
  const Tokenizer* tokenizer_;
  int max_tokens_;
  Sampler sampler_;
  StopMatcher stop_matcher_;
  IncrementalDecoder decoder_;
  std::vector<TokenId> history_;  // prompt and generated, for the penalties
  GenerateResult result_;
  bool prefilled_ = false;
  bool done_ = false;
};

// One step of each generation (none done, each on its own Session, sessions of one model and
// one pool), evaluated in one batch: each result is what its step() would give. When the
// batch cannot be evaluated as a whole, each is stepped alone, so that one generation's
// error stays its own.
std::vector<Result<std::string>> step_together(std::span<Generation* const> generations);

// Runs a Generation to the end. `on_text` receives each piece of text as it becomes safe to
// show; returning false stops generation (finish_reason "stop"). Errors as Generation::start
// and Generation::step.
Result<GenerateResult> generate(Session& session, const Tokenizer& tokenizer,
                                std::string_view prompt, const GenerateOptions& options,
                                const std::function<bool(std::string_view)>& on_text);

}  // namespace rbee::engine
