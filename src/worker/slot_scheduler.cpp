#include "worker/slot_scheduler.hpp"

namespace rbee::worker {

GenerationJob::Update GenerationJob::wait(std::chrono::steady_clock::time_point deadline) {
  std::unique_lock lock(mu_);
  changed_.wait_until(lock, deadline, [this] { return !pending_text_.empty() || finished_; });
  Update update;
  update.text = std::move(pending_text_);
  pending_text_.clear();
  update.finished = finished_;
  update.finish_reason = finish_reason_;
  update.error = error_;
  update.n_prompt_tokens = n_prompt_tokens_;
  update.n_completion_tokens = n_generated_;
  return update;
}

void GenerationJob::cancel() {
  std::lock_guard lock(mu_);
  cancelled_ = true;
}

bool GenerationJob::cancelled() const {
  std::lock_guard lock(mu_);
  return cancelled_;
}

bool GenerationJob::finished() const {
  std::lock_guard lock(mu_);
  return finished_;
}

void GenerationJob::push(const SlotStep& step) {
  {
    std::lock_guard lock(mu_);
    pending_text_ += step.text;
    n_generated_ = step.n_generated;
    if (step.done) {
      finished_ = true;
      finish_reason_ = step.finish_reason;
    }
  }
  changed_.notify_all();
}

void GenerationJob::fail(Error error) {
  {
    std::lock_guard lock(mu_);
    if (finished_) return;
    finished_ = true;
    error_ = std::move(error);
  }
  changed_.notify_all();
}

SlotScheduler::SlotScheduler(SlotBackend& backend, SchedulerOptions options)
    : backend_(backend),
      options_(std::move(options)),
      slots_(size_t(backend.n_slots())),
      thread_([this](std::stop_token stop) { loop(stop); }) {}

SlotScheduler::~SlotScheduler() {
  stop();
}

Result<std::shared_ptr<GenerationJob>> SlotScheduler::submit(GenerationRequest request) {
  auto job = std::make_shared<GenerationJob>(int64_t(request.prompt_tokens.size()));
  {
    std::lock_guard lock(mu_);
    if (closed_) {
      return make_error(ErrorCode::kUnavailable, "the worker is shutting down");
    }
    for (auto& slot : slots_) {
      if (!slot.job) {
        slot = Slot{job, std::move(request)};
        work_.notify_all();
        return job;
      }
    }
    if (queue_.size() >= options_.max_queue) {
      return make_error(ErrorCode::kResourceExhausted,
                        "all " + std::to_string(slots_.size()) + " slots are busy and " +
                            std::to_string(queue_.size()) + " requests are waiting; try again");
    }
    queue_.push_back({job, std::move(request)});
  }
  return job;
}

void SlotScheduler::close() {
  std::lock_guard lock(mu_);
  closed_ = true;
}

void SlotScheduler::abort_all(const Error& error) {
  std::deque<Queued> dropped;
  {
    std::lock_guard lock(mu_);
    dropped.swap(queue_);
    for (auto& slot : slots_) {
      if (slot.job) slot.abort = error;
    }
    idle_.notify_all();
  }
  for (auto& queued : dropped) queued.job->fail(error);
  work_.notify_all();
}

bool SlotScheduler::idle_locked() const {
  if (!queue_.empty()) return false;
  for (const auto& slot : slots_) {
    if (slot.job) return false;
  }
  return true;
}

bool SlotScheduler::wait_idle(std::chrono::steady_clock::time_point deadline) {
  std::unique_lock lock(mu_);
  return idle_.wait_until(lock, deadline, [this] { return idle_locked(); });
}

SchedulerStats SlotScheduler::stats() const {
  std::lock_guard lock(mu_);
  SchedulerStats stats;
  stats.slots_total = int(slots_.size());
  for (const auto& slot : slots_) {
    if (slot.job) ++stats.slots_busy;
  }
  for (const auto& queued : queue_) {
    if (!queued.job->cancelled()) ++stats.queue_depth;
  }
  return stats;
}

void SlotScheduler::stop() {
  if (!thread_.joinable()) return;
  thread_.request_stop();
  thread_.join();
  // The thread is gone: whatever it left is ended here.
  const Error stopped{ErrorCode::kUnavailable, "the worker stopped"};
  abort_all(stopped);
  for (int i = 0; i < int(slots_.size()); ++i) {
    std::shared_ptr<GenerationJob> job;
    {
      std::lock_guard lock(mu_);
      job = slots_[size_t(i)].job;
    }
    if (!job) continue;
    JobSummary summary{job->n_prompt_tokens()};
    summary.failed = true;
    release(i, summary);
    job->fail(stopped);
  }
}

void SlotScheduler::admit_locked() {
  std::erase_if(queue_, [](const Queued& queued) { return queued.job->cancelled(); });
  for (auto& slot : slots_) {
    if (queue_.empty()) break;
    if (slot.job) continue;
    slot = Slot{std::move(queue_.front().job), std::move(queue_.front().request)};
    queue_.pop_front();
  }
}

void SlotScheduler::loop(std::stop_token stop) {
  std::vector<int> active;
  std::vector<int> ready;
  while (!stop.stop_requested()) {
    active.clear();
    {
      std::unique_lock lock(mu_);
      work_.wait(lock, stop, [this] {
        for (const auto& slot : slots_) {
          if (slot.job) return true;
        }
        return !queue_.empty();
      });
      if (stop.stop_requested()) return;
      admit_locked();
      for (int i = 0; i < int(slots_.size()); ++i) {
        if (slots_[size_t(i)].job) active.push_back(i);
      }
    }
    // One round: every active slot one step, evaluated together.
    ready.clear();
    for (int index : active) {
      if (ready_slot(index)) ready.push_back(index);
    }
    if (ready.empty()) continue;
    std::vector<Result<SlotStep>> steps = backend_.step_all(ready);
    const auto now = std::chrono::steady_clock::now();
    for (size_t i = 0; i < ready.size(); ++i) finish_step(ready[i], std::move(steps[i]), now);
  }
}

bool SlotScheduler::ready_slot(int index) {
  std::shared_ptr<GenerationJob> job;
  std::optional<Error> abort;
  bool started = false;
  {
    std::lock_guard lock(mu_);
    Slot& slot = slots_[size_t(index)];
    job = slot.job;
    abort = slot.abort;
    started = slot.started;
  }
  // A job learns that it ended only after its slot is free and counted, so that whoever
  // waits for it sees the slot free and the metrics up to date.
  JobSummary summary{job->n_prompt_tokens()};
  if (abort) {
    summary.failed = true;
    release(index, summary);
    job->fail(*abort);
    return false;
  }
  if (job->cancelled()) {
    summary.cancelled = true;
    release(index, summary);
    return false;
  }
  if (started) return true;
  Slot& slot = slots_[size_t(index)];  // only this thread changes a running slot
  Status begun = backend_.begin(index, slot.request);
  slot.request = {};
  if (!begun) {
    summary.failed = true;
    release(index, summary);
    job->fail(begun.error());
    return false;
  }
  std::lock_guard lock(mu_);
  slot.started = true;
  slot.prefilled_at = {};
  return true;
}

void SlotScheduler::finish_step(int index, Result<SlotStep> step,
                                std::chrono::steady_clock::time_point now) {
  Slot& slot = slots_[size_t(index)];  // only this thread changes a running slot
  std::shared_ptr<GenerationJob> job;
  {
    std::lock_guard lock(mu_);
    job = slot.job;
  }
  JobSummary summary{job->n_prompt_tokens()};
  if (!step) {
    summary.failed = true;
    release(index, summary);
    job->fail(step.error());
    return;
  }
  if (slot.prefilled_at == std::chrono::steady_clock::time_point{}) slot.prefilled_at = now;
  if (!step->done) {
    job->push(*step);
    return;
  }
  summary.n_generated = step->n_generated;
  if (step->n_generated > 1) {
    summary.n_decoded = step->n_generated - 1;
    summary.decode_seconds = std::chrono::duration<double>(now - slot.prefilled_at).count();
  }
  release(index, summary);
  job->push(*step);
}

void SlotScheduler::release(int index, const JobSummary& summary) {
  backend_.end(index);
  if (options_.on_finished) options_.on_finished(summary);
  std::lock_guard lock(mu_);
  slots_[size_t(index)] = Slot{};
  if (idle_locked()) idle_.notify_all();
}

}  // namespace rbee::worker
