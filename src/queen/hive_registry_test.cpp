#include "queen/hive_registry.hpp"

#include <gtest/gtest.h>

#include <thread>

namespace rbee::queen {
namespace {

using contracts::Json;

contracts::HiveHeartbeat beat(const std::string& id, int64_t interval_ms) {
  contracts::HiveHeartbeat b;
  b.hive_id = id;
  b.url = "http://127.0.0.1:1";
  b.heartbeat_interval_ms = interval_ms;
  return b;
}

TEST(HiveRegistryTest, FirstBeatRegisters) {
  HiveRegistry registry;
  EXPECT_TRUE(registry.record(beat("a", 1000)));
  EXPECT_FALSE(registry.record(beat("a", 1000)));
  auto entry = registry.get("a");
  ASSERT_TRUE(entry);
  EXPECT_EQ(entry->state, "online");
  EXPECT_GT(entry->last_seen_ms, 0);
  EXPECT_FALSE(registry.get("b"));
}

TEST(HiveRegistryTest, ThreeMissedBeatsMeanUnreachable) {
  HiveRegistry registry;
  registry.record(beat("a", 10));
  std::this_thread::sleep_for(std::chrono::milliseconds(40));  // > 3 intervals of 10 ms
  auto entry = registry.get("a");
  ASSERT_TRUE(entry);
  EXPECT_EQ(entry->state, "unreachable");
  EXPECT_GE(entry->last_seen_ago_ms, 30);
  registry.record(beat("a", 10));
  EXPECT_EQ(registry.get("a")->state, "online");
}

TEST(HiveRegistryTest, ListIsSortedById) {
  HiveRegistry registry;
  registry.record(beat("b", 1000));
  registry.record(beat("a", 1000));
  auto list = registry.list();
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[0].last_beat.hive_id, "a");
  Json json = to_json(list[0]);
  EXPECT_EQ(json["state"], "online");
  EXPECT_TRUE(json.contains("last_seen_ms"));
}

}  // namespace
}  // namespace rbee::queen
