#pragma once

// The worker's heartbeat to the queen (ARCHITECTURE.md §6): `POST {queen}/v1/workers/heartbeat`
// with the cluster token every interval, at once when the lifecycle state changes (loading,
// ready, draining), and a last `stopped` beat on the way out. A queen that does not answer is
// logged at debug level and never stops the worker.

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

#include "contracts/worker.hpp"
#include "worker/worker_service.hpp"

namespace rbee::worker {

struct WorkerHeartbeatOptions {
  std::string queen_url;
  std::chrono::milliseconds interval{1000};
  std::function<contracts::WorkerHeartbeat()> build;  // the beat as of now
};

class WorkerHeartbeat {
 public:
  // The token comes from `token` (read again after a 401). Starts the thread at once.
  WorkerHeartbeat(WorkerHeartbeatOptions options, ClusterTokenCache& token);
  ~WorkerHeartbeat();  // stop()
  WorkerHeartbeat(const WorkerHeartbeat&) = delete;
  WorkerHeartbeat& operator=(const WorkerHeartbeat&) = delete;

  // Sends a beat now instead of at the next interval.
  void beat_now();
  // Ends the thread, then sends `final_beat` once (with a short timeout).
  void stop(const contracts::WorkerHeartbeat* final_beat = nullptr);

 private:
  void loop(std::stop_token stop);
  void send(const contracts::WorkerHeartbeat& beat, double timeout_s);

  WorkerHeartbeatOptions options_;
  ClusterTokenCache& token_;
  std::mutex mu_;
  std::condition_variable_any wake_;
  // guarded by mu_
  bool beat_now_ = false;
  std::jthread thread_;  // last: starts after the members it uses
};

// The heartbeat body for the service's current state.
contracts::WorkerHeartbeat make_worker_heartbeat(const WorkerService& service,
                                                 const std::string& url);

}  // namespace rbee::worker
