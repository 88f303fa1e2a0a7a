#pragma once

// rbee-hive: executes operations on its machine and reports to the queen.
//   GET  /health            public
//   GET  /v1/info           public
//   *    /v1/jobs...        cluster token (the job API)
//   POST /v1/shutdown       cluster token

#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "common/config.hpp"
#include "common/paths.hpp"
#include "common/result.hpp"

namespace rbee::hive {

struct HiveOptions {
  HiveConfig config;
  Paths paths;
  std::string queen_url;  // resolved: never empty
  std::string nvidia_smi = "nvidia-smi";
  DownloadConfig downloads;
  WorkerLifecycleConfig workers;
};

class HiveApp {
 public:
  // `on_shutdown_request` is called when a client asks the hive to stop (POST /v1/shutdown).
  HiveApp(HiveOptions options, std::function<void()> on_shutdown_request);
  ~HiveApp();
  HiveApp(const HiveApp&) = delete;
  HiveApp& operator=(const HiveApp&) = delete;

  // Binds the port. Returns the bound port; kUnavailable when the port is taken.
  Result<int> bind();
  // Adopts the workers an earlier run left running, then serves and heartbeats in background
  // threads. Call after bind() succeeded (the port makes this the one hive of its state folder).
  void serve();
  // Cancels running jobs, stops the workers (SIGTERM together, SIGKILL after [workers]
  // stop_grace_s), tells the queen, stops heartbeats and serving. Idempotent.
  void stop();

  std::string url() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace rbee::hive
