#include "contracts/worker.hpp"

#include <gtest/gtest.h>

namespace rbee::contracts {
namespace {

WorkerHeartbeat sample_beat() {
  WorkerHeartbeat beat;
  beat.worker_id = "w-1";
  beat.hive_id = "localhost";
  beat.url = "http://127.0.0.1:9100";
  beat.model = "org/repo:Q4_K_M";
  beat.state = "ready";
  beat.load_progress = 1;
  beat.slots_total = 2;
  beat.slots_busy = 1;
  beat.queue_depth = 3;
  beat.ctx = 512;
  beat.pid = 4242;
  return beat;
}

TEST(WorkerHeartbeatTest, RoundTrips) {
  auto parsed = parse_worker_heartbeat(to_json(sample_beat()));
  ASSERT_TRUE(parsed) << parsed.error().message;
  EXPECT_EQ(parsed->worker_id, "w-1");
  EXPECT_EQ(parsed->model, "org/repo:Q4_K_M");
  EXPECT_EQ(parsed->slots_busy, 1);
  EXPECT_EQ(parsed->queue_depth, 3);
  EXPECT_EQ(parsed->pid, 4242);
}

TEST(WorkerHeartbeatTest, RejectsUnknownStateAndBadNumbers) {
  Json json = to_json(sample_beat());
  json["state"] = "sleeping";
  auto bad_state = parse_worker_heartbeat(json);
  ASSERT_FALSE(bad_state);
  EXPECT_NE(bad_state.error().message.find("state"), std::string::npos);

  json = to_json(sample_beat());
  json["slots_busy"] = 5;
  auto too_busy = parse_worker_heartbeat(json);
  ASSERT_FALSE(too_busy);
  EXPECT_NE(too_busy.error().message.find("slots_busy"), std::string::npos);

  json = to_json(sample_beat());
  json["load_progress"] = 1.5;
  EXPECT_FALSE(parse_worker_heartbeat(json));

  json = to_json(sample_beat());
  json["worker_id"] = "../etc";
  EXPECT_FALSE(parse_worker_heartbeat(json));

  json = to_json(sample_beat());
  json["url"] = "file:///etc/passwd";
  EXPECT_FALSE(parse_worker_heartbeat(json));
}

TEST(HiveWorkerEventTest, RoundTripsAndRejectsUnknownKind) {
  HiveWorkerEvent event;
  event.hive_id = "localhost";
  event.kind = "worker_exited";
  event.worker_id = "w-1";
  event.pid = 77;
  event.exit_code = -1;
  event.signal = 9;
  event.last_log_lines = {"loading", "Killed"};
  auto parsed = parse_hive_worker_event(to_json(event));
  ASSERT_TRUE(parsed) << parsed.error().message;
  EXPECT_EQ(parsed->signal, 9);
  EXPECT_EQ(parsed->last_log_lines.size(), 2u);

  Json json = to_json(event);
  json["kind"] = "worker_danced";
  EXPECT_FALSE(parse_hive_worker_event(json));
}

}  // namespace
}  // namespace rbee::contracts
