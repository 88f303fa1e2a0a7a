#include "worker/worker_heartbeat.hpp"

#include <spdlog/spdlog.h>

#include "common/logging.hpp"
#include "http/client.hpp"

namespace rbee::worker {

WorkerHeartbeat::WorkerHeartbeat(WorkerHeartbeatOptions options, ClusterTokenCache& token)
    : options_(std::move(options)),
      token_(token),
      thread_([this](std::stop_token stop) { loop(stop); }) {}

WorkerHeartbeat::~WorkerHeartbeat() {
  stop();
}

void WorkerHeartbeat::beat_now() {
  {
    std::lock_guard lock(mu_);
    beat_now_ = true;
  }
  wake_.notify_all();
}

void WorkerHeartbeat::stop(const contracts::WorkerHeartbeat* final_beat) {
  if (thread_.joinable()) {
    thread_.request_stop();
    wake_.notify_all();
    thread_.join();
  }
  if (final_beat) send(*final_beat, 1);
}

void WorkerHeartbeat::send(const contracts::WorkerHeartbeat& beat, double timeout_s) {
  auto log = logger("worker");
  const std::string token = token_.current();
  if (token.empty()) {
    log->debug("heartbeat skipped: no cluster token yet");
    return;
  }
  http::Client client({options_.queen_url, token, timeout_s, timeout_s});
  auto response = client.post("/v1/workers/heartbeat", to_json(beat).dump());
  if (!response) {
    log->debug("heartbeat to {} failed: {}", options_.queen_url, response.error().message);
    return;
  }
  if (response->status == 401) token_.invalidate();  // the queen may have a new token
  if (response->status < 200 || response->status >= 300) {
    log->debug("heartbeat to {} answered {}: {}", options_.queen_url, response->status,
               http::error_from_response(*response).message);
  }
}

void WorkerHeartbeat::loop(std::stop_token stop) {
  while (!stop.stop_requested()) {
    send(options_.build(), 2);
    std::unique_lock lock(mu_);
    wake_.wait_for(lock, stop, options_.interval, [this] { return beat_now_; });
    beat_now_ = false;
  }
}

contracts::WorkerHeartbeat make_worker_heartbeat(const WorkerService& service,
                                                 const std::string& url) {
  const WorkerInfo info = service.info();
  contracts::WorkerHeartbeat beat;
  beat.worker_id = info.worker_id;
  beat.hive_id = info.hive_id;
  beat.url = url;
  beat.model = info.model;
  beat.device = info.device;
  beat.worker_type = "cpu";
  beat.state = info.state;
  beat.load_progress = info.load_progress;
  beat.slots_total = info.slots.slots_total;
  beat.slots_busy = info.slots.slots_busy;
  beat.queue_depth = info.slots.queue_depth;
  beat.ctx = info.ctx;
  beat.pid = info.pid;
  beat.heartbeat_interval_ms = service.options().heartbeat_interval.count();
  return beat;
}

}  // namespace rbee::worker
