#pragma once

// The worker's HTTP API (ARCHITECTURE.md §7), one table in register_routes():
//
//   GET  /health               public   503 {"status":"loading","progress":p} | 200 {"status":"ok"}
//                                       | 503 {"status":"draining"}
//   GET  /v1/info              public   the worker's state, slots and settings (WorkerInfo)
//   GET  /metrics              public   Prometheus text
//   GET  /v1/models            token*   OpenAI model list (the one model)
//   POST /v1/completions       token*   OpenAI completions, streaming or not
//   POST /v1/chat/completions  token*   OpenAI chat completions, streaming or not
//   POST /v1/shutdown          token*   drain and exit, as SIGTERM
//   anything else                       404 with an OpenAI error body
//
// token*: `Authorization: Bearer <cluster token>` when the worker was given --token-file,
// else open (a standalone worker); /v1/shutdown is then open to loopback callers only.
// Failures are OpenAI error bodies ({"error":{"message","type","param","code"}}).

#include <functional>

#include "http/server.hpp"
#include "worker/worker_service.hpp"

namespace rbee::worker {

class WorkerRoutes {
 public:
  // `request_shutdown` is called by POST /v1/shutdown. The service must outlive the server.
  WorkerRoutes(WorkerService& service, std::function<void()> request_shutdown)
      : service_(service), request_shutdown_(std::move(request_shutdown)) {}

  void register_routes(http::Server& server);

 private:
  http::Response health(const http::Request& request);
  http::Response info(const http::Request& request);
  http::Response metrics(const http::Request& request);
  http::Response models(const http::Request& request);
  http::Response completions(const http::Request& request);
  http::Response chat_completions(const http::Request& request);
  http::Response shutdown(const http::Request& request);
  http::Response not_found(const http::Request& request);

  // Runs an inference request: token, JSON, parse, submit, then the job's response. Counts
  // the answer in the metrics.
  template <typename ParsedRequest, typename Parse, typename Submit>
  http::Response inference(const http::Request& request, const char* prompt_param, Parse parse,
                           Submit submit);

  WorkerService& service_;
  std::function<void()> request_shutdown_;
};

}  // namespace rbee::worker
