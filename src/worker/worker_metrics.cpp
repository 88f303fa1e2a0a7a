#include "worker/worker_metrics.hpp"

#include <fmt/format.h>

namespace rbee::worker {

void WorkerMetrics::count_request(int http_status) {
  std::lock_guard lock(mu_);
  if (http_status >= 500) {
    ++requests_5xx_;
  } else if (http_status >= 400) {
    ++requests_4xx_;
  } else {
    ++requests_2xx_;
  }
}

void WorkerMetrics::record_job(const JobSummary& summary) {
  std::lock_guard lock(mu_);
  prompt_tokens_ += summary.n_prompt_tokens;
  generated_tokens_ += summary.n_generated;
  if (summary.n_decoded > 0 && summary.decode_seconds > 0) {
    recent_.emplace_back(summary.n_decoded, summary.decode_seconds);
    if (recent_.size() > kRateWindow) recent_.pop_front();
  }
}

int64_t WorkerMetrics::requests_total() const {
  std::lock_guard lock(mu_);
  return requests_2xx_ + requests_4xx_ + requests_5xx_;
}

double WorkerMetrics::tokens_per_second() const {
  std::lock_guard lock(mu_);
  int64_t tokens = 0;
  double seconds = 0;
  for (const auto& [n, s] : recent_) {
    tokens += n;
    seconds += s;
  }
  return seconds > 0 ? double(tokens) / seconds : 0;
}

std::string WorkerMetrics::prometheus_text(const SchedulerStats& stats) const {
  const double rate = tokens_per_second();
  std::lock_guard lock(mu_);
  std::string out;
  auto family = [&out](const char* name, const char* type, const char* help) {
    out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
  };
  family("rbee_worker_requests_total", "counter",
         "Inference requests answered, by HTTP status class.");
  for (auto [status, count] : {std::pair{"2xx", requests_2xx_}, std::pair{"4xx", requests_4xx_},
                               std::pair{"5xx", requests_5xx_}}) {
    out += fmt::format("rbee_worker_requests_total{{status=\"{}\"}} {}\n", status, count);
  }
  family("rbee_worker_prompt_tokens_total", "counter", "Prompt tokens evaluated.");
  out += fmt::format("rbee_worker_prompt_tokens_total {}\n", prompt_tokens_);
  family("rbee_worker_generated_tokens_total", "counter", "Tokens generated.");
  out += fmt::format("rbee_worker_generated_tokens_total {}\n", generated_tokens_);
  family("rbee_worker_tokens_per_second", "gauge",
         "Generation rate per request over the recent requests (tokens per second).");
  out += fmt::format("rbee_worker_tokens_per_second {:.3f}\n", rate);
  family("rbee_worker_slots_busy", "gauge", "Slots running a request.");
  out += fmt::format("rbee_worker_slots_busy {}\n", stats.slots_busy);
  family("rbee_worker_slots_total", "gauge", "Slots (parallel sequences).");
  out += fmt::format("rbee_worker_slots_total {}\n", stats.slots_total);
  family("rbee_worker_queue_depth", "gauge", "Requests waiting for a slot.");
  out += fmt::format("rbee_worker_queue_depth {}\n", stats.queue_depth);
  return out;
}

}  // namespace rbee::worker
