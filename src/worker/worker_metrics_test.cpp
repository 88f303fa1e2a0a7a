#include "worker/worker_metrics.hpp"

#include <gtest/gtest.h>

namespace rbee::worker {
namespace {

bool has_line(const std::string& text, const std::string& line) {
  return text.find("\n" + line + "\n") != std::string::npos || text.rfind(line + "\n", 0) == 0;
}

TEST(WorkerMetricsTest, CountsRequestsByStatusClass) {
  WorkerMetrics metrics;
  metrics.count_request(200);
  metrics.count_request(200);
  metrics.count_request(400);
  metrics.count_request(429);
  metrics.count_request(503);
  EXPECT_EQ(metrics.requests_total(), 5);
  std::string text = metrics.prometheus_text({2, 1, 3});
  EXPECT_TRUE(has_line(text, "rbee_worker_requests_total{status=\"2xx\"} 2")) << text;
  EXPECT_TRUE(has_line(text, "rbee_worker_requests_total{status=\"4xx\"} 2")) << text;
  EXPECT_TRUE(has_line(text, "rbee_worker_requests_total{status=\"5xx\"} 1")) << text;
  EXPECT_TRUE(has_line(text, "rbee_worker_slots_total 2")) << text;
  EXPECT_TRUE(has_line(text, "rbee_worker_slots_busy 1")) << text;
  EXPECT_TRUE(has_line(text, "rbee_worker_queue_depth 3")) << text;
}

TEST(WorkerMetricsTest, TokensAndRate) {
  WorkerMetrics metrics;
  EXPECT_EQ(metrics.tokens_per_second(), 0);
  JobSummary first{5};
  first.n_generated = 11;
  first.n_decoded = 10;
  first.decode_seconds = 1;
  metrics.record_job(first);
  JobSummary second{3};
  second.n_generated = 31;
  second.n_decoded = 30;
  second.decode_seconds = 1;
  metrics.record_job(second);
  JobSummary cancelled{7};  // ended before its first token: no rate sample
  cancelled.cancelled = true;
  metrics.record_job(cancelled);
  EXPECT_DOUBLE_EQ(metrics.tokens_per_second(), 20);
  std::string text = metrics.prometheus_text({});
  EXPECT_TRUE(has_line(text, "rbee_worker_prompt_tokens_total 15")) << text;
  EXPECT_TRUE(has_line(text, "rbee_worker_generated_tokens_total 42")) << text;
  EXPECT_TRUE(has_line(text, "rbee_worker_tokens_per_second 20.000")) << text;
}

TEST(WorkerMetricsTest, EveryFamilyHasHelpAndType) {
  std::string text = WorkerMetrics().prometheus_text({});
  for (const char* family :
       {"rbee_worker_requests_total", "rbee_worker_prompt_tokens_total",
        "rbee_worker_generated_tokens_total", "rbee_worker_tokens_per_second",
        "rbee_worker_slots_busy", "rbee_worker_slots_total", "rbee_worker_queue_depth"}) {
    EXPECT_NE(text.find(std::string("# HELP ") + family + " "), std::string::npos) << family;
    EXPECT_NE(text.find(std::string("# TYPE ") + family + " "), std::string::npos) << family;
  }
}

TEST(WorkerMetricsTest, RateLooksAtRecentRequestsOnly) {
  WorkerMetrics metrics;
  JobSummary slow{1};
  slow.n_decoded = 1;
  slow.decode_seconds = 1;
  metrics.record_job(slow);
  JobSummary fast{1};
  fast.n_decoded = 100;
  fast.decode_seconds = 1;
  for (size_t i = 0; i < WorkerMetrics::kRateWindow; ++i) metrics.record_job(fast);
  EXPECT_DOUBLE_EQ(metrics.tokens_per_second(), 100);
}

}  // namespace
}  // namespace rbee::worker
