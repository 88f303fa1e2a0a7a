#include "hive/shared_downloads.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <thread>

namespace rbee::hive {
namespace {

using namespace std::chrono_literals;

struct TestJob {
  explicit TestJob(const std::string& id)
      : job(std::make_shared<jobs::Job>(id, "model_download", 4096, 1)), context(job, "test") {}
  int n_progress_events() const {
    bool finished = false;
    int n = 0;
    for (const auto& event : job->events_after(0, 0ms, &finished)) n += event.name == "progress";
    return n;
  }
  std::shared_ptr<jobs::Job> job;
  jobs::JobContext context;
};

// Waits (bounded) until `ready` holds; the tests' only way to order threads.
bool wait_until(const std::function<bool()>& ready) {
  auto deadline = std::chrono::steady_clock::now() + 10s;
  while (!ready()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::yield();
  }
  return true;
}

// A transfer that reports progress until released, then succeeds (or notices `stop`).
struct GatedTransfer {
  std::atomic<int> n_runs{0};
  std::atomic<bool> release{false};
  Status result;

  SharedDownloads::Transfer make() {
    return [this](std::stop_token stop, const SharedDownloads::ReportProgress& report) -> Status {
      ++n_runs;
      int64_t done = 0;
      while (!release) {
        if (stop.stop_requested()) return jobs::JobContext::cancelled_error();
        report({"download", "model.gguf", true, ++done, 1000, 10, 1});
        std::this_thread::sleep_for(1ms);  // pacing of the fake transfer, not a check
      }
      return result;
    };
  }
};

TEST(SharedDownloadsTest, SecondRequestJoinsTheFirstTransfer) {
  SharedDownloads downloads;
  GatedTransfer transfer;
  TestJob first("job-1");
  TestJob second("job-2");
  auto first_outcome = std::async(std::launch::async, [&] {
    return downloads.run_or_join("org/repo:Q8_0", transfer.make(), first.context);
  });
  ASSERT_TRUE(wait_until([&] { return downloads.active("org/repo:Q8_0"); }));
  auto second_outcome = std::async(std::launch::async, [&] {
    return downloads.run_or_join("org/repo:Q8_0", transfer.make(), second.context);
  });
  ASSERT_TRUE(wait_until([&] { return downloads.n_waiting("org/repo:Q8_0") == 1; }));
  ASSERT_TRUE(wait_until([&] { return second.n_progress_events() > 0; }));
  transfer.release = true;
  EXPECT_TRUE(first_outcome.get());
  EXPECT_TRUE(second_outcome.get());
  EXPECT_EQ(transfer.n_runs, 1);
  EXPECT_FALSE(downloads.active("org/repo:Q8_0"));
}

TEST(SharedDownloadsTest, FollowerTakesOverWhenTheDriverIsCancelled) {
  SharedDownloads downloads;
  GatedTransfer transfer;
  TestJob first("job-1");
  TestJob second("job-2");
  auto first_outcome = std::async(std::launch::async, [&] {
    return downloads.run_or_join("m", transfer.make(), first.context);
  });
  ASSERT_TRUE(wait_until([&] { return downloads.active("m"); }));
  auto second_outcome = std::async(std::launch::async, [&] {
    return downloads.run_or_join("m", transfer.make(), second.context);
  });
  ASSERT_TRUE(wait_until([&] { return downloads.n_waiting("m") == 1; }));
  first.job->request_cancel();
  auto first_status = first_outcome.get();
  ASSERT_FALSE(first_status);
  EXPECT_EQ(first_status.error().code, ErrorCode::kCancelled);
  ASSERT_TRUE(wait_until([&] { return transfer.n_runs == 2; }));
  transfer.release = true;
  EXPECT_TRUE(second_outcome.get());
}

TEST(SharedDownloadsTest, CancelledFollowerLeavesTheTransferRunning) {
  SharedDownloads downloads;
  GatedTransfer transfer;
  TestJob first("job-1");
  TestJob second("job-2");
  auto first_outcome = std::async(std::launch::async, [&] {
    return downloads.run_or_join("m", transfer.make(), first.context);
  });
  ASSERT_TRUE(wait_until([&] { return downloads.active("m"); }));
  auto second_outcome = std::async(std::launch::async, [&] {
    return downloads.run_or_join("m", transfer.make(), second.context);
  });
  ASSERT_TRUE(wait_until([&] { return downloads.n_waiting("m") == 1; }));
  second.job->request_cancel();
  auto second_status = second_outcome.get();
  ASSERT_FALSE(second_status);
  EXPECT_EQ(second_status.error().code, ErrorCode::kCancelled);
  EXPECT_TRUE(downloads.active("m"));
  transfer.release = true;
  EXPECT_TRUE(first_outcome.get());
  EXPECT_EQ(transfer.n_runs, 1);
}

TEST(SharedDownloadsTest, FailureReachesEveryWaitingJob) {
  SharedDownloads downloads;
  GatedTransfer transfer;
  transfer.result = Error{ErrorCode::kInvalidArgument, "sha256 mismatch"};
  TestJob first("job-1");
  TestJob second("job-2");
  auto first_outcome = std::async(std::launch::async, [&] {
    return downloads.run_or_join("m", transfer.make(), first.context);
  });
  ASSERT_TRUE(wait_until([&] { return downloads.active("m"); }));
  auto second_outcome = std::async(std::launch::async, [&] {
    return downloads.run_or_join("m", transfer.make(), second.context);
  });
  ASSERT_TRUE(wait_until([&] { return downloads.n_waiting("m") == 1; }));
  transfer.release = true;
  for (auto* outcome : {&first_outcome, &second_outcome}) {
    auto status = outcome->get();
    ASSERT_FALSE(status);
    EXPECT_EQ(status.error().message, "sha256 mismatch");
  }
  EXPECT_EQ(transfer.n_runs, 1);
}

}  // namespace
}  // namespace rbee::hive
