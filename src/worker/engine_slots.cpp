#include "worker/engine_slots.hpp"

namespace rbee::worker {

Result<std::unique_ptr<EngineSlots>> EngineSlots::create(const engine::Model& model,
                                                         const engine::Tokenizer& tokenizer,
                                                         int n_slots, int64_t n_ctx,
                                                         int n_threads) {
  if (n_threads < 1) return Error{ErrorCode::kInvalidArgument, "at least one thread is needed"};
  std::unique_ptr<EngineSlots> slots(new EngineSlots(tokenizer));
  auto pool = std::make_shared<engine::ThreadPool>(n_threads);
  for (int i = 0; i < n_slots; ++i) {
    RBEE_ASSIGN_OR_RETURN(auto session,
                          engine::Session::create(model, n_ctx, engine::KvType::kF16, pool));
    slots->sessions_.push_back(std::move(session));
  }
  slots->generations_.resize(size_t(n_slots));
  return slots;
}

Status EngineSlots::begin(int slot, const GenerationRequest& request) {
  engine::Session& session = *sessions_[size_t(slot)];
  session.reset();
  RBEE_ASSIGN_OR_RETURN(
      engine::Generation generation,
      engine::Generation::start(session, tokenizer_, request.prompt_tokens, request.options));
  generations_[size_t(slot)].emplace(std::move(generation));
  return ok_status();
}

SlotStep EngineSlots::progress(int slot, std::string text) const {
  const engine::Generation& generation = *generations_[size_t(slot)];
  SlotStep out;
  out.text = std::move(text);
  out.done = generation.done();
  out.finish_reason = generation.finish_reason();
  out.n_generated = int64_t(generation.tokens().size());
  return out;
}

Result<SlotStep> EngineSlots::step(int slot) {
  RBEE_ASSIGN_OR_RETURN(std::string text, generations_[size_t(slot)]->step());
  return progress(slot, std::move(text));
}

std::vector<Result<SlotStep>> EngineSlots::step_all(std::span<const int> slots) {
  std::vector<engine::Generation*> generations;
  for (int slot : slots) generations.push_back(&*generations_[size_t(slot)]);
  std::vector<Result<std::string>> texts = engine::step_together(generations);
  std::vector<Result<SlotStep>> out;
  for (size_t i = 0; i < slots.size(); ++i) {
    if (texts[i]) {
      out.push_back(progress(slots[i], std::move(*texts[i])));
    } else {
      out.push_back(std::move(texts[i]).error());
    }
  }
  return out;
}

void EngineSlots::end(int slot) {
  generations_[size_t(slot)].reset();
}

}  // namespace rbee::worker
