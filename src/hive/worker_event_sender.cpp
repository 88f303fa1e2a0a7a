#include "hive/worker_event_sender.hpp"

#include <spdlog/spdlog.h>

#include "common/logging.hpp"

namespace rbee::hive {

using namespace std::chrono_literals;

WorkerEventSender::WorkerEventSender(std::shared_ptr<QueenLink> queen,
                                     std::chrono::milliseconds give_up_after)
    : queen_(std::move(queen)), give_up_after_(give_up_after) {
  thread_ = std::jthread([this](std::stop_token stop) { loop(stop); });
}

WorkerEventSender::~WorkerEventSender() {
  stop(0ms);
}

void WorkerEventSender::send(contracts::HiveWorkerEvent event) {
  {
    std::lock_guard lock(mu_);
    if (stopped_) return;
    queue_.push_back({std::move(event), std::chrono::steady_clock::now()});
  }
  wake_.notify_all();
}

void WorkerEventSender::stop(std::chrono::milliseconds flush_timeout) {
  {
    std::lock_guard lock(mu_);
    if (stopped_) return;
    stopped_ = true;
    flush_deadline_ = std::chrono::steady_clock::now() + flush_timeout;
  }
  thread_.request_stop();
  wake_.notify_all();
  thread_.join();
}

WorkerEventSender::Outcome WorkerEventSender::deliver(const contracts::HiveWorkerEvent& event) {
  auto response = queen_->post("/v1/hives/events", contracts::to_json(event).dump());
  if (!response) return Outcome::kRetry;
  if (response->status >= 200 && response->status < 300) return Outcome::kDelivered;
  if (response->status == 401 || response->status == 429 || response->status >= 500) {
    return Outcome::kRetry;
  }
  logger("hive")->warn("the queen refused the event for worker {}: {}", event.worker_id,
                       http::error_from_response(*response).message);
  return Outcome::kRefused;
}

void WorkerEventSender::loop(std::stop_token stop) {
  auto pause = 100ms;
  while (true) {
    contracts::HiveWorkerEvent event;
    {
      std::unique_lock lock(mu_);
      wake_.wait(lock, stop, [this] { return !queue_.empty(); });
      if (queue_.empty()) return;
      if (stop.stop_requested() && std::chrono::steady_clock::now() >= flush_deadline_) {
        logger("hive")->warn("{} worker event(s) not delivered to the queen before shutdown",
                             queue_.size());
        return;
      }
      event = queue_.front().event;
    }
    Outcome outcome = deliver(event);
    {
      std::lock_guard lock(mu_);
      bool too_old = std::chrono::steady_clock::now() - queue_.front().queued_at > give_up_after_;
      if (outcome != Outcome::kRetry || too_old) {
        if (outcome == Outcome::kRetry) {
          logger("hive")->warn("gave up telling the queen that worker {} {}", event.worker_id,
                               event.kind == "worker_failed" ? "failed" : "exited");
        }
        queue_.pop_front();
        pause = 100ms;
        continue;
      }
    }
    // Wait before retrying; a stop request ends the wait (the flush then retries until its
    // deadline, with short pauses).
    std::unique_lock lock(mu_);
    if (stop.stop_requested()) {
      wake_.wait_for(lock, 50ms, [] { return false; });
    } else {
      wake_.wait_for(lock, stop, pause, [] { return false; });
    }
    pause = std::min(pause * 2, std::chrono::milliseconds(2000));
  }
}

}  // namespace rbee::hive
