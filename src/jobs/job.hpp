#pragma once

// One job: its state, its bounded event log (replayable from any event id) and its
// cancellation source. Every member is thread-safe.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <stop_token>
#include <string>
#include <vector>

#include "contracts/job_events.hpp"

namespace rbee::jobs {

struct StoredEvent {
  uint64_t id = 0;   // 1, 2, 3, ... within the job
  std::string name;  // "narration", "progress", "result", "token", "done"
  std::string data;  // one line of JSON
};

class Job {
 public:
  // `sequence` orders jobs by submission within one registry.
  Job(std::string job_id, std::string operation, size_t max_events, uint64_t sequence);

  const std::string& id() const { return job_id_; }
  uint64_t sequence() const { return sequence_; }
  contracts::JobInfo info() const;
  // The last `result` event's data, if any.
  std::optional<contracts::Json> result() const;

  // Appends an event and wakes readers. Ignored after the job finished (done is last).
  void append(const std::string& name, const contracts::Json& data);

  // Events with id > after_id, waiting up to `wait` when there are none yet.
  // `finished` tells whether `done` is in the log (nothing will follow the returned events).
  std::vector<StoredEvent> events_after(uint64_t after_id, std::chrono::milliseconds wait,
                                        bool* finished) const;

  // Cancellation: the running operation watches stop_token().
  std::stop_token stop_token() const { return stop_source_.get_token(); }
  bool request_cancel() { return stop_source_.request_stop(); }
  bool cancel_requested() const { return stop_source_.stop_requested(); }

  // State transitions, called by the registry.
  void mark_running();
  // Records the outcome and appends the `done` event.
  void finish(const contracts::Done& done);
  bool finished() const;
  int64_t finished_steady_ms() const;

 private:
  const std::string job_id_;
  const std::string operation_;
  const size_t max_events_;
  const uint64_t sequence_;
  std::stop_source stop_source_;

  mutable std::mutex mu_;
  mutable std::condition_variable changed_;
  // guarded by mu_
  contracts::JobState state_ = contracts::JobState::kQueued;
  int64_t created_ms_ = 0;
  int64_t started_ms_ = 0;
  int64_t finished_ms_ = 0;
  int64_t finished_steady_ms_ = 0;
  std::optional<Error> error_;
  std::optional<contracts::Json> result_;
  std::deque<StoredEvent> events_;  // the newest max_events_ events
  uint64_t next_event_id_ = 1;
};

}  // namespace rbee::jobs
