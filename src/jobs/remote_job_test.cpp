#include "jobs/remote_job.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <mutex>

#include "http/server.hpp"
#include "http/test_server.hpp"

namespace rbee::jobs {
namespace {

using contracts::Json;

// A stream that drops after two events on the first connection and serves the rest to a
// reconnect, starting after the Last-Event-ID it is given.
class FlakyStream {
 public:
  explicit FlakyStream(http::Server& server) {
    server.route("GET", "/stream", http::Access::kPublic, [this](const http::Request& req) {
      {
        std::lock_guard lock(mu_);
        last_event_ids_.push_back(req.header("Last-Event-ID"));
      }
      int connection = ++connections_;
      http::Response response;
      response.content_type = "text/event-stream";
      response.stream = [connection, after = req.header("Last-Event-ID")](http::StreamSink& sink) {
        int first = after.empty() ? 1 : std::stoi(after) + 1;
        int last = connection == 1 ? 2 : 3;
        for (int id = first; id <= last; ++id) {
          sink.write(
              http::format_sse_event({std::to_string(id), "narration", Json{{"n", id}}.dump()}));
        }
        if (connection > 1)
          sink.write(http::format_sse_event({"4", "done", R"({"status":"completed"})"}));
      };
      return response;
    });
  }

  std::vector<std::string> last_event_ids() {
    std::lock_guard lock(mu_);
    return last_event_ids_;
  }

 private:
  std::atomic<int> connections_{0};
  std::mutex mu_;
  std::vector<std::string> last_event_ids_;
};

TEST(RemoteJobTest, ResumesADroppedStreamWithoutLosingOrRepeatingEvents) {
  http::Server server(http::ServerOptions{"test"});
  FlakyStream stream(server);
  http::testing::RunningServer running(server);
  std::vector<int> seen;
  auto done = follow_remote_job(http::Client({running.url()}), "/stream",
                                [&](const std::string& name, Json& data) {
                                  EXPECT_EQ(name, "narration");
                                  seen.push_back(data["n"]);
                                });
  ASSERT_TRUE(done) << done.error().message;
  EXPECT_EQ(done->status, contracts::JobState::kCompleted);
  EXPECT_EQ(seen, (std::vector<int>{1, 2, 3}));
  EXPECT_EQ(stream.last_event_ids(), (std::vector<std::string>{"", "2"}));
}

TEST(RemoteJobTest, GivesUpWhenThePeerIsGone) {
  auto done = follow_remote_job(
      http::Client({"http://127.0.0.1:1", "", 1, 1}), "/stream", [](const std::string&, Json&) {},
      1);
  ASSERT_FALSE(done);
  EXPECT_EQ(done.error().code, ErrorCode::kUnavailable);
}

}  // namespace
}  // namespace rbee::jobs
