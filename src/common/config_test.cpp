#include "common/config.hpp"

#include <gtest/gtest.h>

#include "common/files.hpp"
#include "common/test_dir.hpp"

namespace rbee {
namespace {

TEST(ConfigTest, EmptyTextGivesDefaults) {
  auto config = parse_config("", "config.toml");
  ASSERT_TRUE(config) << config.error().message;
  EXPECT_EQ(config->queen.port, kDefaultQueenPort);
  EXPECT_EQ(config->hive.port, kDefaultHivePort);
  EXPECT_EQ(config->queen.host, "127.0.0.1");
  EXPECT_DOUBLE_EQ(config->hive.heartbeat_s, 2.0);
  EXPECT_EQ(config->local_queen_url(), "http://127.0.0.1:7833");
}

TEST(ConfigTest, ReadsPortsAndHeartbeat) {
  auto config = parse_config("[queen]\nport = 9000\n[hive]\nport = 9001\nheartbeat_s = 0.5\n", "c");
  ASSERT_TRUE(config) << config.error().message;
  EXPECT_EQ(config->queen.port, 9000);
  EXPECT_EQ(config->hive.port, 9001);
  EXPECT_DOUBLE_EQ(config->hive.heartbeat_s, 0.5);
  EXPECT_EQ(config->local_queen_url(), "http://127.0.0.1:9000");
}

TEST(ConfigTest, ReadsDownloadSettings) {
  auto config = parse_config("[downloads]\nstall_timeout_s = 1.5\nmax_attempts = 3\n", "c");
  ASSERT_TRUE(config) << config.error().message;
  EXPECT_DOUBLE_EQ(config->downloads.stall_timeout_s, 1.5);
  EXPECT_EQ(config->downloads.max_attempts, 3);
  EXPECT_EQ(config->downloads.hf_endpoint, "");
  auto mirror = parse_config("[downloads]\nhf_endpoint = \"http://10.0.0.1:8080\"\n", "c");
  ASSERT_TRUE(mirror) << mirror.error().message;
  EXPECT_EQ(mirror->downloads.hf_endpoint, "http://10.0.0.1:8080");
  auto not_url = parse_config("[downloads]\nhf_endpoint = \"hub.local\"\n", "c");
  ASSERT_FALSE(not_url);
  EXPECT_NE(not_url.error().message.find("downloads.hf_endpoint"), std::string::npos);
  auto bad = parse_config("[downloads]\nmax_attempts = 0\n", "c");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("downloads.max_attempts"), std::string::npos);
  auto unknown = parse_config("[downloads]\nretries = 2\n", "c");
  ASSERT_FALSE(unknown);
  EXPECT_NE(unknown.error().message.find("retries"), std::string::npos);
}

TEST(ConfigTest, ReadsWorkerAndSchedulerSettings) {
  auto config = parse_config(
      "[workers]\nport_min = 9500\nport_max = 9510\nready_timeout_s = 20\n"
      "[scheduler]\nidle_retire_s = 60\nmax_queue_per_model = 4\ndefault_parallel = 3\n",
      "config.toml");
  ASSERT_TRUE(config) << config.error().message;
  EXPECT_EQ(config->workers.port_min, 9500);
  EXPECT_EQ(config->workers.port_max, 9510);
  EXPECT_EQ(config->workers.ready_timeout_s, 20);
  EXPECT_TRUE(config->workers.repack_weights);
  EXPECT_EQ(config->scheduler.idle_retire_s, 60);
  EXPECT_EQ(config->scheduler.max_queue_per_model, 4);
  EXPECT_EQ(config->scheduler.default_parallel, 3);

  auto no_repack = parse_config("[workers]\nrepack_weights = false\n", "config.toml");
  ASSERT_TRUE(no_repack) << no_repack.error().message;
  EXPECT_FALSE(no_repack->workers.repack_weights);
  auto not_bool = parse_config("[workers]\nrepack_weights = \"no\"\n", "config.toml");
  ASSERT_FALSE(not_bool);
  EXPECT_NE(not_bool.error().message.find("'workers.repack_weights' must be true or false"),
            std::string::npos)
      << not_bool.error().message;

  auto reversed = parse_config("[workers]\nport_min = 9600\nport_max = 9500\n", "config.toml");
  ASSERT_FALSE(reversed);
  EXPECT_NE(reversed.error().message.find("port_min"), std::string::npos);
}

TEST(ConfigTest, IntegerHeartbeatIsAccepted) {
  auto config = parse_config("[hive]\nheartbeat_s = 3\n", "c");
  ASSERT_TRUE(config);
  EXPECT_DOUBLE_EQ(config->hive.heartbeat_s, 3.0);
}

TEST(ConfigTest, SyntaxErrorNamesTheLine) {
  auto config = parse_config("[queen]\nport = 9000\nport = = 1\n", "my.toml");
  ASSERT_FALSE(config);
  EXPECT_EQ(config.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(config.error().message.find("my.toml:3"), std::string::npos) << config.error().message;
}

TEST(ConfigTest, WrongTypeNamesKeyAndLine) {
  auto config = parse_config("\n[hive]\nport = \"eighty\"\n", "c.toml");
  ASSERT_FALSE(config);
  EXPECT_NE(config.error().message.find("c.toml:3"), std::string::npos) << config.error().message;
  EXPECT_NE(config.error().message.find("hive.port"), std::string::npos);
}

TEST(ConfigTest, UnknownKeyIsAnError) {
  auto config = parse_config("[queen]\nprot = 1\n", "c.toml");
  ASSERT_FALSE(config);
  EXPECT_NE(config.error().message.find("queen.prot"), std::string::npos) << config.error().message;
  EXPECT_NE(config.error().message.find("c.toml:2"), std::string::npos);
}

TEST(ConfigTest, UnknownSectionIsAnError) {
  auto config = parse_config("[quen]\nport = 1\n", "c.toml");
  ASSERT_FALSE(config);
  EXPECT_NE(config.error().message.find("quen"), std::string::npos);
}

TEST(ConfigTest, OutOfRangePortIsRejected) {
  auto config = parse_config("[queen]\nport = 70000\n", "c.toml");
  ASSERT_FALSE(config);
  EXPECT_NE(config.error().message.find("queen.port"), std::string::npos);
}

TEST(ConfigTest, MissingFileMeansDefaults) {
  testing::TestDir dir;
  auto config = load_config(dir.path() / "config.toml");
  ASSERT_TRUE(config);
  EXPECT_EQ(config->queen.port, kDefaultQueenPort);
}

TEST(ConfigTest, LoadsFileFromDisk) {
  testing::TestDir dir;
  ASSERT_TRUE(write_file_atomic(dir.path() / "config.toml", "[hive]\nhive_id = \"attic\"\n"));
  auto config = load_config(dir.path() / "config.toml");
  ASSERT_TRUE(config);
  EXPECT_EQ(config->hive.hive_id, "attic");
}

}  // namespace
}  // namespace rbee

