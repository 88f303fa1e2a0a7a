#include "engine/model/generator.hpp"

#include "common/check.hpp"

namespace rbee::engine {

Generation::Generation(Session& session, const Tokenizer& tokenizer,
                       std::vector<TokenId> prompt_tokens, const GenerateOptions& options)
    : session_(&session),
      tokenizer_(&tokenizer),
      max_tokens_(options.max_tokens),
      sampler_(options.sampling),
      stop_matcher_(options.stop),
      decoder_(tokenizer),
      history_(prompt_tokens) {
  result_.prompt_tokens = std::move(prompt_tokens);
}

Result<Generation> Generation::start(Session& session, const Tokenizer& tokenizer,
                                     std::string_view prompt, const GenerateOptions& options) {
  return start(session, tokenizer, tokenizer.encode(prompt, options.add_bos, options.parse_special),
               options);
}

Result<Generation> Generation::start(Session& session, const Tokenizer& tokenizer,
                                     std::vector<TokenId> prompt_tokens,
                                     const GenerateOptions& options) {
  if (prompt_tokens.empty()) {
    return Error{ErrorCode::kInvalidArgument,
                 "the prompt is empty and the model adds no BOS token"};
  }
  if (int64_t(prompt_tokens.size()) + session.n_past() > session.n_ctx()) {
    return Error{ErrorCode::kResourceExhausted,
                 "the prompt has " + std::to_string(prompt_tokens.size()) +
                     " tokens; the context holds " + std::to_string(session.n_ctx())};
  }
  return Generation(session, tokenizer, std::move(prompt_tokens), options);
}

std::span<const TokenId> Generation::next_input() const {
  if (!prefilled_) return result_.prompt_tokens;
  return std::span(&result_.tokens.back(), 1);
}

Result<std::string> Generation::step() {
  RBEE_CHECK(!done_, "step() after the generation ended");
  return advance(session_->eval(next_input()));
}

Result<std::string> Generation::advance(Result<std::vector<float>> logits) {
  RBEE_CHECK(!done_, "advance() after the generation ended");
  prefilled_ = true;
  if (!logits) {
    done_ = true;
    return std::move(logits).error();
  }
  if (int64_t(result_.tokens.size()) >= int64_t(max_tokens_)) return finish("length");

  const TokenId token = sampler_.sample(*logits, history_);
  if (tokenizer_->is_end_of_generation(token)) return finish("stop");
  history_.push_back(token);
  result_.tokens.push_back(token);
  std::string text = stop_matcher_.feed(decoder_.push(token));
  result_.text += text;
  if (stop_matcher_.stopped()) {
    done_ = true;
    result_.finish_reason = "stop";
    return text;
  }
  // The token just sampled is the last one when the budget is spent or the context cannot
  // take it (it is never evaluated).
  if (int64_t(result_.tokens.size()) >= int64_t(max_tokens_) ||
      session_->n_past() >= session_->n_ctx()) {
    text += finish("length");
  }
  return text;
}

std::string Generation::finish(const char* reason) {
  done_ = true;
  result_.finish_reason = reason;
  std::string out;
  if (!stop_matcher_.stopped()) {
    out = stop_matcher_.feed(decoder_.flush());
    if (stop_matcher_.stopped()) result_.finish_reason = "stop";
    out += stop_matcher_.flush();
  }
  result_.text += out;
  return out;
}

void Generation::stop() {
  if (done_) return;
  done_ = true;
  result_.finish_reason = "stop";
}

std::vector<Result<std::string>> step_together(std::span<Generation* const> generations) {
  std::vector<SequenceInput> inputs;
  for (Generation* generation : generations) {
    RBEE_CHECK(!generation->done(), "step_together() with a generation that ended");
    inputs.push_back({&generation->session(), generation->next_input()});
  }
  std::vector<Result<std::string>> out;
  auto batch = eval_batch(inputs);
  for (size_t i = 0; i < generations.size(); ++i) {
    if (batch) {
      out.push_back(generations[i]->advance(std::move((*batch)[i])));
    } else {
      out.push_back(generations[i]->step());
    }
  }
  return out;
}

Result<GenerateResult> generate(Session& session, const Tokenizer& tokenizer,
                                std::string_view prompt, const GenerateOptions& options,
                                const std::function<bool(std::string_view)>& on_text) {
  RBEE_ASSIGN_OR_RETURN(Generation generation,
                        Generation::start(session, tokenizer, prompt, options));
  while (!generation.done()) {
    RBEE_ASSIGN_OR_RETURN(std::string text, generation.step());
    if (!text.empty() && on_text && !on_text(text)) generation.stop();
  }
  return std::move(generation).result();
}

}  // namespace rbee::engine
