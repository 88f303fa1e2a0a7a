#include "jobs/job_routes.hpp"

#include <gtest/gtest.h>

#include <atomic>

#include "http/client.hpp"
#include "http/test_server.hpp"

namespace rbee::jobs {
namespace {

using contracts::Json;
using namespace std::chrono_literals;

// A planner with two operations: "count" narrates n steps, "wait" blocks until cancelled.
class JobRoutesTest : public ::testing::Test {
 protected:
  JobRoutesTest() : server_(http::ServerOptions{"test", 4096, 16, "tok"}), registry_({"tester"}) {
    register_job_routes(
        server_, registry_, http::Access::kPublic, [this](const Json& body) -> Result<PlannedJob> {
          contracts::ObjectReader reader(body, "");
          RBEE_RETURN_IF_ERROR(reader.expect_object());
          std::string operation;
          RBEE_RETURN_IF_ERROR(reader.required_string("operation", operation));
          if (operation == "count") {
            return PlannedJob{"count", [](JobContext& ctx) -> Status {
                                for (int i = 0; i < 5; ++i) ctx.narrate("step", std::to_string(i));
                                ctx.result(Json{{"counted", 5}});
                                return ok_status();
                              }};
          }
          if (operation == "wait") {
            return PlannedJob{"wait", [this](JobContext& ctx) -> Status {
                                waiting_ = true;
                                bool finished = ctx.wait_for(60s);
                                returned_ = true;
                                return finished ? ok_status()
                                                : Status(JobContext::cancelled_error());
                              }};
          }
          return Error{ErrorCode::kInvalidArgument,
                       "field 'operation': unknown operation '" + operation + "'"};
        });
  }

  std::vector<http::SseEvent> stream(const std::string& url, const std::string& job_id,
                                     std::optional<std::string> last_id = std::nullopt) {
    std::vector<http::SseEvent> events;
    auto status = http::Client({url}).stream_events("/v1/jobs/" + job_id + "/stream", last_id,
                                                    [&](http::SseEvent&& event) {
                                                      events.push_back(std::move(event));
                                                      return true;
                                                    });
    EXPECT_TRUE(status) << status.error().message;
    return events;
  }

  http::Server server_;
  JobRegistry registry_;
  std::atomic<bool> waiting_{false};
  std::atomic<bool> returned_{false};
};

TEST_F(JobRoutesTest, SubmitThenStreamTwiceAndFromTheMiddle) {
  http::testing::RunningServer running(server_);
  http::Client client({running.url()});
  auto submitted = client.post("/v1/jobs", R"({"operation":"count"})");
  ASSERT_TRUE(submitted);
  ASSERT_EQ(submitted->status, 202);
  auto body = Json::parse(submitted->body);
  std::string job_id = body["job_id"];
  EXPECT_EQ(job_id.rfind("job-", 0), 0u);
  EXPECT_EQ(body["sse_url"], "/v1/jobs/" + job_id + "/stream");

  auto first = stream(running.url(), job_id);
  auto second = stream(running.url(), job_id);
  ASSERT_EQ(first.size(), 7u);  // 5 narrations, result, done
  ASSERT_EQ(second.size(), 7u);
  for (size_t i = 0; i < first.size(); ++i) {
    EXPECT_EQ(first[i].id, std::to_string(i + 1));
    EXPECT_EQ(first[i].data, second[i].data);
  }
  EXPECT_EQ(first.back().event, "done");

  auto tail = stream(running.url(), job_id, "4");
  ASSERT_EQ(tail.size(), 3u);
  EXPECT_EQ(tail[0].id, "5");

  auto state = client.get_json("/v1/jobs/" + job_id);
  ASSERT_TRUE(state);
  EXPECT_EQ((*state)["state"], "completed");
  EXPECT_EQ((*state)["operation"], "count");
  EXPECT_EQ((*state)["result"]["counted"], 5);
}

TEST_F(JobRoutesTest, BadRequestsCreateNoJob) {
  http::testing::RunningServer running(server_);
  http::Client client({running.url()});
  auto malformed = client.post("/v1/jobs", R"({"operation": )");
  ASSERT_TRUE(malformed);
  EXPECT_EQ(malformed->status, 400);
  EXPECT_NE(malformed->body.find("malformed JSON"), std::string::npos);
  auto unknown = client.post("/v1/jobs", R"({"operation":"fly"})");
  ASSERT_TRUE(unknown);
  EXPECT_EQ(unknown->status, 400);
  EXPECT_NE(unknown->body.find("'operation'"), std::string::npos);
  auto missing = client.post("/v1/jobs", R"({"op":"count"})");
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->status, 400);
  EXPECT_NE(missing->body.find("missing field 'operation'"), std::string::npos);
  auto oversized =
      client.post("/v1/jobs", R"({"operation":"count","pad":")" + std::string(8192, 'x') + "\"}");
  ASSERT_TRUE(oversized);
  EXPECT_EQ(oversized->status, 413);
  EXPECT_TRUE(registry_.list().empty());
}

TEST_F(JobRoutesTest, UnknownJobIs404) {
  http::testing::RunningServer running(server_);
  http::Client client({running.url()});
  std::string missing = "/v1/jobs/job-00000000-0000-4000-8000-000000000000";
  EXPECT_EQ(client.get(missing)->status, 404);
  EXPECT_EQ(client.get(missing + "/stream")->status, 404);
  EXPECT_EQ(client.del(missing)->status, 404);
  EXPECT_EQ(client.get("/v1/jobs/../etc/passwd")->status, 404);
}

TEST_F(JobRoutesTest, DeleteCancelsARunningJob) {
  http::testing::RunningServer running(server_);
  http::Client client({running.url()});
  auto submitted = client.post_json("/v1/jobs", Json{{"operation", "wait"}});
  ASSERT_TRUE(submitted);
  std::string job_id = (*submitted)["job_id"];
  auto deadline = std::chrono::steady_clock::now() + 10s;
  while (!waiting_ && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(1ms);
  ASSERT_TRUE(waiting_.load());

  auto cancelled = client.del("/v1/jobs/" + job_id);
  ASSERT_TRUE(cancelled);
  EXPECT_EQ(cancelled->status, 202);
  auto events = stream(running.url(), job_id);
  ASSERT_FALSE(events.empty());
  EXPECT_EQ(events.back().event, "done");
  EXPECT_EQ(events.back().data, R"({"status":"cancelled"})");
  EXPECT_TRUE(returned_.load());
  EXPECT_EQ((*client.get_json("/v1/jobs/" + job_id))["state"], "cancelled");
  EXPECT_EQ(client.del("/v1/jobs/" + job_id)->status, 409);
}

TEST_F(JobRoutesTest, ListShowsJobs) {
  http::testing::RunningServer running(server_);
  http::Client client({running.url()});
  auto submitted = client.post_json("/v1/jobs", Json{{"operation", "count"}});
  ASSERT_TRUE(submitted);
  auto listed = client.get_json("/v1/jobs");
  ASSERT_TRUE(listed);
  ASSERT_EQ((*listed)["jobs"].size(), 1u);
  EXPECT_EQ((*listed)["jobs"][0]["job_id"], (*submitted)["job_id"]);
}

}  // namespace
}  // namespace rbee::jobs
