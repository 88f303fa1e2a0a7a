#pragma once

// What a running operation sees of its job: narration, progress, results and the
// cancellation token it must check. Used from the job's own thread.

#include <chrono>
#include <map>
#include <memory>
#include <stop_token>
#include <string>

#include "common/result.hpp"
#include "contracts/job_events.hpp"
#include "jobs/job.hpp"

namespace rbee::jobs {

class JobContext {
 public:
  JobContext(std::shared_ptr<Job> job, std::string actor);

  const std::string& job_id() const { return job_->id(); }
  std::stop_token stop_token() const { return job_->stop_token(); }
  bool cancelled() const { return job_->cancel_requested(); }
  // kCancelled, for operations to return once they noticed cancelled().
  static Error cancelled_error();

  // A narration event (and the same line in this program's log).
  void narrate(const std::string& action, const std::string& human,
               const std::string& level = "info");
  // A progress event, at most one per phase every 250 ms (the first and the final one of a
  // phase always go out).
  void progress(const contracts::Progress& progress);
  // The operation's structured result.
  void result(const contracts::Json& data);
  // Any event as is (the queen relays a hive's events this way).
  void emit(const std::string& name, const contracts::Json& data);

  // Waits for `duration` or until the job is cancelled. Returns false when cancelled.
  bool wait_for(std::chrono::milliseconds duration) const;

 private:
  std::shared_ptr<Job> job_;
  std::string actor_;
  std::map<std::string, int64_t> last_progress_ms_;  // per phase
};

}  // namespace rbee::jobs
