#include "jobs/job_registry.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <tuple>

#include "common/clock.hpp"
#include "common/logging.hpp"
#include "common/random.hpp"

namespace rbee::jobs {

using contracts::Done;
using contracts::JobState;

JobRegistry::JobRegistry(JobRegistryOptions options) : options_(std::move(options)) {}

JobRegistry::~JobRegistry() {
  shutdown();
}

Result<std::shared_ptr<Job>> JobRegistry::submit(const std::string& operation, JobRunner runner) {
  std::lock_guard lock(mu_);
  if (shut_down_) return make_error(ErrorCode::kUnavailable, "shutting down; no new jobs");
  evict_locked();
  if (n_running_ >= options_.max_running_jobs) {
    return make_error(
        ErrorCode::kResourceExhausted,
        "too many jobs running (" + std::to_string(n_running_) + "); try again later");
  }
  auto job = std::make_shared<Job>("job-" + random_uuid(), operation, options_.max_events_per_job,
                                   next_sequence_++);
  jobs_[job->id()] = job;
  ++n_running_;
  threads_[job->id()] =
      std::thread([this, job, runner = std::move(runner)] { run_job(job, runner); });
  return job;
}

void JobRegistry::run_job(const std::shared_ptr<Job>& job, const JobRunner& runner) {
  Done done;
  if (job->cancel_requested()) {
    done.status = JobState::kCancelled;
  } else {
    job->mark_running();
    JobContext context(job, options_.actor);
    Status status = [&]() -> Status {
      try {
        return runner(context);
      } catch (const std::exception& e) {
        logger("jobs")->error("[{}] operation threw: {}", job->id(), e.what());
        return Error{ErrorCode::kInternal, std::string("internal error: ") + e.what()};
      }
    }();
    if (status) {
      done.status = JobState::kCompleted;
    } else if (status.error().code == ErrorCode::kCancelled || job->cancel_requested()) {
      done.status = JobState::kCancelled;
    } else {
      done.status = JobState::kFailed;
      done.error = status.error();
    }
  }
  {
    std::lock_guard lock(mu_);
    --n_running_;
  }
  // Last: once the job reads as finished, evict_locked() may join this thread while holding
  // mu_, so nothing after this line may take mu_.
  job->finish(done);
}

std::shared_ptr<Job> JobRegistry::find(const std::string& job_id) const {
  std::lock_guard lock(mu_);
  auto it = jobs_.find(job_id);
  return it == jobs_.end() ? nullptr : it->second;
}

std::vector<contracts::JobInfo> JobRegistry::list() {
  std::vector<contracts::JobInfo> out;
  {
    std::lock_guard lock(mu_);
    evict_locked();
    for (const auto& [id, job] : jobs_) out.push_back(job->info());
  }
  std::sort(out.begin(), out.end(),
            [](const auto& a, const auto& b) { return a.created_ms > b.created_ms; });
  return out;
}

Status JobRegistry::cancel(const std::string& job_id) {
  auto job = find(job_id);
  if (!job) return make_error(ErrorCode::kNotFound, "no job '" + job_id + "'");
  if (job->finished()) {
    return make_error(ErrorCode::kFailedPrecondition,
                      "job '" + job_id + "' already ended " + to_string(job->info().state));
  }
  job->request_cancel();
  return ok_status();
}

void JobRegistry::shutdown() {
  std::map<std::string, std::thread> threads;
  {
    std::lock_guard lock(mu_);
    shut_down_ = true;
    for (auto& [id, job] : jobs_) job->request_cancel();
    threads.swap(threads_);
  }
  for (auto& [id, thread] : threads) {
    if (thread.joinable()) thread.join();
  }
}

size_t JobRegistry::n_running() const {
  std::lock_guard lock(mu_);
  return n_running_;
}

void JobRegistry::evict_locked() {
  // Join the threads of finished jobs first: their thread function has nothing left to do
  // but return, so the join is immediate.
  for (auto it = threads_.begin(); it != threads_.end();) {
    auto job = jobs_.find(it->first);
    if (job == jobs_.end() || job->second->finished()) {
      if (it->second.joinable()) it->second.join();
      it = threads_.erase(it);
    } else {
      ++it;
    }
  }
  int64_t now = now_steady_ms();
  auto retention_ms = static_cast<int64_t>(options_.retention_s * 1000);
  // (finish time, submission order, id): the oldest finished jobs go first.
  std::vector<std::tuple<int64_t, uint64_t, std::string>> finished;
  for (auto it = jobs_.begin(); it != jobs_.end();) {
    if (it->second->finished()) {
      int64_t finished_at = it->second->finished_steady_ms();
      if (now - finished_at >= retention_ms) {
        it = jobs_.erase(it);
        continue;
      }
      finished.emplace_back(finished_at, it->second->sequence(), it->first);
    }
    ++it;
  }
  if (finished.size() > options_.max_finished_jobs) {
    std::sort(finished.begin(), finished.end());
    size_t excess = finished.size() - options_.max_finished_jobs;
    for (size_t i = 0; i < excess; ++i) jobs_.erase(std::get<2>(finished[i]));
  }
}

}  // namespace rbee::jobs
