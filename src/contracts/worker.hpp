#pragma once

// Worker wire types (ARCHITECTURE.md §6): the worker → queen heartbeat
// (`POST /v1/workers/heartbeat`, every second) and the hive → queen event that reports a
// worker process's exit at once (`POST /v1/hives/events`).

#include <cstdint>
#include <string>
#include <vector>

#include "common/result.hpp"
#include "contracts/json_reader.hpp"

namespace rbee::contracts {

// starting → loading(progress) → ready ⇄ busy → draining → stopped, or failed.
inline constexpr const char* kWorkerStates[] = {"starting", "loading", "ready", "busy",
                                                "draining", "stopped", "failed"};
bool is_worker_state(const std::string& state);

struct WorkerHeartbeat {
  std::string worker_id;
  std::string hive_id;
  std::string url;    // where the queen reaches the worker: "http://127.0.0.1:9100"
  std::string model;  // the model id it serves (its --model-id)
  std::string device = "cpu";
  std::string worker_type = "cpu";
  std::string state;         // one of kWorkerStates
  double load_progress = 0;  // 0..1 while loading, 1 once loaded
  int64_t slots_total = 0;
  int64_t slots_busy = 0;
  int64_t queue_depth = 0;  // requests waiting for a slot
  int64_t ctx = 0;          // tokens per slot
  int64_t pid = 0;
  int64_t heartbeat_interval_ms = 1000;
};
Json to_json(const WorkerHeartbeat& heartbeat);
// kInvalidArgument naming the field on any mistake (unknown state, bad URL or id, negatives).
Result<WorkerHeartbeat> parse_worker_heartbeat(const Json& data);

// What a hive tells the queen about one of its worker processes, without waiting for the next
// heartbeat.
struct HiveWorkerEvent {
  std::string hive_id;
  std::string kind;  // "worker_exited" (the process ended) | "worker_failed" (spawn gave up)
  std::string worker_id;
  int64_t pid = 0;
  int64_t exit_code = -1;  // -1 when it was killed by a signal
  int64_t signal = 0;      // the signal that ended it, 0 when it exited
  std::string model;
  std::string reason;                       // a sentence for people
  std::vector<std::string> last_log_lines;  // the end of the worker's log
};
Json to_json(const HiveWorkerEvent& event);
Result<HiveWorkerEvent> parse_hive_worker_event(const Json& data);

}  // namespace rbee::contracts
