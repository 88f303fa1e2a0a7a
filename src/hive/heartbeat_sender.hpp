#pragma once

// The hive's heartbeat to the queen (ARCHITECTURE.md §6): every interval while the queen
// answers; with growing pauses (capped at the interval) while it does not, so a restarted
// queen re-learns the hive within one interval. The cluster token comes with the QueenLink.

#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "contracts/heartbeat.hpp"
#include "hive/queen_link.hpp"

namespace rbee::hive {

struct HeartbeatOptions {
  std::shared_ptr<QueenLink> queen;  // shared with the worker events
  std::chrono::milliseconds interval{2000};
  std::function<contracts::HiveHeartbeat()> build;  // called for every beat
};

class HeartbeatSender {
 public:
  explicit HeartbeatSender(HeartbeatOptions options);
  ~HeartbeatSender();

  void start();
  void stop();
  // Sends one beat now instead of waiting for the interval (fresh devices, say).
  void beat_now();
  // Whether the last beat reached the queen.
  bool connected() const;

 private:
  void loop(std::stop_token stop);
  bool send_once();

  HeartbeatOptions options_;
  std::jthread thread_;
  mutable std::mutex mu_;
  std::condition_variable_any wake_;
  // guarded by mu_
  bool beat_now_ = false;
  bool connected_ = false;
  // Only the beat thread touches it: the last failure logged, so each is logged once.
  std::string last_failure_;
};

}  // namespace rbee::hive
