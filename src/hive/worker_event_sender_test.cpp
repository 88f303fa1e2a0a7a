#include "hive/worker_event_sender.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <mutex>

#include "common/files.hpp"
#include "common/test_dir.hpp"
#include "http/server.hpp"
#include "http/test_server.hpp"
#include "lifecycle/process.hpp"

namespace rbee::hive {
namespace {

using namespace std::chrono_literals;
using contracts::Json;

constexpr const char* kToken = "secret-token";

// A queen that takes hive events after refusing the first `n_busy` with 503.
class FakeQueen {
 public:
  explicit FakeQueen(int n_busy) : server_(http::ServerOptions{"queen", 1 << 20, 4, kToken}) {
    server_.route("POST", "/v1/hives/events", http::Access::kClusterToken,
                  [this, n_busy](const http::Request& req) {
                    if (n_calls_++ < n_busy) {
                      return http::json_response(503, Json{{"error", {{"code", "unavailable"}}}});
                    }
                    auto event = contracts::parse_hive_worker_event(Json::parse(req.body));
                    std::lock_guard lock(mu_);
                    if (event) received_.push_back(*event);
                    return http::json_response(200, Json{{"status", "ok"}});
                  });
    running_ = std::make_unique<http::testing::RunningServer>(server_);
  }
  std::string url() const { return running_->url(); }
  std::vector<contracts::HiveWorkerEvent> received() const {
    std::lock_guard lock(mu_);
    return received_;
  }
  int n_calls() const { return n_calls_; }

 private:
  http::Server server_;
  std::atomic<int> n_calls_{0};
  mutable std::mutex mu_;
  std::vector<contracts::HiveWorkerEvent> received_;
  std::unique_ptr<http::testing::RunningServer> running_;
};

contracts::HiveWorkerEvent exited(const std::string& worker_id) {
  contracts::HiveWorkerEvent event;
  event.hive_id = "localhost";
  event.kind = "worker_exited";
  event.worker_id = worker_id;
  event.pid = 99;
  event.signal = 9;
  event.reason = "the worker process killed by signal 9 (SIGKILL)";
  event.last_log_lines = {"loading", "ready"};
  return event;
}

TEST(WorkerEventSenderTest, DeliversInOrderThroughABusyQueen) {
  testing::TestDir dir;
  ASSERT_TRUE(write_file_atomic(dir.path() / "cluster.token", kToken, 0600));
  FakeQueen queen(2);
  WorkerEventSender sender(std::make_shared<QueenLink>(queen.url(), dir.path() / "cluster.token"));
  sender.send(exited("w-1"));
  sender.send(exited("w-2"));
  ASSERT_TRUE(lifecycle::poll_until([&] { return queen.received().size() == 2; }, 10s));
  auto received = queen.received();
  EXPECT_EQ(received[0].worker_id, "w-1");
  EXPECT_EQ(received[1].worker_id, "w-2");
  EXPECT_EQ(received[0].signal, 9);
  EXPECT_EQ(received[0].last_log_lines.size(), 2u);
  EXPECT_EQ(queen.n_calls(), 4);
}

TEST(WorkerEventSenderTest, WaitsForTheTokenAndFlushesAtStop) {
  testing::TestDir dir;
  FakeQueen queen(0);
  WorkerEventSender sender(std::make_shared<QueenLink>(queen.url(), dir.path() / "cluster.token"));
  sender.send(exited("w-early"));
  // No token file yet: nothing can be sent (the queen would refuse it).
  EXPECT_FALSE(lifecycle::poll_until([&] { return queen.n_calls() > 0; }, 300ms));
  ASSERT_TRUE(write_file_atomic(dir.path() / "cluster.token", kToken, 0600));
  sender.stop(5s);
  ASSERT_EQ(queen.received().size(), 1u);
  EXPECT_EQ(queen.received()[0].worker_id, "w-early");
  sender.send(exited("w-late"));  // after stop: dropped, no crash
}

}  // namespace
}  // namespace rbee::hive
