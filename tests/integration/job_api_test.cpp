// The job API on the real queen and hive.

#include <gtest/gtest.h>

#include "harness.hpp"

namespace rbee::integration {
namespace {

using namespace std::chrono_literals;

class JobApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto started = home_.rbee({"queen", "start"});
    ASSERT_EQ(started.exit_code, 0) << started.err;
  }
  RbeeHome home_;
};

TEST_F(JobApiTest, EventsCanBeReadTwiceAndFromTheMiddle) {
  auto queen = home_.queen();
  std::string job_id = submit_job(queen, {{"operation", "hive_check"}});
  auto first = read_events(queen, job_id);
  auto second = read_events(queen, job_id);
  ASSERT_GE(first.size(), 4u);
  ASSERT_EQ(first.size(), second.size());
  for (size_t i = 0; i < first.size(); ++i) {
    EXPECT_EQ(first[i].id, std::to_string(i + 1));
    EXPECT_EQ(first[i].event, second[i].event);
    EXPECT_EQ(first[i].data, second[i].data);
  }
  EXPECT_EQ(first.back().event, "done");
  EXPECT_EQ(Json::parse(first.back().data)["status"], "completed");

  // Relayed hive events carry the hive's id; the result is structured.
  bool saw_result = false;
  for (const auto& event : first) {
    if (event.event == "result") {
      auto data = Json::parse(event.data);
      EXPECT_EQ(data["hive_id"], "localhost");
      EXPECT_TRUE(data["checks"].is_array());
      saw_result = true;
    }
  }
  EXPECT_TRUE(saw_result);

  auto tail = read_events(queen, job_id, "2");
  ASSERT_EQ(tail.size(), first.size() - 2);
  EXPECT_EQ(tail.front().id, "3");
  EXPECT_EQ(tail.front().data, first[2].data);

  auto state = queen.get_json("/v1/jobs/" + job_id);
  ASSERT_TRUE(state);
  EXPECT_EQ((*state)["state"], "completed");
  EXPECT_GT((*state)["finished_ms"].get<int64_t>(), 0);
}

TEST_F(JobApiTest, BadRequestsAreRefusedAndCreateNoJob) {
  auto queen = home_.queen();
  struct Case {
    std::string body;
    int status;
    std::string says;
  };
  std::vector<Case> cases = {
      {R"({"operation": "status")", 400, "malformed JSON"},
      {R"({"operation":"summon_dragon"})", 400, "unknown operation 'summon_dragon'"},
      {R"({"alias":"x"})", 400, "missing field 'operation'"},
      {R"({"operation":"hive_get"})", 400, "missing field 'alias'"},
      {R"({"operation":"hive_check","hive_id":42})", 400, "'hive_id' must be a string"},
      {R"({"operation":"hive_check","hive_id":"../../etc"})", 400, "hive_id"},
      // The queen takes up to 16 MiB (long prompts); beyond it 413.
      {R"({"operation":"status","pad":")" + std::string(17 * 1024 * 1024, 'x') + "\"}", 413, ""},
  };
  for (const auto& c : cases) {
    auto response = queen.post("/v1/jobs", c.body);
    ASSERT_TRUE(response) << response.error().message;
    EXPECT_EQ(response->status, c.status) << c.body.substr(0, 80);
    auto body = Json::parse(response->body, nullptr, false);
    ASSERT_TRUE(body.is_object()) << response->body;
    EXPECT_NE(body["error"]["message"].get<std::string>().find(c.says), std::string::npos)
        << response->body;
  }
  auto jobs = queen.get_json("/v1/jobs");
  ASSERT_TRUE(jobs);
  EXPECT_TRUE((*jobs)["jobs"].empty()) << jobs->dump();
}

TEST_F(JobApiTest, CancelStopsTheRunningOperationOnTheHive) {
  auto queen = home_.queen();
  std::string job_id = submit_job(queen, {{"operation", "hive_check"}, {"duration_s", 60}});
  // Wait until the hive is working on it (its first progress has been relayed).
  ASSERT_TRUE(eventually(
      [&] {
        auto state = queen.get_json("/v1/jobs/" + job_id);
        return state && (*state)["n_events"].get<int>() >= 3;
      },
      20s));
  auto cancelled = queen.del("/v1/jobs/" + job_id);
  ASSERT_TRUE(cancelled);
  EXPECT_EQ(cancelled->status, 202);

  auto events = read_events(queen, job_id);
  ASSERT_FALSE(events.empty());
  EXPECT_EQ(events.back().event, "done");
  EXPECT_EQ(Json::parse(events.back().data), Json({{"status", "cancelled"}}));
  EXPECT_EQ((*queen.get_json("/v1/jobs/" + job_id))["state"], "cancelled");

  // The hive's job stopped too: it is over, well before its 60 s, and nothing runs.
  auto hive = home_.hive();
  ASSERT_TRUE(eventually(
      [&] {
        auto info = hive.get_json("/v1/info");
        return info && (*info)["jobs_running"] == 0;
      },
      10s));
  auto hive_jobs = hive.get_json("/v1/jobs");
  ASSERT_TRUE(hive_jobs);
  ASSERT_EQ((*hive_jobs)["jobs"].size(), 1u);
  const auto& hive_job = (*hive_jobs)["jobs"][0];
  EXPECT_EQ(hive_job["state"], "cancelled");
  int64_t ran_ms = hive_job["finished_ms"].get<int64_t>() - hive_job["started_ms"].get<int64_t>();
  EXPECT_LT(ran_ms, 30000);
  // No event follows `done`, ever: the operation is not still emitting.
  auto hive_events = read_events(hive, hive_job["job_id"]);
  EXPECT_EQ(hive_events.back().event, "done");
}

TEST_F(JobApiTest, HiveJobApiRequiresTheClusterToken) {
  http::Client anonymous({home_.hive_url(), "", 2, 10});
  auto response = anonymous.post("/v1/jobs", R"({"operation":"hive_check"})");
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 401);
  auto jobs = home_.hive().get_json("/v1/jobs");
  ASSERT_TRUE(jobs);
  EXPECT_TRUE((*jobs)["jobs"].empty());
}

TEST_F(JobApiTest, HiveRefusesQueenOperations) {
  auto response = home_.hive().post("/v1/jobs", R"({"operation":"status"})");
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 400);
  EXPECT_NE(response->body.find("runs on the queen"), std::string::npos);
}

}  // namespace
}  // namespace rbee::integration
