#pragma once

// The worker's counters and their Prometheus text exposition (format 0.0.4) for
// `GET /metrics`. Thread-safe.

#include <cstdint>
#include <deque>
#include <mutex>
#include <string>

#include "worker/slot_scheduler.hpp"

namespace rbee::worker {

class WorkerMetrics {
 public:
  // How many finished requests the generation rate looks back on.
  static constexpr size_t kRateWindow = 32;

  // An answered inference request (its HTTP status).
  void count_request(int http_status);
  // A request that ran in a slot (from the scheduler).
  void record_job(const JobSummary& summary);

  int64_t requests_total() const;
  // Generated tokens per second over the recent requests (0 before any).
  double tokens_per_second() const;

  // The exposition text; the gauges are the caller's current values.
  std::string prometheus_text(const SchedulerStats& stats) const;

 private:
  mutable std::mutex mu_;
  // guarded by mu_
  int64_t requests_2xx_ = 0;
  int64_t requests_4xx_ = 0;
  int64_t requests_5xx_ = 0;
  int64_t prompt_tokens_ = 0;
  int64_t generated_tokens_ = 0;
  std::deque<std::pair<int64_t, double>> recent_;  // (decoded tokens, seconds)
};

}  // namespace rbee::worker
