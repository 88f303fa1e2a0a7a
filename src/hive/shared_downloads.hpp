#pragma once

// One transfer per model, however many jobs ask for it. The first job to ask drives the
// transfer on its own thread; later jobs wait for it and see its progress as their own. A job
// that stops waiting (cancelled) leaves the transfer to the others; when the driving job is
// cancelled, a job still waiting takes over and resumes from the partial file.

#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <stop_token>
#include <string>

#include "common/result.hpp"
#include "contracts/job_events.hpp"
#include "jobs/job_context.hpp"

namespace rbee::hive {

class SharedDownloads {
 public:
  using ReportProgress = std::function<void(const contracts::Progress&)>;
  // Does the whole transfer; returns kCancelled when `stop` was requested.
  using Transfer = std::function<Status(std::stop_token stop, const ReportProgress& report)>;

  // Runs `transfer` for `key`, or joins the one already running. Every progress report of the
  // transfer reaches `job` while it waits. Returns the transfer's outcome, or kCancelled when
  // `job` itself was cancelled.
  Status run_or_join(const std::string& key, const Transfer& transfer, jobs::JobContext& job);

  // Whether a transfer for `key` is running now.
  bool active(const std::string& key) const;
  // How many jobs wait on `key` besides the one driving it (for tests and narration).
  int n_waiting(const std::string& key) const;

 private:
  struct Shared {
    std::mutex mu;
    std::condition_variable changed;
    bool finished = false;
    Status outcome;
    contracts::Progress latest;
    uint64_t n_reports = 0;
    int n_waiting = 0;
  };

  Status drive(const std::string& key, const std::shared_ptr<Shared>& shared,
               const Transfer& transfer, jobs::JobContext& job);
  Status wait_for(const std::shared_ptr<Shared>& shared, jobs::JobContext& job);

  mutable std::mutex mu_;
  std::map<std::string, std::shared_ptr<Shared>> running_;
};

}  // namespace rbee::hive
