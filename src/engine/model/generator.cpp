#include "engine/model/generator.hpp"

#include "engine/sampling/stop_matcher.hpp"
#include "engine/tokenizer/incremental_decoder.hpp"

namespace rbee::engine {

Result<GenerateResult> generate(Session& session, const Tokenizer& tokenizer,
                                std::string_view prompt, const GenerateOptions& options,
                                const std::function<bool(std::string_view)>& on_text) {
  GenerateResult result;
  result.prompt_tokens = tokenizer.encode(prompt, options.add_bos, options.parse_special);
  if (result.prompt_tokens.empty()) {
    return Error{ErrorCode::kInvalidArgument,
                 "the prompt is empty and the model adds no BOS token"};
  }
  if (int64_t(result.prompt_tokens.size()) + session.n_past() > session.n_ctx()) {
    return Error{ErrorCode::kResourceExhausted,
                 "the prompt has " + std::to_string(result.prompt_tokens.size()) +
                     " tokens; the context holds " + std::to_string(session.n_ctx())};
  }
  RBEE_ASSIGN_OR_RETURN(std::vector<float> logits, session.eval(result.prompt_tokens));

  Sampler sampler(options.sampling);
  StopMatcher stop(options.stop);
  IncrementalDecoder decoder(tokenizer);
  std::vector<TokenId> history = result.prompt_tokens;
  bool caller_stopped = false;
  auto hand_out = [&](const std::string& text) {
    if (text.empty() || caller_stopped) return;
    result.text += text;
    if (on_text && !on_text(text)) caller_stopped = true;
  };

  result.finish_reason = "length";
  for (int i = 0; i < options.max_tokens; ++i) {
    TokenId token = sampler.sample(logits, history);
    if (tokenizer.is_end_of_generation(token)) {
      result.finish_reason = "stop";
      break;
    }
    history.push_back(token);
    result.tokens.push_back(token);
    hand_out(stop.feed(decoder.push(token)));
    if (stop.stopped() || caller_stopped) {
      result.finish_reason = "stop";
      break;
    }
    if (i + 1 == options.max_tokens || session.n_past() >= session.n_ctx()) break;
    RBEE_ASSIGN_OR_RETURN(logits, session.eval(std::span(&token, 1)));
  }
  if (!stop.stopped() && !caller_stopped) {
    hand_out(stop.feed(decoder.flush()));
    if (stop.stopped()) result.finish_reason = "stop";
    hand_out(stop.flush());
  }
  return result;
}

}  // namespace rbee::engine
