#pragma once

// Tells the queen at once when a worker process ends (`POST /v1/hives/events`, ARCHITECTURE.md
// §6), from a thread of its own so that whoever noticed the exit never waits on the network.
// An event the queen cannot take now (down, restarting, no token yet) is retried with growing
// pauses for up to `give_up_after`; the heartbeat's list of exited workers covers the rest.
//
// Thread-safety: every member may be called from any thread.

#include <chrono>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>

#include "contracts/worker.hpp"
#include "hive/queen_link.hpp"

namespace rbee::hive {

class WorkerEventSender {
 public:
  explicit WorkerEventSender(std::shared_ptr<QueenLink> queen,
                             std::chrono::milliseconds give_up_after = std::chrono::seconds(60));
  ~WorkerEventSender();
  WorkerEventSender(const WorkerEventSender&) = delete;
  WorkerEventSender& operator=(const WorkerEventSender&) = delete;

  // Queues an event (never blocks on the network).
  void send(contracts::HiveWorkerEvent event);
  // Keeps trying what is queued for up to `flush_timeout`, then stops. Idempotent; events sent
  // afterwards are dropped.
  void stop(std::chrono::milliseconds flush_timeout = std::chrono::seconds(2));

 private:
  struct Queued {
    contracts::HiveWorkerEvent event;
    std::chrono::steady_clock::time_point queued_at;
  };
  enum class Outcome { kDelivered, kRefused, kRetry };
  void loop(std::stop_token stop);
  Outcome deliver(const contracts::HiveWorkerEvent& event);

  std::shared_ptr<QueenLink> queen_;
  std::chrono::milliseconds give_up_after_;
  std::mutex mu_;
  std::condition_variable_any wake_;
  // guarded by mu_
  std::deque<Queued> queue_;
  std::chrono::steady_clock::time_point flush_deadline_;
  bool stopped_ = false;
  std::jthread thread_;
};

}  // namespace rbee::hive
