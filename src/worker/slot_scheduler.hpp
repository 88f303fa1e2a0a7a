#pragma once

// Continuous batching over parallel slots. One scheduler thread owns the slots (a Session
// each, behind SlotBackend) and advances every active one by one step per round, all in one
// batch (SlotBackend::step_all): a new request's first step evaluates its whole prompt, each
// later step one token.
// So N requests progress together, and a request that arrives while others run starts at the
// next round instead of waiting for them to finish. Requests beyond the slots wait in a
// bounded FIFO queue.
//
// A request is a GenerationJob shared by the scheduler (which produces its text) and the HTTP
// handler (which waits for text and writes it out). The handler cancels a job whose client
// went away; the scheduler frees its slot before stepping it again.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "common/result.hpp"
#include "engine/model/generator.hpp"

namespace rbee::worker {

struct GenerationRequest {
  std::vector<engine::TokenId> prompt_tokens;
  engine::GenerateOptions options;
};

// What one step of a slot produced.
struct SlotStep {
  std::string text;  // safe to show (may be empty)
  bool done = false;
  std::string finish_reason;  // "stop" | "length" once done
  int64_t n_generated = 0;    // tokens generated so far
};

// The engine behind the slots, one sequence per slot. Only the scheduler thread calls it.
class SlotBackend {
 public:
  virtual ~SlotBackend() = default;
  virtual int n_slots() const = 0;
  // Starts `request` on free slot `slot`, forgetting what the slot held before.
  virtual Status begin(int slot, const GenerationRequest& request) = 0;
  // Advances the slot's request by one step (the prompt, then one token).
  virtual Result<SlotStep> step(int slot) = 0;
  // One step of each of `slots` (distinct, each begun), as step() would give it; a backend
  // that can evaluate them together (one pass over the weights for all) overrides this.
  virtual std::vector<Result<SlotStep>> step_all(std::span<const int> slots) {
    std::vector<Result<SlotStep>> out;
    for (int slot : slots) out.push_back(step(slot));
    return out;
  }
  // Frees the slot.
  virtual void end(int slot) = 0;
};

// One request's progress. The scheduler produces, one HTTP thread consumes; all members are
// thread-safe.
class GenerationJob {
 public:
  explicit GenerationJob(int64_t n_prompt_tokens) : n_prompt_tokens_(n_prompt_tokens) {}

  struct Update {
    std::string text;  // everything produced since the previous wait()
    bool finished = false;
    std::string finish_reason;   // "stop" | "length" when finished without error
    std::optional<Error> error;  // when the request failed or was aborted
    int64_t n_prompt_tokens = 0;
    int64_t n_completion_tokens = 0;
  };

  // Blocks until there is new text or the end, or `deadline` passes.
  Update wait(std::chrono::steady_clock::time_point deadline);

  // The client went away: the scheduler drops the request before its next step.
  void cancel();
  bool cancelled() const;

  // Producer side (the scheduler).
  void push(const SlotStep& step);
  void fail(Error error);
  bool finished() const;
  int64_t n_prompt_tokens() const { return n_prompt_tokens_; }

 private:
  const int64_t n_prompt_tokens_;
  mutable std::mutex mu_;
  std::condition_variable changed_;
  // guarded by mu_
  std::string pending_text_;
  bool finished_ = false;
  bool cancelled_ = false;
  std::string finish_reason_;
  std::optional<Error> error_;
  int64_t n_generated_ = 0;
};

// What a finished request did, for metrics.
struct JobSummary {
  int64_t n_prompt_tokens = 0;
  int64_t n_generated = 0;
  // The tokens after the first (which comes with the prompt's evaluation) and the time they
  // took, for the generation rate; 0 when the request ended early.
  int64_t n_decoded = 0;
  double decode_seconds = 0;
  bool cancelled = false;
  bool failed = false;
};

struct SchedulerOptions {
  size_t max_queue = 64;                               // waiting requests; beyond: 429
  std::function<void(const JobSummary&)> on_finished;  // from the scheduler thread
};

struct SchedulerStats {
  int slots_total = 0;
  int slots_busy = 0;
  int64_t queue_depth = 0;
};

class SlotScheduler {
 public:
  // The backend must outlive the scheduler. The thread starts at once.
  SlotScheduler(SlotBackend& backend, SchedulerOptions options);
  ~SlotScheduler();  // stop()
  SlotScheduler(const SlotScheduler&) = delete;
  SlotScheduler& operator=(const SlotScheduler&) = delete;

  // Queues a request. kResourceExhausted when the queue is full; kUnavailable after close().
  // Thread-safe.
  Result<std::shared_ptr<GenerationJob>> submit(GenerationRequest request);

  // Refuses new requests from now on (draining); queued and running ones go on.
  void close();
  // Ends every queued and running request with `error` (the drain timed out).
  void abort_all(const Error& error);
  // Waits until no request is queued or running, or `deadline`. Returns whether idle.
  bool wait_idle(std::chrono::steady_clock::time_point deadline);
  SchedulerStats stats() const;
  // Ends the scheduler thread (running requests are aborted as by abort_all).
  void stop();

 private:
  struct Slot {
    std::shared_ptr<GenerationJob> job;  // empty: the slot is free
    GenerationRequest request;           // until the backend began it
    bool started = false;
    std::optional<Error> abort;  // set by abort_all: fail the job at its next step
    std::chrono::steady_clock::time_point prefilled_at;
  };
  struct Queued {
    std::shared_ptr<GenerationJob> job;
    GenerationRequest request;
  };

  void loop(std::stop_token stop);
  // Moves queued requests into free slots; drops cancelled ones. Needs mu_.
  void admit_locked();
  // Before a round: ends slot `index`'s request when it was aborted or cancelled, begins it
  // when new. Whether the slot takes part in the round.
  bool ready_slot(int index);
  // After a round: hands the step's text to the job; frees the slot when its request ends.
  void finish_step(int index, Result<SlotStep> step, std::chrono::steady_clock::time_point now);
  // Frees slot `index` and reports the summary (before the slot shows free).
  void release(int index, const JobSummary& summary);
  bool idle_locked() const;

  SlotBackend& backend_;
  SchedulerOptions options_;
  mutable std::mutex mu_;
  std::condition_variable_any work_;
  std::condition_variable idle_;
  // guarded by mu_
  std::deque<Queued> queue_;
  std::vector<Slot> slots_;
  bool closed_ = false;
  std::jthread thread_;  // last: starts after everything above exists
};

}  // namespace rbee::worker
