#pragma once

// The llm-worker-rbee process: binds its port first (so /health answers while the model
// loads), loads the model in the background with progress, serves the OpenAI API over
// parallel slots, heartbeats to the queen, and drains on shutdown.
//
//   WorkerApp app(options, [&] { shutdown.request(); });
//   if (auto port = app.bind(); !port) return kExitCannotBind;
//   app.start();
//   shutdown.wait();          // SIGTERM, POST /v1/shutdown, or a failed load
//   return app.finish();      // kExitOk after draining, kExitBadModel after a failed load

#include <atomic>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "common/result.hpp"
#include "http/server.hpp"
#include "worker/worker_heartbeat.hpp"
#include "worker/worker_options.hpp"
#include "worker/worker_routes.hpp"
#include "worker/worker_service.hpp"

namespace rbee::worker {

class WorkerApp {
 public:
  // `request_shutdown` is called for POST /v1/shutdown and when the model fails to load.
  WorkerApp(WorkerOptions options, std::function<void()> request_shutdown);
  ~WorkerApp();
  WorkerApp(const WorkerApp&) = delete;
  WorkerApp& operator=(const WorkerApp&) = delete;

  // Binds host:port. kUnavailable when the port is taken or cannot be bound.
  Result<int> bind();
  // Serves HTTP, starts heartbeats and loads the model, all in the background.
  void start();
  // After the shutdown request: drains (new requests 503, running ones get drain_timeout to
  // finish, then are ended), stops, sends the last heartbeat. Returns the exit code.
  int finish();

  // The failure that ended loading, if any.
  std::optional<Error> load_error() const;

 private:
  void load(std::stop_token stop);
  contracts::WorkerHeartbeat beat(const std::string& state_override = "") const;

  WorkerOptions options_;
  std::function<void()> request_shutdown_;
  WorkerService service_;
  WorkerRoutes routes_;
  http::Server server_;
  std::string url_;
  std::thread server_thread_;
  std::unique_ptr<WorkerHeartbeat> heartbeat_;
  mutable std::mutex mu_;
  std::optional<Error> load_error_;  // guarded by mu_
  std::jthread loader_;
};

}  // namespace rbee::worker