namespace rbee {
namespace {

TEST(HivesFileTest, RoundTripsEveryField) {
  RemoteHiveConfig gpu;
  gpu.alias = "gpu-box";
  gpu.host = "192.168.1.20";
  gpu.user = "rbee";
  gpu.ssh_port = 2222;
  gpu.identity_file = "/home/me/.ssh/id \"rbee\"";
  gpu.hive_port = 7836;
  gpu.queen_url = "http://192.168.1.10:7833";
  RemoteHiveConfig laptop;
  laptop.alias = "laptop";
  laptop.host = "laptop.local";
  auto parsed = parse_hives_file(format_hives_file({laptop, gpu}), "hives.toml");
  ASSERT_TRUE(parsed) << parsed.error().message;
  ASSERT_EQ(parsed->size(), 2u);
  const auto& first = (*parsed)[0];  // sorted by alias
  EXPECT_EQ(first.alias, "gpu-box");
  EXPECT_EQ(first.user, "rbee");
  EXPECT_EQ(first.ssh_port, 2222);
  EXPECT_EQ(first.identity_file, gpu.identity_file);
  EXPECT_EQ(first.hive_port, 7836);
  EXPECT_EQ(first.queen_url, gpu.queen_url);
  EXPECT_EQ((*parsed)[1].ssh_port, 22);
  EXPECT_EQ((*parsed)[1].hive_port, kDefaultHivePort);
}

TEST(HivesFileTest, MistakesNameTheLine) {
  auto unknown = parse_hives_file("[hives.a]\nhost = \"h\"\nport = 1\n", "hives.toml");
  ASSERT_FALSE(unknown);
  EXPECT_NE(unknown.error().message.find("hives.toml"), std::string::npos);
  EXPECT_NE(unknown.error().message.find("hives.toml:3"), std::string::npos)
      << unknown.error().message;
  for (const char* bad :
       {"[hives.a]\nhost = \"-oProxyCommand=x\"\n", "[hives.a]\nhost = \"a b\"\n",
        "[hives.a]\nhost = \"h\"\nuser = \"-x\"\n", "[hives.a]\nhost = \"h\"\nssh_port = 0\n",
        "[hives.a]\nhost = \"h\"\nqueen_url = \"ftp://q\"\n", "[other]\n", "[hives.a]\n"}) {
    EXPECT_FALSE(parse_hives_file(bad, "hives.toml")) << bad;
  }
}

TEST(HivesFileTest, MissingFileMeansNoRemoteHives) {
  auto hives = load_hives_file("/nonexistent/rbee/hives.toml");
  ASSERT_TRUE(hives) << hives.error().message;
  EXPECT_TRUE(hives->empty());
}

}  // namespace
}  // namespace rbee
