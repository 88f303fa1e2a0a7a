#include "jobs/job_registry.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>

namespace rbee::jobs {
namespace {

using contracts::JobState;
using contracts::Json;
using namespace std::chrono_literals;

// Reads a job's events until `done`, from after `after_id`.
std::vector<StoredEvent> read_until_done(const Job& job, uint64_t after_id = 0) {
  std::vector<StoredEvent> all;
  auto deadline = std::chrono::steady_clock::now() + 10s;
  while (std::chrono::steady_clock::now() < deadline) {
    bool finished = false;
    auto events = job.events_after(after_id, 100ms, &finished);
    for (auto& event : events) {
      after_id = event.id;
      all.push_back(std::move(event));
    }
    if (finished && events.empty()) break;
  }
  return all;
}

TEST(JobRegistryTest, RunsToCompletionWithNarrationResultAndDone) {
  JobRegistry registry({"tester"});
  auto job = registry.submit("demo", [](JobContext& ctx) -> Status {
    ctx.narrate("demo_start", "Starting the demo");
    ctx.result(Json{{"answer", 42}});
    return ok_status();
  });
  ASSERT_TRUE(job);
  auto events = read_until_done(**job);
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[0].name, "narration");
  auto narration = Json::parse(events[0].data);
  EXPECT_EQ(narration["actor"], "tester");
  EXPECT_EQ(narration["job_id"], (*job)->id());
  EXPECT_GT(narration["ts_ms"].get<int64_t>(), 0);
  EXPECT_EQ(events[1].name, "result");
  EXPECT_EQ(events[2].name, "done");
  EXPECT_EQ(events[2].data, R"({"status":"completed"})");
  EXPECT_EQ((*job)->info().state, JobState::kCompleted);
  EXPECT_EQ((*(*job)->result())["answer"], 42);
  EXPECT_EQ(events[0].id, 1u);
  EXPECT_EQ(events[2].id, 3u);
}

TEST(JobRegistryTest, ErrorFailsTheJobWithTheError) {
  JobRegistry registry({"tester"});
  auto job = registry.submit("demo", [](JobContext&) -> Status {
    return Error{ErrorCode::kNotFound, "no such hive"};
  });
  ASSERT_TRUE(job);
  auto events = read_until_done(**job);
  ASSERT_FALSE(events.empty());
  auto done = Json::parse(events.back().data);
  EXPECT_EQ(done["status"], "failed");
  EXPECT_EQ(done["error"]["code"], "not_found");
  EXPECT_EQ((*job)->info().error->message, "no such hive");
}

TEST(JobRegistryTest, ThrowingOperationFailsInsteadOfCrashing) {
  JobRegistry registry({"tester"});
  auto job =
      registry.submit("demo", [](JobContext&) -> Status { throw std::runtime_error("boom"); });
  ASSERT_TRUE(job);
  read_until_done(**job);
  EXPECT_EQ((*job)->info().state, JobState::kFailed);
}

TEST(JobRegistryTest, CancellationReachesTheOperation) {
  JobRegistry registry({"tester"});
  std::atomic<bool> started{false};
  std::atomic<bool> stopped{false};
  auto job = registry.submit("long", [&](JobContext& ctx) -> Status {
    started = true;
    bool not_cancelled = ctx.wait_for(60s);
    stopped = true;
    return not_cancelled ? ok_status() : Status(JobContext::cancelled_error());
  });
  ASSERT_TRUE(job);
  while (!started) std::this_thread::sleep_for(1ms);
  ASSERT_TRUE(registry.cancel((*job)->id()));
  auto events = read_until_done(**job);
  EXPECT_TRUE(stopped.load());
  EXPECT_EQ(events.back().data, R"({"status":"cancelled"})");
  EXPECT_EQ((*job)->info().state, JobState::kCancelled);
  EXPECT_EQ(registry.n_running(), 0u);
  // A second cancel is refused: the job is over.
  auto again = registry.cancel((*job)->id());
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, ErrorCode::kFailedPrecondition);
}

TEST(JobRegistryTest, CancelUnknownJobIsNotFound) {
  JobRegistry registry({"tester"});
  auto status = registry.cancel("job-nope");
  ASSERT_FALSE(status);
  EXPECT_EQ(status.error().code, ErrorCode::kNotFound);
}

TEST(JobRegistryTest, EventsReplayFromAnyId) {
  JobRegistry registry({"tester"});
  auto job = registry.submit("demo", [](JobContext& ctx) -> Status {
    for (int i = 0; i < 5; ++i) ctx.narrate("step", "step " + std::to_string(i));
    return ok_status();
  });
  ASSERT_TRUE(job);
  auto first = read_until_done(**job);
  auto second = read_until_done(**job);
  ASSERT_EQ(first.size(), 6u);
  ASSERT_EQ(second.size(), 6u);
  EXPECT_EQ(first[3].data, second[3].data);
  auto tail = read_until_done(**job, 3);
  ASSERT_EQ(tail.size(), 3u);
  EXPECT_EQ(tail[0].id, 4u);
}

