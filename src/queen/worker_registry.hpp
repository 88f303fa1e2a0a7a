#pragma once

// The queen's view of the workers (ARCHITECTURE.md §6, §8), fed by worker heartbeats, hive
// events, the queen's own spawns and what its relays learn. The queen counts the requests it
// relays to each worker itself, so routing never waits for a heartbeat to learn that a slot
// was taken or freed. A worker is routable while it reports ready or busy, beats on time, has
// not been seen to die and its hive is not unreachable; a dead one stops being routable the
// moment anyone notices.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "contracts/worker.hpp"

namespace rbee::queen {

inline constexpr int kMissedWorkerBeatsUntilUnroutable = 3;

struct WorkerView {
  contracts::WorkerHeartbeat beat;  // the last beat, or what the spawn told
  // The worker's own state, or "unreachable" (beats missed), "stopped" or "failed".
  std::string state;
  bool routable = false;
  int64_t in_flight = 0;  // requests the queen relays to it now
  int64_t first_seen_ms = 0;
  int64_t last_seen_ago_ms = 0;
  int64_t idle_ms = 0;  // since the last request ended (0 while one runs)
  std::string reason;   // why it stopped or failed
  int port() const;
};
contracts::Json to_json(const WorkerView& view);

// Whether a model name a client asked for names the model a worker serves: the same id, or a
// repository reference without a quant (`org/repo`) for any of its quants (`org/repo:Q4_K_M`).
bool model_matches(const std::string& requested, const std::string& served_id);

struct WorkerFilter {
  std::string model;  // requested name (matched with model_matches); empty = any
  std::string hive_id;
  std::string worker_id;
  std::set<std::string> exclude;  // workers already tried
};

// Whether the queen lost touch with a hive (its beats are late). Called with the registry's
// lock held, so it must not call back into the registry.
using HiveUnreachable = std::function<bool(const std::string& hive_id)>;

class WorkerRegistry {
 public:
  // `hive_unreachable` empty: hives are not consulted. A worker whose hive is unreachable is
  // `unreachable` and not routable, even while its own beats are still fresh: the hive's
  // beats come more often, and the network that failed them is the worker's too.
  explicit WorkerRegistry(HiveUnreachable hive_unreachable = {});

  // A beat from a worker marked gone with the same pid is ignored (it was in flight when
  // the worker died); a `stopped` beat marks it gone.
  void record(const contracts::WorkerHeartbeat& beat);
  // Marks a worker stopped or failed: no longer routable, kept for a while for listings.
  void mark_gone(const std::string& worker_id, const std::string& state, const std::string& reason);
  // No new requests go to it; the ones in flight finish.
  void mark_draining(const std::string& worker_id);

  // A name a client used and the catalog id it turned out to be ("/m/x.gguf" → "local:x").
  void add_alias(const std::string& requested, const std::string& served_id);
  bool matches(const std::string& requested, const std::string& served_id) const;

  std::vector<WorkerView> list() const;  // sorted by worker id
  std::optional<WorkerView> get(const std::string& worker_id) const;

  // Takes one slot of the least loaded routable worker that matches, or nothing.
  std::optional<WorkerView> try_acquire(const WorkerFilter& filter);
  void release(const std::string& worker_id);
  // Whether a matching worker is routable or still coming up (starting, loading).
  bool has_candidate(const WorkerFilter& filter) const;

  // Blocks until anything changed since `seen` (a beat, a release, a death) or the timeout.
  // Returns the current change count; pass it back as `seen` next time.
  uint64_t wait_for_change(uint64_t seen, std::chrono::milliseconds timeout) const;
  uint64_t change_count() const;

  // Routable workers with nothing in flight for at least `idle_ms`.
  std::vector<WorkerView> idle_for(int64_t idle_ms) const;

 private:
  struct Stored {
    contracts::WorkerHeartbeat beat;
    std::string gone_state;  // "stopped" | "failed" once gone
    std::string reason;
    bool draining = false;
    int64_t in_flight = 0;
    int64_t first_seen_ms = 0;
    int64_t last_seen_steady_ms = 0;
    int64_t gone_steady_ms = 0;
    int64_t idle_since_steady_ms = 0;
  };
  WorkerView view(const Stored& stored, int64_t now) const;
  bool matches_locked(const std::string& requested, const std::string& served_id) const;
  bool passes(const Stored& stored, const WorkerFilter& filter) const;
  void changed_locked();
  void forget_old_locked(int64_t now);

  const HiveUnreachable hive_unreachable_;
  mutable std::mutex mu_;
  mutable std::condition_variable changed_cv_;
  uint64_t changes_ = 0;                        // guarded by mu_
  std::map<std::string, Stored> workers_;       // guarded by mu_
  std::map<std::string, std::string> aliases_;  // guarded by mu_
};

}  // namespace rbee::queen
