#pragma once

// Inference through the queen: the OpenAI-compatible endpoints and the `infer` job. Both ask
// the scheduler for a slot, send the request to that worker and relay its answer. The OpenAI
// endpoints relay the worker's bytes untouched (its SSE chunks are already OpenAI's); the job
// reads the chunks and turns them into `token` events and a `result`.
//
// Failures: a worker that fails before the first byte reached the client (refused, dropped) is
// marked failed at once and the request is tried once more elsewhere (spawning a worker when
// none is left). After the first byte a stream ends with an error event instead of hanging.

#include <string>

#include "contracts/operations.hpp"
#include "http/server.hpp"
#include "jobs/job_context.hpp"
#include "queen/hive_registry.hpp"
#include "queen/scheduler.hpp"
#include "queen/worker_registry.hpp"

namespace rbee::queen {

class InferenceService {
 public:
  InferenceService(Scheduler& scheduler, WorkerRegistry& workers, const HiveRegistry& hives,
                   const std::string& cluster_token);

  // POST /v1/completions and /v1/chat/completions (`worker_path` is the same path).
  http::Response relay_openai(const http::Request& request, const std::string& worker_path);
  // GET /v1/models: every model a worker serves or a hive holds ready.
  http::Response list_models() const;
  // The `infer` operation.
  Status run_infer(const contracts::InferOperation& infer, jobs::JobContext& job);

 private:
  Scheduler& scheduler_;
  WorkerRegistry& workers_;
  const HiveRegistry& hives_;
  const std::string& cluster_token_;
};

}  // namespace rbee::queen