TEST(JobRegistryTest, EventLogIsBounded) {
  JobRegistryOptions options{"tester"};
  options.max_events_per_job = 10;
  JobRegistry registry(options);
  auto job = registry.submit("chatty", [](JobContext& ctx) -> Status {
    for (int i = 0; i < 100; ++i) ctx.narrate("step", std::to_string(i));
    return ok_status();
  });
  ASSERT_TRUE(job);
  read_until_done(**job);  // the job has ended; a late reader sees what was kept
  auto events = read_until_done(**job);
  ASSERT_EQ(events.size(), 10u);
  EXPECT_EQ(events.front().id, 92u);  // 101 events in all, the newest 10 kept
  EXPECT_EQ(events.back().name, "done");
}

TEST(JobRegistryTest, ProgressIsRateLimitedButTheFinalOneGoesOut) {
  JobRegistry registry({"tester"});
  auto job = registry.submit("p", [](JobContext& ctx) -> Status {
    for (int i = 1; i <= 1000; ++i) ctx.progress({"phase", "", false, i, 1000, 0, -1});
    return ok_status();
  });
  ASSERT_TRUE(job);
  auto events = read_until_done(**job);
  ASSERT_GE(events.size(), 3u);
  EXPECT_LT(events.size(), 20u);
  auto last_progress = Json::parse(events[events.size() - 2].data);
  EXPECT_EQ(last_progress["steps_done"], 1000);
}

TEST(JobRegistryTest, FinishedJobsAreEvictedBeyondTheCountLimit) {
  JobRegistryOptions options{"tester"};
  options.max_finished_jobs = 3;
  JobRegistry registry(options);
  std::vector<std::string> ids;
  for (int i = 0; i < 6; ++i) {
    auto job = registry.submit("quick", [](JobContext&) -> Status { return ok_status(); });
    ASSERT_TRUE(job);
    read_until_done(**job);
    ids.push_back((*job)->id());
  }
  auto listed = registry.list();
  EXPECT_EQ(listed.size(), 3u);
  EXPECT_EQ(registry.find(ids[0]), nullptr);
  EXPECT_NE(registry.find(ids[5]), nullptr);
}

TEST(JobRegistryTest, FinishedJobsAreEvictedAfterRetention) {
  JobRegistryOptions options{"tester"};
  options.retention_s = 0;
  JobRegistry registry(options);
  auto job = registry.submit("quick", [](JobContext&) -> Status { return ok_status(); });
  ASSERT_TRUE(job);
  read_until_done(**job);
  std::string id = (*job)->id();
  EXPECT_TRUE(registry.list().empty());
  EXPECT_EQ(registry.find(id), nullptr);
}

TEST(JobRegistryTest, RunningJobsAreNeverEvicted) {
  JobRegistryOptions options{"tester"};
  options.retention_s = 0;
  JobRegistry registry(options);
  auto job = registry.submit("long", [](JobContext& ctx) -> Status {
    ctx.wait_for(60s);
    return JobContext::cancelled_error();
  });
  ASSERT_TRUE(job);
  EXPECT_EQ(registry.list().size(), 1u);
  EXPECT_NE(registry.find((*job)->id()), nullptr);
  registry.shutdown();
  EXPECT_EQ((*job)->info().state, JobState::kCancelled);
}

TEST(JobRegistryTest, TooManyRunningJobsIsResourceExhausted) {
  JobRegistryOptions options{"tester"};
  options.max_running_jobs = 1;
  JobRegistry registry(options);
  auto first = registry.submit("long", [](JobContext& ctx) -> Status {
    ctx.wait_for(60s);
    return JobContext::cancelled_error();
  });
  ASSERT_TRUE(first);
  auto second = registry.submit("quick", [](JobContext&) -> Status { return ok_status(); });
  ASSERT_FALSE(second);
  EXPECT_EQ(second.error().code, ErrorCode::kResourceExhausted);
}

TEST(JobRegistryTest, NoJobsAfterShutdown) {
  JobRegistry registry({"tester"});
  registry.shutdown();
  auto job = registry.submit("quick", [](JobContext&) -> Status { return ok_status(); });
  ASSERT_FALSE(job);
  EXPECT_EQ(job.error().code, ErrorCode::kUnavailable);
}

}  // namespace
}  // namespace rbee::jobs
