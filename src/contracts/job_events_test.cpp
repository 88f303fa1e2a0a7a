#include "contracts/job_events.hpp"

#include <gtest/gtest.h>

namespace rbee::contracts {
namespace {

TEST(JobEventsTest, NarrationRoundTrips) {
  Narration narration{"rbee-hive", "hive_check_start", "Checking", "info", 42, "job-1", "attic"};
  Json data = to_json(narration);
  EXPECT_EQ(data["hive_id"], "attic");
  auto parsed = parse_narration(data);
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->human, "Checking");
  EXPECT_EQ(parsed->ts_ms, 42);
}

TEST(JobEventsTest, NarrationWithoutHiveHasNoHiveField) {
  Narration narration{"queen-rbee", "x", "y", "info", 1, "job-1", ""};
  EXPECT_FALSE(to_json(narration).contains("hive_id"));
}

TEST(JobEventsTest, ByteProgressUsesSpecNames) {
  Progress progress{"download", "m.gguf", true, 10, 100, 5.0, 18};
  Json data = to_json(progress);
  EXPECT_EQ(data["bytes_done"], 10);
  EXPECT_EQ(data["bytes_total"], 100);
  EXPECT_EQ(data["bytes_per_s"], 5.0);
  EXPECT_EQ(data["eta_s"], 18);
  auto parsed = parse_progress(data);
  ASSERT_TRUE(parsed);
  EXPECT_TRUE(parsed->in_bytes);
  EXPECT_EQ(parsed->total, 100);
}

TEST(JobEventsTest, StepProgressRoundTrips) {
  Progress progress{"check", "", false, 2, 5, 1.0, -1};
  Json data = to_json(progress);
  EXPECT_FALSE(data.contains("eta_s"));
  auto parsed = parse_progress(data);
  ASSERT_TRUE(parsed);
  EXPECT_FALSE(parsed->in_bytes);
  EXPECT_EQ(parsed->done, 2);
  EXPECT_LT(parsed->eta_s, 0);
}

TEST(JobEventsTest, DoneVariants) {
  EXPECT_EQ(to_json(Done{JobState::kCompleted, std::nullopt}).dump(), R"({"status":"completed"})");
  EXPECT_EQ(to_json(Done{JobState::kCancelled, std::nullopt}).dump(), R"({"status":"cancelled"})");
  Json failed = to_json(Done{JobState::kFailed, Error{ErrorCode::kNotFound, "no hive 'x'"}});
  EXPECT_EQ(failed["error"]["code"], "not_found");
  auto parsed = parse_done(failed);
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->status, JobState::kFailed);
  EXPECT_EQ(parsed->error->message, "no hive 'x'");
  EXPECT_FALSE(parse_done(Json{{"status", "running"}}));
}

TEST(JobEventsTest, JobInfoRoundTrips) {
  JobInfo info{"job-1", "status", JobState::kRunning, 1, 2, 0, std::nullopt, 3};
  auto parsed = parse_job_info(to_json(info));
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->state, JobState::kRunning);
  EXPECT_EQ(parsed->n_events, 3u);
}

TEST(JobEventsTest, ErrorBodyShape) {
  Json body = error_body(Error{ErrorCode::kInvalidArgument, "bad"});
  EXPECT_EQ(body.dump(), R"({"error":{"code":"invalid_argument","message":"bad"}})");
}

}  // namespace
}  // namespace rbee::contracts
