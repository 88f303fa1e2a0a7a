#include "worker/engine_slots.hpp"

namespace rbee::worker {

Result<std::unique_ptr<EngineSlots>> EngineSlots::create(const engine::Model& model,
                                                         const engine::Tokenizer& tokenizer,
                                                         int n_slots, int64_t n_ctx,
                                                         int n_threads) {
  std::unique_ptr<EngineSlots> slots(new EngineSlots(tokenizer));
  for (int i = 0; i < n_slots; ++i) {
    RBEE_ASSIGN_OR_RETURN(auto session,
                          engine::Session::create(model, n_ctx, engine::KvType::kF16, n_threads));
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

Result<SlotStep> EngineSlots::step(int slot) {
  engine::Generation& generation = *generations_[size_t(slot)];
  SlotStep out;
  RBEE_ASSIGN_OR_RETURN(out.text, generation.step());
  out.done = generation.done();
  out.finish_reason = generation.finish_reason();
  out.n_generated = int64_t(generation.tokens().size());
  return out;
}

void EngineSlots::end(int slot) {
  generations_[size_t(slot)].reset();
}

}  // namespace rbee::worker
