#include "queen/hive_registry.hpp"

#include "common/clock.hpp"

namespace rbee::queen {

contracts::Json to_json(const HiveEntry& entry) {
  contracts::Json data = contracts::to_json(entry.last_beat);
  data["state"] = entry.state;
  data["first_seen_ms"] = entry.first_seen_ms;
  data["last_seen_ms"] = entry.last_seen_ms;
  data["last_seen_ago_ms"] = entry.last_seen_ago_ms;
  return data;
}

bool HiveRegistry::record(const contracts::HiveHeartbeat& beat) {
  std::lock_guard lock(mu_);
  auto [it, inserted] = hives_.try_emplace(beat.hive_id);
  it->second.beat = beat;
  it->second.last_seen_ms = now_unix_ms();
  it->second.last_seen_steady_ms = now_steady_ms();
  if (inserted) it->second.first_seen_ms = it->second.last_seen_ms;
  return inserted;
}

HiveEntry HiveRegistry::view(const Stored& stored, int64_t now_steady) {
  HiveEntry entry;
  entry.last_beat = stored.beat;
  entry.first_seen_ms = stored.first_seen_ms;
  entry.last_seen_ms = stored.last_seen_ms;
  entry.last_seen_ago_ms = now_steady - stored.last_seen_steady_ms;
  bool missed =
      entry.last_seen_ago_ms > kMissedBeatsUntilUnreachable * stored.beat.heartbeat_interval_ms;
  entry.state = missed ? "unreachable" : "online";
  return entry;
}

std::vector<HiveEntry> HiveRegistry::list() const {
  std::lock_guard lock(mu_);
  std::vector<HiveEntry> out;
  int64_t now = now_steady_ms();
  for (const auto& [id, stored] : hives_) out.push_back(view(stored, now));
  return out;
}

std::optional<HiveEntry> HiveRegistry::get(const std::string& hive_id) const {
  std::lock_guard lock(mu_);
  auto it = hives_.find(hive_id);
  if (it == hives_.end()) return std::nullopt;
  return view(it->second, now_steady_ms());
}

void HiveRegistry::forget(const std::string& hive_id) {
  std::lock_guard lock(mu_);
  hives_.erase(hive_id);
}

}  // namespace rbee::queen
