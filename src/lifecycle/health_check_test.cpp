#include "lifecycle/health_check.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <mutex>

#include "http/server.hpp"
#include "http/test_server.hpp"

namespace rbee::lifecycle {
namespace {

using namespace std::chrono_literals;
using contracts::Json;

// A worker's /health: loading for `n_loading` probes (progress rising by a quarter), then ok.
class FakeWorker {
 public:
  explicit FakeWorker(int n_loading) : server_(http::ServerOptions{"fake-worker", 1024, 4, ""}) {
    server_.route("GET", "/health", http::Access::kPublic, [this, n_loading](const http::Request&) {
      int probe = n_probes_++;
      if (n_loading < 0 || probe < n_loading) {
        return http::json_response(503, Json{{"status", "loading"}, {"progress", 0.25 * probe}});
      }
      return http::json_response(200, Json{{"status", "ok"}});
    });
    running_ = std::make_unique<http::testing::RunningServer>(server_);
  }
  std::string url() const { return running_->url(); }
  int n_probes() const { return n_probes_; }

 private:
  http::Server server_;
  std::atomic<int> n_probes_{0};
  std::unique_ptr<http::testing::RunningServer> running_;
};

TEST(HealthCheckTest, WaitsThroughLoadingUntilReady) {
  FakeWorker worker(3);
  std::vector<double> seen;
  HealthWait wait{worker.url(), 10s};
  wait.on_loading = [&](double fraction) { seen.push_back(fraction); };
  auto ready = wait_until_healthy(wait);
  ASSERT_TRUE(ready) << ready.error().message;
  EXPECT_EQ(seen, (std::vector<double>{0.0, 0.25, 0.5}));
  EXPECT_EQ(worker.n_probes(), 4);
  EXPECT_EQ(read_health(worker.url(), 1s).state, HealthReading::State::kReady);
}

TEST(HealthCheckTest, ReadsEachAnswer) {
  FakeWorker worker(1);
  auto loading = read_health(worker.url(), 1s);
  EXPECT_EQ(loading.state, HealthReading::State::kLoading);
  EXPECT_EQ(loading.http_status, 503);
  EXPECT_EQ(read_health(worker.url(), 1s).state, HealthReading::State::kReady);
  // Nothing listens on a port of a stopped server.
  std::string gone_url;
  {
    FakeWorker stopped(0);
    gone_url = stopped.url();
  }
  EXPECT_EQ(read_health(gone_url, 500ms).state, HealthReading::State::kUnreachable);
}

TEST(HealthCheckTest, GivesUpAtTheDeadlineSayingWhatItSaw) {
  FakeWorker worker(-1);  // loads forever
  auto started = std::chrono::steady_clock::now();
  auto ready = wait_until_healthy({worker.url(), 300ms});
  auto took = std::chrono::steady_clock::now() - started;
  ASSERT_FALSE(ready);
  EXPECT_EQ(ready.error().code, ErrorCode::kDeadlineExceeded);
  EXPECT_NE(ready.error().message.find("still loading"), std::string::npos)
      << ready.error().message;
  EXPECT_GE(took, 300ms);
  EXPECT_LT(took, 3s);
  EXPECT_GT(worker.n_probes(), 2);  // it probed with backoff, not once
}

TEST(HealthCheckTest, StopsWhenThePauseSaysSo) {
  FakeWorker worker(-1);
  int n_pauses = 0;
  HealthWait wait{worker.url(), 10s};
  wait.pause = [&](std::chrono::milliseconds) { return ++n_pauses < 3; };
  auto ready = wait_until_healthy(wait);
  ASSERT_FALSE(ready);
  EXPECT_EQ(ready.error().code, ErrorCode::kCancelled);
  EXPECT_EQ(n_pauses, 3);
}

}  // namespace
}  // namespace rbee::lifecycle
