#pragma once

// The hive's heartbeat to the queen (ARCHITECTURE.md §6): every interval while the queen
// answers; with growing pauses (capped at the interval) while it does not, so a restarted
// queen re-learns the hive within one interval. The cluster token is read from its file
// when needed, since the queen may create it after the hive started.

#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

#include "contracts/heartbeat.hpp"

namespace rbee::hive {

struct HeartbeatOptions {
  std::string queen_url;
  std::filesystem::path token_file;
  std::chrono::milliseconds interval{2000};
  std::function<contracts::HiveHeartbeat()> build;   // called for every beat
  std::function<void(const std::string&)> on_token;  // called when a (new) token was read
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
  bool ensure_token();

  HeartbeatOptions options_;
  std::jthread thread_;
  mutable std::mutex mu_;
  std::condition_variable_any wake_;
  // guarded by mu_
  bool beat_now_ = false;
  bool connected_ = false;
  std::string token_;
};

}  // namespace rbee::hive
