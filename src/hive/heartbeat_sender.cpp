#include "hive/heartbeat_sender.hpp"

#include <spdlog/spdlog.h>

#include "common/logging.hpp"
#include "http/client.hpp"

namespace rbee::hive {

HeartbeatSender::HeartbeatSender(HeartbeatOptions options) : options_(std::move(options)) {}

HeartbeatSender::~HeartbeatSender() {
  stop();
}

void HeartbeatSender::start() {
  thread_ = std::jthread([this](std::stop_token stop) { loop(stop); });
}

void HeartbeatSender::stop() {
  if (thread_.joinable()) {
    thread_.request_stop();
    wake_.notify_all();
    thread_.join();
  }
}

void HeartbeatSender::beat_now() {
  {
    std::lock_guard lock(mu_);
    beat_now_ = true;
  }
  wake_.notify_all();
}

bool HeartbeatSender::connected() const {
  std::lock_guard lock(mu_);
  return connected_;
}

bool HeartbeatSender::send_once() {
  auto log = logger("hive");
  auto response = options_.queen->post("/v1/hives/heartbeat", to_json(options_.build()).dump());
  if (!response && response.error().code == ErrorCode::kFailedPrecondition) {
    log->debug("{}; waiting for the queen to create it", response.error().message);
    return false;
  }
  bool ok = response && response->status >= 200 && response->status < 300;
  bool was_connected = connected();
  if (ok) {
    if (!was_connected) log->info("heartbeat reaches the queen at {}", options_.queen->queen_url());
    last_failure_.clear();
  } else {
    std::string failure;
    if (response && response->status == 401) {
      // The one failure that waiting cannot mend: say which file holds the wrong token.
      failure = "refused: the cluster token in " + options_.queen->token_file().string() +
                " is not the queen's (copy the queen's cluster.token there, e.g. with `rbee hive "
                "install`)";
    } else {
      failure = response ? http::error_from_response(*response).message : response.error().message;
    }
    // Once per kind of failure, the first one included: a hive that never reached the queen
    // says why.
    if (failure != last_failure_) {
      log->warn("heartbeat to {} failed: {}", options_.queen->queen_url(), failure);
      last_failure_ = failure;
    }
  }
  std::lock_guard lock(mu_);
  connected_ = ok;
  return ok;
}

void HeartbeatSender::loop(std::stop_token stop) {
  auto retry_pause = std::chrono::milliseconds(100);
  while (!stop.stop_requested()) {
    bool ok = send_once();
    auto pause = ok ? options_.interval : retry_pause;
    retry_pause =
        ok ? std::chrono::milliseconds(100) : std::min(retry_pause * 2, options_.interval);
    std::unique_lock lock(mu_);
    wake_.wait_for(lock, stop, pause, [this] { return beat_now_; });
    beat_now_ = false;
  }
}

}  // namespace rbee::hive
