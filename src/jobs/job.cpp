#include "jobs/job.hpp"

#include "common/clock.hpp"

namespace rbee::jobs {

using contracts::JobState;

Job::Job(std::string job_id, std::string operation, size_t max_events, uint64_t sequence)
    : job_id_(std::move(job_id)),
      operation_(std::move(operation)),
      max_events_(max_events),
      sequence_(sequence) {
  created_ms_ = now_unix_ms();
}

contracts::JobInfo Job::info() const {
  std::lock_guard lock(mu_);
  return contracts::JobInfo{job_id_,     operation_,   state_, created_ms_,
                            started_ms_, finished_ms_, error_, next_event_id_ - 1};
}

std::optional<contracts::Json> Job::result() const {
  std::lock_guard lock(mu_);
  return result_;
}

void Job::append(const std::string& name, const contracts::Json& data) {
  {
    std::lock_guard lock(mu_);
    if (contracts::is_finished(state_)) return;
    if (name == contracts::kEventResult) result_ = data;
    events_.push_back(StoredEvent{next_event_id_++, name, data.dump()});
    // Keep the newest events; a late reader starts at the oldest one kept.
    while (events_.size() > max_events_) events_.pop_front();
  }
  changed_.notify_all();
}

std::vector<StoredEvent> Job::events_after(uint64_t after_id, std::chrono::milliseconds wait,
                                           bool* finished) const {
  std::unique_lock lock(mu_);
  auto has_news = [&] { return next_event_id_ - 1 > after_id || contracts::is_finished(state_); };
  if (!has_news()) changed_.wait_for(lock, wait, has_news);
  std::vector<StoredEvent> out;
  for (const auto& event : events_) {
    if (event.id > after_id) out.push_back(event);
  }
  *finished = contracts::is_finished(state_);
  return out;
}

void Job::mark_running() {
  std::lock_guard lock(mu_);
  if (state_ == JobState::kQueued) {
    state_ = JobState::kRunning;
    started_ms_ = now_unix_ms();
  }
}

void Job::finish(const contracts::Done& done) {
  {
    std::lock_guard lock(mu_);
    if (contracts::is_finished(state_)) return;
    events_.push_back(StoredEvent{next_event_id_++, contracts::kEventDone, to_json(done).dump()});
    while (events_.size() > max_events_) events_.pop_front();
    state_ = done.status;
    error_ = done.error;
    finished_ms_ = now_unix_ms();
    finished_steady_ms_ = now_steady_ms();
  }
  changed_.notify_all();
}

bool Job::finished() const {
  std::lock_guard lock(mu_);
  return contracts::is_finished(state_);
}

int64_t Job::finished_steady_ms() const {
  std::lock_guard lock(mu_);
  return finished_steady_ms_;
}

}  // namespace rbee::jobs
