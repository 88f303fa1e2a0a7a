// The `rbee` command line against the real queen and hive.

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>

#include "common/files.hpp"
#include "harness.hpp"

namespace rbee::integration {
namespace {

using namespace std::chrono_literals;

TEST(CliTest, StatusOnAnEmptyHomeStartsQueenAndHiveAndShowsTheCpu) {
  RbeeHome home;
  auto result = home.rbee({"--json", "status"});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_NE(result.err.find("started queen-rbee"), std::string::npos) << result.err;
  EXPECT_NE(result.err.find("rbee-hive"), std::string::npos);

  auto status = Json::parse(result.out);
  ASSERT_EQ(status["hives"].size(), 1u) << result.out;
  const auto& hive = status["hives"][0];
  EXPECT_EQ(hive["hive_id"], "localhost");
  EXPECT_EQ(hive["state"], "online");
  EXPECT_EQ(hive["url"], home.hive_url());
  ASSERT_FALSE(hive["devices"].empty());
  EXPECT_EQ(hive["devices"][0]["kind"], "cpu");
  EXPECT_GE(hive["devices"][0]["cores"].get<int>(), 1);
  EXPECT_GT(hive["devices"][0]["ram_total_bytes"].get<int64_t>(), 0);
  EXPECT_TRUE(status["workers"].is_array());
  EXPECT_NE(home.live_pid("queen-rbee"), 0);
  EXPECT_NE(home.live_pid("rbee-hive"), 0);

  // The token the queen made is private to the user.
  struct stat info {};
  ASSERT_EQ(::stat((home.config_dir() / "cluster.token").c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0600u);

  // A second command finds both running and starts nothing.
  auto again = home.rbee({"status", "--json"});
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_EQ(again.err.find("started"), std::string::npos) << again.err;
  EXPECT_EQ(Json::parse(again.out)["hives"].size(), 1u);
}

TEST(CliTest, HumanStatusNamesTheHiveAndItsCpu) {
  RbeeHome home;
  auto result = home.rbee({"status"});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_NE(result.out.find("localhost"), std::string::npos) << result.out;
  EXPECT_NE(result.out.find("online"), std::string::npos);
  EXPECT_NE(result.out.find("cores"), std::string::npos);
}

TEST(CliTest, QueenAndHiveStartStatusStop) {
  RbeeHome home;
  auto start = home.rbee({"queen", "start"});
  ASSERT_EQ(start.exit_code, 0) << start.err;
  EXPECT_NE(start.out.find("is running at " + home.queen_url()), std::string::npos) << start.out;
  pid_t queen_pid = home.live_pid("queen-rbee");
  ASSERT_NE(queen_pid, 0);

  auto hive_stop = home.rbee({"hive", "stop"});
  ASSERT_EQ(hive_stop.exit_code, 0) << hive_stop.err;
  EXPECT_EQ(home.live_pid("rbee-hive"), 0);

  auto hive_start = home.rbee({"hive", "start"});
  ASSERT_EQ(hive_start.exit_code, 0) << hive_start.err;
  pid_t hive_pid = home.live_pid("rbee-hive");
  EXPECT_NE(hive_pid, 0);
  // Started once, and it is the hive that answers.
  EXPECT_EQ(hive_start.err.find("started"), hive_start.err.rfind("started")) << hive_start.err;
  EXPECT_EQ((*home.hive().get_json("/v1/info"))["hive_id"], "localhost");
  EXPECT_EQ(home.live_pid("queen-rbee"), queen_pid);  // the queen was left alone

  auto stop = home.rbee({"queen", "stop"});
  ASSERT_EQ(stop.exit_code, 0) << stop.err;
  EXPECT_EQ(home.live_pid("queen-rbee"), 0);
  auto status = home.rbee({"queen", "status"});
  EXPECT_EQ(status.exit_code, 3);
  EXPECT_NE(status.out.find("not running"), std::string::npos);

  auto stop_again = home.rbee({"queen", "stop", "--json"});
  ASSERT_EQ(stop_again.exit_code, 0);
  EXPECT_EQ(Json::parse(stop_again.out)["was_running"], false);

  auto stop_all = home.rbee({"stop"});
  ASSERT_EQ(stop_all.exit_code, 0) << stop_all.err;
  EXPECT_EQ(home.live_pid("rbee-hive"), 0);
}

TEST(CliTest, HiveCheckRunsOnTheHiveThroughTheQueen) {
  RbeeHome home;
  auto result = home.rbee({"hive", "check"});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_NE(result.out.find("[rbee-hive@localhost]"), std::string::npos) << result.out;
  EXPECT_NE(result.out.find("queen_reachable"), std::string::npos);

  auto json = home.rbee({"hive", "check", "--json"});
  ASSERT_EQ(json.exit_code, 0) << json.err;
  auto check = Json::parse(json.out);
  EXPECT_EQ(check["hive_id"], "localhost");
  EXPECT_EQ(check["checks"].size(), 3u);
}

TEST(CliTest, CheckOnAnUnknownHiveFailsClearly) {
  RbeeHome home;
  auto result = home.rbee({"hive", "check", "--hive", "attic"});
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_NE(result.err.find("unknown hive 'attic'"), std::string::npos) << result.err;
}

TEST(CliTest, BadConfigNamesTheLine) {
  RbeeHome home;
  ASSERT_TRUE(
      write_file_atomic(home.config_dir() / "config.toml", "[queen]\nport = 1\nport = 2\n"));
  auto result = home.rbee({"status"});
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_NE(result.err.find("config.toml:3"), std::string::npos) << result.err;
  EXPECT_EQ(home.live_pid("queen-rbee"), 0);
}

TEST(CliTest, UnreachableExplicitQueenIsAnErrorNotAStart) {
  RbeeHome home;
  auto result =
      home.rbee({"--queen-url", "http://127.0.0.1:" + std::to_string(free_port()), "status"});
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_NE(result.err.find("cannot reach"), std::string::npos) << result.err;
  EXPECT_EQ(home.live_pid("queen-rbee"), 0);
}

TEST(CliTest, CtrlCCancelsTheJobOnTheServer) {
  RbeeHome home;
  ASSERT_EQ(home.rbee({"queen", "start"}).exit_code, 0);
  auto command = home.start_rbee({"hive", "check", "--duration", "60"});
  ASSERT_TRUE(command->wait_for_output("1/60", 20s));  // the hive is running the check
  command->send_signal(SIGINT);
  auto result = command->finish(20s);
  EXPECT_EQ(result.exit_code, 130) << result.out << result.err;
  EXPECT_NE(result.err.find("cancelled"), std::string::npos) << result.err;

  // The queen's job and the hive's job both ended cancelled.
  auto queen_jobs = home.queen().get_json("/v1/jobs");
  ASSERT_TRUE(queen_jobs);
  bool found = false;
  for (const auto& job : (*queen_jobs)["jobs"]) {
    if (job["operation"] == "hive_check") {
      EXPECT_EQ(job["state"], "cancelled");
      found = true;
    }
  }
  EXPECT_TRUE(found);
  EXPECT_TRUE(eventually(
      [&] {
        auto hive_jobs = home.hive().get_json("/v1/jobs");
        return hive_jobs && (*hive_jobs)["jobs"].size() == 1 &&
               (*hive_jobs)["jobs"][0]["state"] == "cancelled";
      },
      10s));
}

}  // namespace
}  // namespace rbee::integration

namespace rbee::integration {
namespace {

TEST(CliTest, HiveAddAndRemoveEditHivesTomlAndTheQueenListsThem) {
  RbeeHome home;
  auto added = home.rbee(
      {"hive", "add", "gpu-box", "--host", "192.168.50.7", "--user", "rbee", "--ssh-port", "2222"});
  ASSERT_EQ(added.exit_code, 0) << added.err;
  auto text = read_file(home.config_dir() / "hives.toml");
  ASSERT_TRUE(text);
  EXPECT_NE(text->find("[hives.gpu-box]"), std::string::npos) << *text;
  // A second add of the same alias is refused; a bad host is refused and changes nothing.
  EXPECT_EQ(home.rbee({"hive", "add", "gpu-box", "--host", "10.0.0.1"}).exit_code, 2);
  EXPECT_EQ(home.rbee({"hive", "add", "evil", "--host", "-oProxyCommand=touch /tmp/x"}).exit_code,
            2);
  EXPECT_EQ(*read_file(home.config_dir() / "hives.toml"), *text);

  auto listed = home.rbee({"--json", "hive", "list"});
  ASSERT_EQ(listed.exit_code, 0) << listed.err;
  Json hives = Json::parse(listed.out)["hives"];
  bool found = false;
  for (const auto& hive : hives) {
    if (hive["hive_id"] != "gpu-box") continue;
    found = true;
    EXPECT_EQ(hive["state"], "not running");
    EXPECT_EQ(hive["configured"]["ssh_port"], 2222);
    EXPECT_EQ(hive["configured"]["user"], "rbee");
  }
  EXPECT_TRUE(found) << listed.out;
  auto human = home.rbee({"hive", "list"});
  EXPECT_NE(human.out.find("ssh rbee@192.168.50.7:2222"), std::string::npos) << human.out;

  ASSERT_EQ(home.rbee({"hive", "remove", "gpu-box"}).exit_code, 0);
  EXPECT_EQ(home.rbee({"hive", "remove", "gpu-box"}).exit_code, 1);
  auto after = home.rbee({"--json", "hive", "list"});
  EXPECT_EQ(after.out.find("gpu-box"), std::string::npos) << after.out;
}

TEST(CliTest, BrokenHivesTomlIsAClearErrorWithTheLine) {
  RbeeHome home;
  ASSERT_TRUE(write_file_atomic(home.config_dir() / "hives.toml",
                                "[hives.a]\nhost = \"h\"\nsshport = 22\n"));
  auto added = home.rbee({"hive", "add", "b", "--host", "h2"});
  EXPECT_EQ(added.exit_code, 2);
  EXPECT_NE(added.err.find("hives.toml:3"), std::string::npos) << added.err;
  EXPECT_NE(added.err.find("sshport"), std::string::npos) << added.err;
}

}  // namespace
}  // namespace rbee::integration
