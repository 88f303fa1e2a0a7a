#pragma once

// Every job of one program (queen or hive). A job runs on its own thread from submission,
// not from the first subscriber. Finished jobs are evicted after a retention period and
// beyond a count limit, so memory stays bounded.

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/result.hpp"
#include "jobs/job.hpp"
#include "jobs/job_context.hpp"

namespace rbee::jobs {

// The body of an operation. Returns ok when it completed; an error fails the job, and an error
// after cancellation was requested (or kCancelled) ends it `cancelled`.
using JobRunner = std::function<Status(JobContext&)>;

struct JobRegistryOptions {
  std::string actor = "rbee";  // narration actor ("queen-rbee", "rbee-hive")
  double retention_s = 600;    // finished jobs are forgotten after this long
  size_t max_finished_jobs = 1000;
  size_t max_events_per_job = 4096;
  size_t max_running_jobs = 256;
};

class JobRegistry {
 public:
  explicit JobRegistry(JobRegistryOptions options);
  // Cancels running jobs and waits for them.
  ~JobRegistry();
  JobRegistry(const JobRegistry&) = delete;
  JobRegistry& operator=(const JobRegistry&) = delete;

  // Starts a job. kResourceExhausted when max_running_jobs are running; kUnavailable after
  // shutdown().
  Result<std::shared_ptr<Job>> submit(const std::string& operation, JobRunner runner);

  // nullptr when unknown or evicted.
  std::shared_ptr<Job> find(const std::string& job_id) const;
  // Newest first.
  std::vector<contracts::JobInfo> list();

  // Requests cancellation. kNotFound for an unknown job; kFailedPrecondition when it already
  // finished.
  Status cancel(const std::string& job_id);

  // Cancels every running job and waits for their threads. Idempotent.
  void shutdown();

  size_t n_running() const;

 private:
  void run_job(const std::shared_ptr<Job>& job, const JobRunner& runner);
  void evict_locked();

  JobRegistryOptions options_;
  mutable std::mutex mu_;
  // guarded by mu_
  bool shut_down_ = false;
  std::map<std::string, std::shared_ptr<Job>> jobs_;
  std::map<std::string, std::thread> threads_;
  size_t n_running_ = 0;
  uint64_t next_sequence_ = 1;
};

}  // namespace rbee::jobs
