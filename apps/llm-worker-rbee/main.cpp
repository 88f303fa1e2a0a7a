// llm-worker-rbee: serves one GGUF model over OpenAI-compatible HTTP (ARCHITECTURE.md §7).
// Started by a hive (or by hand); exit codes: 0 after a drain, 2 for bad flags or a model that
// does not load, 3 when the port cannot be bound.

#include <CLI/CLI.hpp>
#include <cstdio>

#include "common/logging.hpp"
#include "lifecycle/shutdown_signal.hpp"
#include "worker/worker_app.hpp"

int main(int argc, char** argv) {
  namespace worker = rbee::worker;
  rbee::lifecycle::ShutdownSignal shutdown;
  worker::WorkerOptions options;
  std::string model_path;
  std::string token_file;
  int64_t heartbeat_ms = options.heartbeat_interval.count();
  int64_t drain_s = options.drain_timeout.count();
  int64_t min_load_ms = 0;
  std::string log_level = "info";
  CLI::App app{"llm-worker-rbee: serves one model over OpenAI-compatible HTTP"};
  app.set_version_flag("--version", std::string("llm-worker-rbee ") + RBEE_VERSION);
  app.add_option("--worker-id", options.worker_id, "this worker's id")->required();
  app.add_option("--model", model_path, "GGUF model file")->required();
  app.add_option("--port", options.port, "port to listen on (0: any free port)")->required();
  app.add_option("--host", options.host, "address to listen on")->capture_default_str();
  app.add_option("--device", options.device, "device to run on: cpu or cuda:N")
      ->capture_default_str();
  app.add_option("--model-id", options.model_id, "the model's name in requests (default: file)");
  app.add_option("--queen-url", options.queen_url, "where to send heartbeats (none: no beats)");
  app.add_option("--hive-id", options.hive_id, "the hive that started this worker")
      ->capture_default_str();
  app.add_option("--token-file", token_file,
                 "cluster token file: requests and heartbeats carry it (none: open API)");
  app.add_option("--ctx", options.ctx, "tokens per slot (0: the model's, at most 4096)")
      ->capture_default_str();
  app.add_option("--parallel", options.parallel, "parallel slots")->capture_default_str();
  app.add_option("--threads", options.threads, "compute threads (0: all cores)")
      ->capture_default_str();
  bool no_repack = false;
  app.add_flag("--no-repack", no_repack,
               "serve every weight from the mapped file (no copy of Q4_0 matrices into the "
               "kernels' faster layout)");
  app.add_option("--heartbeat-interval-ms", heartbeat_ms, "time between heartbeats")
      ->capture_default_str();
  app.add_option("--drain-timeout-s", drain_s, "on shutdown, time running requests get to finish")
      ->capture_default_str();
  app.add_option("--log-level", log_level, "trace, debug, info, warn, error")->envname("RBEE_LOG");
  // For tests: loading takes at least this long, so the loading state can be watched.
  app.add_option("--test-min-load-ms", min_load_ms)->group("");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? 0 : worker::kExitBadModel;
  }
  rbee::set_log_level(log_level);
  options.model_path = model_path;
  options.token_file = token_file;
  options.heartbeat_interval = std::chrono::milliseconds(heartbeat_ms);
  options.drain_timeout = std::chrono::seconds(drain_s);
  options.min_load_time = std::chrono::milliseconds(min_load_ms);
  options.repack = !no_repack;
  if (auto valid = options.validate(); !valid) {
    std::fprintf(stderr, "llm-worker-rbee: %s\n", valid.error().message.c_str());
    return worker::kExitBadModel;
  }

  worker::WorkerApp worker_app(options, [&shutdown] { shutdown.request(); });
  if (auto port = worker_app.bind(); !port) {
    std::fprintf(stderr, "llm-worker-rbee: %s\n", port.error().message.c_str());
    return worker::kExitCannotBind;
  }
  worker_app.start();
  shutdown.wait();
  return worker_app.finish();
}
