#pragma once

// The SlotBackend over rbee's engine: one Session (its own KV cache of n_ctx tokens) per
// slot, and the engine's step-wise Generation running in it.

#include <memory>
#include <optional>
#include <vector>

#include "engine/model/generator.hpp"
#include "engine/model/model.hpp"
#include "engine/tokenizer/tokenizer.hpp"
#include "worker/slot_scheduler.hpp"

namespace rbee::worker {

class EngineSlots : public SlotBackend {
 public:
  // `n_slots` Sessions of `n_ctx` tokens with an F16 KV cache, sharing one pool of
  // `n_threads` compute threads: the slots' steps are evaluated together, in one batch.
  // kInvalidArgument for a bad n_ctx or thread count.
  static Result<std::unique_ptr<EngineSlots>> create(const engine::Model& model,
                                                     const engine::Tokenizer& tokenizer,
                                                     int n_slots, int64_t n_ctx, int n_threads);

  int n_slots() const override { return int(sessions_.size()); }
  Status begin(int slot, const GenerationRequest& request) override;
  Result<SlotStep> step(int slot) override;
  std::vector<Result<SlotStep>> step_all(std::span<const int> slots) override;
  void end(int slot) override;

 private:
  explicit EngineSlots(const engine::Tokenizer& tokenizer) : tokenizer_(tokenizer) {}
  SlotStep progress(int slot, std::string text) const;

  const engine::Tokenizer& tokenizer_;
  std::vector<std::unique_ptr<engine::Session>> sessions_;
  std::vector<std::optional<engine::Generation>> generations_;
};

}  // namespace rbee::worker
