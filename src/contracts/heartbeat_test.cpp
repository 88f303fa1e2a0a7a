#include "contracts/heartbeat.hpp"

#include <gtest/gtest.h>

namespace rbee::contracts {
namespace {

HiveHeartbeat sample() {
  HiveHeartbeat beat;
  beat.hive_id = "localhost";
  beat.url = "http://127.0.0.1:7835";
  beat.version = "0.1.0";
  beat.devices.push_back(Device{"cpu", "cpu", "Some CPU", 8, 1000, 500, 0, 0});
  beat.devices.push_back(Device{"cuda:0", "cuda", "Some GPU", 0, 0, 0, 80, 70});
  return beat;
}

TEST(HeartbeatTest, RoundTrips) {
  auto parsed = parse_hive_heartbeat(to_json(sample()));
  ASSERT_TRUE(parsed) << parsed.error().message;
  ASSERT_EQ(parsed->devices.size(), 2u);
  EXPECT_EQ(parsed->devices[0].cores, 8);
  EXPECT_EQ(parsed->devices[1].vram_free_bytes, 70);
  EXPECT_EQ(parsed->url, "http://127.0.0.1:7835");
}

TEST(HeartbeatTest, CpuDeviceHasNoVramFields) {
  Json cpu = to_json(sample().devices[0]);
  EXPECT_TRUE(cpu.contains("ram_total_bytes"));
  EXPECT_FALSE(cpu.contains("vram_total_bytes"));
}

TEST(HeartbeatTest, BadDeviceNamesItsIndex) {
  Json data = to_json(sample());
  data["devices"][1]["kind"] = 3;
  auto parsed = parse_hive_heartbeat(data);
  ASSERT_FALSE(parsed);
  EXPECT_NE(parsed.error().message.find("devices[1].kind"), std::string::npos)
      << parsed.error().message;
}

TEST(HeartbeatTest, MissingHiveIdIsRejected) {
  Json data = to_json(sample());
  data.erase("hive_id");
  auto parsed = parse_hive_heartbeat(data);
  ASSERT_FALSE(parsed);
  EXPECT_NE(parsed.error().message.find("hive_id"), std::string::npos);
}

TEST(HeartbeatTest, NonHttpUrlIsRejected) {
  Json data = to_json(sample());
  data["url"] = "file:///etc/passwd";
  EXPECT_FALSE(parse_hive_heartbeat(data));
}

}  // namespace
}  // namespace rbee::contracts
