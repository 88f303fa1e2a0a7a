#pragma once

// Placing inference onto workers (ARCHITECTURE.md §8). A request asks for a slot on a worker
// serving its model; the scheduler takes the least loaded ready worker with a free slot. When
// all are busy the request waits in a bounded first-come-first-served queue per model (full:
// kResourceExhausted, which clients see as 429). When no worker serves the model, one is
// provisioned: on a hive that has the model and the memory for it (weights + KV cache for
// ctx x parallel, from the GGUF header), after downloading the model first when no hive has
// it. Provisioning runs as a queen job of its own ("worker_provision"), shared by every request
// for the same model, and each waiting request hears its narration and progress.

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <stop_token>
#include <string>
#include <thread>

#include "common/config.hpp"
#include "common/result.hpp"
#include "contracts/json_reader.hpp"
#include "jobs/job_context.hpp"
#include "jobs/job_registry.hpp"
#include "queen/hive_registry.hpp"
#include "queen/worker_registry.hpp"

namespace rbee::queen {

struct Placement {
  std::string model;              // as the client named it
  std::string hive_id;            // empty = any hive
  std::string worker_id;          // empty = any worker
  std::set<std::string> exclude;  // workers that already failed this request
};

// Receives the events of the steps taken for a waiting request (narration, progress).
using PlacementEvents = std::function<void(const std::string& name, const contracts::Json& data)>;

// One slot on one worker, given back when the lease is destroyed.
class WorkerLease {
 public:
  WorkerLease(WorkerRegistry& registry, WorkerView worker);
  ~WorkerLease();
  WorkerLease(WorkerLease&& other) noexcept;
  WorkerLease(const WorkerLease&) = delete;
  WorkerLease& operator=(const WorkerLease&) = delete;
  WorkerLease& operator=(WorkerLease&&) = delete;

  const WorkerView& worker() const { return worker_; }

 private:
  WorkerRegistry* registry_;
  WorkerView worker_;
};

class Scheduler {
 public:
  // `cluster_token` is read when hives are called (the queen loads it at bind time).
  Scheduler(SchedulerConfig config, WorkerRegistry& workers, const HiveRegistry& hives,
            jobs::JobRegistry& jobs, const std::string& cluster_token);
  ~Scheduler();
  Scheduler(const Scheduler&) = delete;
  Scheduler& operator=(const Scheduler&) = delete;

  // Blocks until a slot is leased, provisioning a worker when none serves the model.
  // kResourceExhausted when the model's queue is full; kUnavailable when no slot freed within
  // the queue timeout or no hive can run the model; kNotFound for an unknown worker_id;
  // kCancelled once `stop` is requested; a failed provisioning's own error.
  Result<WorkerLease> acquire(const Placement& placement, const PlacementEvents& events,
                              std::stop_token stop);

  // Drains a worker and stops it through its hive (the active_worker_retire operation).
  Status retire(const std::string& worker_id, jobs::JobContext& job);

  // Requests waiting for a slot of this model now.
  size_t queue_depth(const std::string& model) const;

  // Starts retiring idle workers after config.idle_retire_s (no-op when 0).
  void start();
  void stop();

 private:
  Status provision(const Placement& placement, jobs::JobContext& job);
  Status run_or_follow_provisioning(const Placement& placement, const PlacementEvents& events,
                                    std::stop_token stop);
  void retire_idle_workers(std::stop_token stop);

  const SchedulerConfig config_;
  WorkerRegistry& workers_;
  const HiveRegistry& hives_;
  jobs::JobRegistry& jobs_;
  const std::string& cluster_token_;

  mutable std::mutex mu_;
  std::map<std::string, std::deque<uint64_t>> queues_;              // guarded by mu_
  uint64_t next_ticket_ = 1;                                        // guarded by mu_
  std::map<std::string, std::shared_ptr<jobs::Job>> provisioning_;  // guarded by mu_
  std::jthread idle_thread_;
};

}  // namespace rbee::queen
