#include "queen/worker_registry.hpp"

#include <gtest/gtest.h>

#include <atomic>

namespace rbee::queen {
namespace {

contracts::WorkerHeartbeat beat(const std::string& id, const std::string& model, int64_t slots,
                                const std::string& state = "ready") {
  contracts::WorkerHeartbeat b;
  b.worker_id = id;
  b.hive_id = "localhost";
  b.url = "http://127.0.0.1:9100";
  b.model = model;
  b.state = state;
  b.slots_total = slots;
  b.pid = 100;
  b.heartbeat_interval_ms = 60000;
  return b;
}

TEST(ModelMatchesTest, RepositoryNamesEveryQuantButAQuantOnlyItself) {
  EXPECT_TRUE(model_matches("org/repo", "org/repo:Q4_K_M"));
  EXPECT_TRUE(model_matches("org/repo:Q4_K_M", "org/repo:Q4_K_M"));
  EXPECT_FALSE(model_matches("org/repo:Q8_0", "org/repo:Q4_K_M"));
  EXPECT_FALSE(model_matches("org/rep", "org/repo:Q4_K_M"));
  EXPECT_FALSE(model_matches("org/repo", "org/repo2:Q4_K_M"));
}

TEST(WorkerRegistryTest, AcquiresLeastLoadedAndRespectsSlots) {
  WorkerRegistry registry;
  registry.record(beat("a", "m:Q8_0", 2));
  registry.record(beat("b", "m:Q8_0", 2));
  WorkerFilter filter{"m", "", "", {}};
  auto first = registry.try_acquire(filter);
  auto second = registry.try_acquire(filter);
  ASSERT_TRUE(first && second);
  EXPECT_NE(first->beat.worker_id, second->beat.worker_id);  // spread, not stacked
  EXPECT_TRUE(registry.try_acquire(filter));
  EXPECT_TRUE(registry.try_acquire(filter));
  EXPECT_FALSE(registry.try_acquire(filter));  // 4 slots, 4 taken
  EXPECT_EQ(registry.get("a")->state, "busy");
  registry.release("a");
  auto again = registry.try_acquire(filter);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->beat.worker_id, "a");
}

TEST(WorkerRegistryTest, OnlyMatchingModelsAndFilters) {
  WorkerRegistry registry;
  registry.record(beat("a", "x:Q8_0", 1));
  EXPECT_FALSE(registry.try_acquire({"y", "", "", {}}));
  EXPECT_FALSE(registry.try_acquire({"x", "other-hive", "", {}}));
  EXPECT_FALSE(registry.try_acquire({"x", "", "", {"a"}}));
  EXPECT_TRUE(registry.try_acquire({"x", "localhost", "a", {}}));
}

TEST(WorkerRegistryTest, DeadWorkerStopsBeingRoutableAndLateBeatsDoNotRevive) {
  WorkerRegistry registry;
  registry.record(beat("a", "m", 1));
  registry.mark_gone("a", "failed", "killed by signal 9");
  EXPECT_FALSE(registry.has_candidate({"m", "", "", {}}));
  EXPECT_FALSE(registry.try_acquire({"m", "", "", {}}));
  registry.record(beat("a", "m", 1));  // same pid: in flight when it died
  EXPECT_EQ(registry.get("a")->state, "failed");
  EXPECT_EQ(registry.get("a")->reason, "killed by signal 9");
  auto restarted = beat("a", "m", 1);
  restarted.pid = 101;
  registry.record(restarted);
  EXPECT_EQ(registry.get("a")->state, "ready");
}

TEST(WorkerRegistryTest, LoadingWorkerIsACandidateButNotRoutable) {
  WorkerRegistry registry;
  registry.record(beat("a", "m", 1, "loading"));
  EXPECT_TRUE(registry.has_candidate({"m", "", "", {}}));
  EXPECT_FALSE(registry.try_acquire({"m", "", "", {}}));
}

TEST(WorkerRegistryTest, DrainingWorkerTakesNoNewRequests) {
  WorkerRegistry registry;
  registry.record(beat("a", "m", 2));
  registry.mark_draining("a");
  EXPECT_FALSE(registry.try_acquire({"m", "", "", {}}));
  EXPECT_EQ(registry.get("a")->state, "draining");
}

TEST(WorkerRegistryTest, AliasesNameTheServedModel) {
  WorkerRegistry registry;
  registry.record(beat("a", "local:tiny", 1));
  EXPECT_FALSE(registry.try_acquire({"/models/tiny.gguf", "", "", {}}));
  registry.add_alias("/models/tiny.gguf", "local:tiny");
  EXPECT_TRUE(registry.try_acquire({"/models/tiny.gguf", "", "", {}}));
}

TEST(WorkerRegistryTest, MissedBeatsMakeAWorkerUnreachable) {
  WorkerRegistry registry;
  auto quick = beat("a", "m", 1);
  quick.heartbeat_interval_ms = 10;
  registry.record(quick);
  uint64_t seen = registry.change_count();
  // Nothing changes by itself; the view ages: after three intervals it is unreachable.
  registry.wait_for_change(seen, std::chrono::milliseconds(60));
  EXPECT_EQ(registry.get("a")->state, "unreachable");
  EXPECT_FALSE(registry.try_acquire({"m", "", "", {}}));
}

TEST(WorkerRegistryTest, WorkersOfAnUnreachableHiveAreNotRoutableUntilItReturns) {
  std::atomic<bool> lost{false};
  WorkerRegistry registry([&](const std::string& hive_id) { return hive_id == "attic" && lost; });
  auto remote = beat("a", "m", 1);
  remote.hive_id = "attic";
  registry.record(remote);
  registry.record(beat("b", "m", 1));  // on localhost
  lost = true;
  EXPECT_EQ(registry.get("a")->state, "unreachable");
  EXPECT_FALSE(registry.get("a")->routable);
  EXPECT_EQ(registry.get("b")->state, "ready");
  EXPECT_FALSE(registry.try_acquire({"m", "attic", "", {}}));
  EXPECT_FALSE(registry.has_candidate({"m", "attic", "", {}}));
  auto leased = registry.try_acquire({"m", "", "", {}});
  ASSERT_TRUE(leased);
  EXPECT_EQ(leased->beat.worker_id, "b");
  lost = false;
  EXPECT_EQ(registry.get("a")->state, "ready");
  EXPECT_TRUE(registry.try_acquire({"m", "attic", "", {}}));
}

TEST(WorkerRegistryTest, IdleWorkersAreListedAfterTheirTime) {
  WorkerRegistry registry;
  registry.record(beat("a", "m", 1));
  auto lease = registry.try_acquire({"m", "", "", {}});
  ASSERT_TRUE(lease);
  EXPECT_TRUE(registry.idle_for(0).empty());  // busy is never idle
  registry.release("a");
  EXPECT_EQ(registry.idle_for(0).size(), 1u);
  EXPECT_TRUE(registry.idle_for(60 * 1000).empty());
}

}  // namespace
}  // namespace rbee::queen
