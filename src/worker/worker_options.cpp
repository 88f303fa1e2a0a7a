#include "worker/worker_options.hpp"

#include <algorithm>
#include <thread>

#include "engine/gpu/device_placement.hpp"

namespace rbee::worker {
namespace {

Error invalid(std::string message) {
  return make_error(ErrorCode::kInvalidArgument, std::move(message));
}

}  // namespace

std::string WorkerOptions::effective_model_id() const {
  if (!model_id.empty()) return model_id;
  return model_path.stem().string();
}

int WorkerOptions::effective_threads() const {
  if (threads > 0) return threads;
  return std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
}

Status WorkerOptions::validate() const {
  if (worker_id.empty()) return invalid("--worker-id is required");
  if (model_path.empty()) return invalid("--model is required");
  if (port < 0 || port > 65535) return invalid("--port must be between 0 and 65535");
  if (auto parsed = engine::gpu::parse_device_name(device); !parsed) {
    return invalid("--device: " + parsed.error().message);
  }
  if (parallel < 1 || parallel > 64) return invalid("--parallel must be between 1 and 64");
  if (ctx < 0) return invalid("--ctx must not be negative");
  if (threads < 0 || threads > 256) return invalid("--threads must be between 0 and 256");
  if (!queen_url.empty() && token_file.empty()) {
    return invalid("--queen-url needs --token-file (heartbeats carry the cluster token)");
  }
  if (heartbeat_interval.count() < 10) return invalid("--heartbeat-interval-ms must be >= 10");
  if (drain_timeout.count() < 0) return invalid("--drain-timeout-s must not be negative");
  return ok_status();
}

int64_t resolve_ctx(int64_t requested_ctx, int64_t n_ctx_train) {
  if (requested_ctx > 0) return requested_ctx;
  if (n_ctx_train <= 0) return kDefaultMaxCtx;
  return std::min(n_ctx_train, kDefaultMaxCtx);
}

}  // namespace rbee::worker
