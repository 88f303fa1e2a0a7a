#pragma once

// queen-rbee: the orchestrator.
//   GET  /health                 public
//   GET  /v1/info                public
//   GET  /v1/hives               public: the hive registry
//   GET  /v1/workers             public: the worker registry
//   GET  /v1/models              public (OpenAI): models served or ready on a hive
//   POST /v1/completions         public (OpenAI): relayed to a worker
//   POST /v1/chat/completions    public (OpenAI): relayed to a worker
//   POST /v1/workers/heartbeat   cluster token
//   POST /v1/hives/events        cluster token
//   *    /v1/jobs...             the job API (client-facing)
//   POST /v1/hives/heartbeat     cluster token
//   POST /v1/shutdown            cluster token

#include <functional>
#include <memory>
#include <string>

#include "common/config.hpp"
#include "common/paths.hpp"
#include "common/result.hpp"

namespace rbee::queen {

struct QueenOptions {
  QueenConfig config;
  SchedulerConfig scheduler;
  Paths paths;
};

class QueenApp {
 public:
  QueenApp(QueenOptions options, std::function<void()> on_shutdown_request);
  ~QueenApp();
  QueenApp(const QueenApp&) = delete;
  QueenApp& operator=(const QueenApp&) = delete;

  // Loads or creates the cluster token and binds the port. Returns the bound port;
  // kUnavailable when the port is taken.
  Result<int> bind();
  // Serves in a background thread. Call after bind().
  void serve();
  // Cancels running jobs and stops serving. Idempotent.
  void stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace rbee::queen
