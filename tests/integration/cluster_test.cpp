// Heartbeats, the hive registry, the cluster token and restarts.

#include <gtest/gtest.h>
#include <signal.h>

#include "harness.hpp"
#include "lifecycle/process.hpp"

namespace rbee::integration {
namespace {

using namespace std::chrono_literals;

std::chrono::milliseconds intervals(const RbeeHome& home, double n) {
  return std::chrono::milliseconds(static_cast<int64_t>(home.heartbeat_s() * 1000 * n));
}

Json heartbeat_body(const std::string& hive_id) {
  return {{"hive_id", hive_id},
          {"url", "http://127.0.0.1:1"},
          {"version", "x"},
          {"heartbeat_interval_ms", 1000},
          {"devices", Json::array()}};
}

TEST(ClusterTest, HeartbeatWithoutOrWithWrongTokenIs401AndChangesNothing) {
  RbeeHome home;
  ASSERT_EQ(home.rbee({"queen", "start"}).exit_code, 0);
  for (const std::string& token :
       {std::string(), std::string("wrong-token"), home.cluster_token() + "x"}) {
    http::Client client({home.queen_url(), token, 2, 10});
    auto response = client.post("/v1/hives/heartbeat", heartbeat_body("intruder").dump());
    ASSERT_TRUE(response);
    EXPECT_EQ(response->status, 401) << token;
  }
  EXPECT_EQ(home.hive_state("intruder"), "");
  // The right token registers.
  http::Client trusted({home.queen_url(), home.cluster_token(), 2, 10});
  auto response = trusted.post("/v1/hives/heartbeat", heartbeat_body("friend").dump());
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(home.hive_state("friend"), "online");
}

TEST(ClusterTest, MalformedHeartbeatIs400) {
  RbeeHome home;
  ASSERT_EQ(home.rbee({"queen", "start"}).exit_code, 0);
  http::Client trusted({home.queen_url(), home.cluster_token(), 2, 10});
  auto body = heartbeat_body("bad");
  body["devices"] = "many";
  auto response = trusted.post("/v1/hives/heartbeat", body.dump());
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 400);
  EXPECT_NE(response->body.find("devices"), std::string::npos);
  EXPECT_EQ(home.hive_state("bad"), "");
}

TEST(ClusterTest, ShutdownRequiresTheToken) {
  RbeeHome home;
  ASSERT_EQ(home.rbee({"queen", "start"}).exit_code, 0);
  for (const std::string& url : {home.queen_url(), home.hive_url()}) {
    auto response = http::Client({url, "nope", 2, 10}).post("/v1/shutdown", "{}");
    ASSERT_TRUE(response);
    EXPECT_EQ(response->status, 401);
  }
  EXPECT_NE(home.live_pid("queen-rbee"), 0);
  EXPECT_NE(home.live_pid("rbee-hive"), 0);
}

TEST(ClusterTest, KilledHiveBecomesUnreachableAndComesBack) {
  RbeeHome home;
  ASSERT_EQ(home.rbee({"queen", "start"}).exit_code, 0);
  ASSERT_EQ(home.hive_state("localhost"), "online");
  pid_t hive = home.live_pid("rbee-hive");
  ASSERT_NE(hive, 0);
  ::kill(hive, SIGKILL);
  ASSERT_TRUE(eventually([&] { return !lifecycle::process_alive(hive); }, 5s));
  auto killed_at = std::chrono::steady_clock::now();
  // Three missed beats, plus one interval of slack for the timing of the last beat.
  ASSERT_TRUE(eventually([&] { return home.hive_state("localhost") == "unreachable"; },
                         intervals(home, 4) + 1s));
  EXPECT_LE(std::chrono::steady_clock::now() - killed_at, intervals(home, 4) + 1s);

  // A job for an unreachable hive fails with a clear error.
  auto check = home.rbee({"--queen-url", home.queen_url(), "hive", "check"});
  EXPECT_EQ(check.exit_code, 1);
  EXPECT_NE(check.err.find("unreachable"), std::string::npos) << check.err;

  auto restarted = home.rbee({"hive", "start"});
  ASSERT_EQ(restarted.exit_code, 0) << restarted.err;
  EXPECT_EQ(home.hive_state("localhost"), "online");
}

TEST(ClusterTest, RestartedQueenRelearnsTheHiveWithinOneInterval) {
  RbeeHome home(0.5);
  ASSERT_EQ(home.rbee({"queen", "start"}).exit_code, 0);
  pid_t queen = home.live_pid("queen-rbee");
  pid_t hive = home.live_pid("rbee-hive");
  ::kill(queen, SIGKILL);
  ASSERT_TRUE(eventually([&] { return !lifecycle::process_alive(queen); }, 5s));
  // Let the hive notice and back off for a while (its pauses grow to one interval).
  ASSERT_TRUE(eventually(
      [&] {
        auto info = home.hive().get_json("/v1/info");
        return info && (*info)["heartbeat_connected"] == false;
      },
      5s));

  // Start only the queen, straight from its binary, and time how long until it lists the hive.
  RunningCommand new_queen({(bin_dir() / "queen-rbee").string()}, home.env());
  ASSERT_TRUE(eventually([&] { return home.queen().get("/health").has_value(); }, 10s));
  auto queen_up = std::chrono::steady_clock::now();
  ASSERT_TRUE(eventually([&] { return home.hive_state("localhost") == "online"; }, 5s));
  auto relearned_after = std::chrono::steady_clock::now() - queen_up;
  EXPECT_LE(relearned_after, intervals(home, 1) + 300ms)
      << std::chrono::duration_cast<std::chrono::milliseconds>(relearned_after).count() << " ms";
  EXPECT_EQ(home.live_pid("rbee-hive"), hive);  // the same hive process, never restarted

  auto stop =
      http::Client({home.queen_url(), home.cluster_token(), 2, 10}).post("/v1/shutdown", "{}");
  ASSERT_TRUE(stop);
  EXPECT_EQ(stop->status, 202);
  EXPECT_EQ(new_queen.finish(10s).exit_code, 0);
}

}  // namespace
}  // namespace rbee::integration
