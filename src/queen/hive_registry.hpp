#pragma once

// The queen's view of its hives, fed by heartbeats (ARCHITECTURE.md §6). The first beat
// registers a hive; a hive whose last beat is older than three of its intervals is
// `unreachable`. State is derived from the time of the last beat whenever it is read, so it
// is never stale.

#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "contracts/heartbeat.hpp"

namespace rbee::queen {

inline constexpr int kMissedBeatsUntilUnreachable = 3;

struct HiveEntry {
  contracts::HiveHeartbeat last_beat;
  std::string state;          // "online" | "unreachable"
  int64_t first_seen_ms = 0;  // wall clock
  int64_t last_seen_ms = 0;   // wall clock
  int64_t last_seen_ago_ms = 0;
};
contracts::Json to_json(const HiveEntry& entry);

class HiveRegistry {
 public:
  // Records a beat; returns true when it registered a hive the queen did not know.
  bool record(const contracts::HiveHeartbeat& beat);
  // Sorted by hive id.
  std::vector<HiveEntry> list() const;
  std::optional<HiveEntry> get(const std::string& hive_id) const;
  // Drops a hive that was stopped on purpose (it re-registers with its next beat).
  void forget(const std::string& hive_id);

 private:
  struct Stored {
    contracts::HiveHeartbeat beat;
    int64_t first_seen_ms = 0;
    int64_t last_seen_ms = 0;
    int64_t last_seen_steady_ms = 0;
  };
  static HiveEntry view(const Stored& stored, int64_t now_steady_ms);

  mutable std::mutex mu_;
  std::map<std::string, Stored> hives_;  // guarded by mu_
};

}  // namespace rbee::queen
