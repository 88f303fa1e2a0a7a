#include "lifecycle/health_check.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <thread>

#include "contracts/json_reader.hpp"
#include "http/client.hpp"

namespace rbee::lifecycle {

HealthReading read_health(const std::string& base_url, std::chrono::milliseconds timeout) {
  double timeout_s = std::max(0.05, static_cast<double>(timeout.count()) / 1000.0);
  http::Client client({base_url, "", std::min(timeout_s, 1.0), timeout_s});
  HealthReading reading;
  auto response = client.get("/health");
  if (!response) {
    reading.detail = response.error().message;
    return reading;
  }
  reading.http_status = response->status;
  reading.detail = "HTTP " + std::to_string(response->status) + " " + response->body.substr(0, 200);
  auto body = contracts::parse_json_text(response->body);
  if (response->status == 200) {
    reading.state = HealthReading::State::kReady;
  } else if (response->status == 503 && body && body->is_object() &&
             body->value("status", "") == "loading") {
    reading.state = HealthReading::State::kLoading;
    auto progress = body->find("progress");
    if (progress != body->end() && progress->is_number()) {
      reading.progress = std::clamp(progress->get<double>(), 0.0, 1.0);
    }
  } else {
    reading.state = HealthReading::State::kUnexpected;
  }
  return reading;
}

Status wait_until_healthy(const HealthWait& wait) {
  using Clock = std::chrono::steady_clock;
  auto deadline = Clock::now() + wait.timeout;
  auto pause = std::chrono::milliseconds(10);
  HealthReading last;
  while (true) {
    if (Clock::now() >= deadline) break;
    auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now());
    last = read_health(wait.base_url, std::min(left, std::chrono::milliseconds(2000)));
    if (last.state == HealthReading::State::kReady) return ok_status();
    if (last.state == HealthReading::State::kLoading && wait.on_loading) {
      wait.on_loading(last.progress);
    }
    if (Clock::now() >= deadline) break;
    left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now());
    auto nap = std::min(pause, left);
    if (wait.pause) {
      if (!wait.pause(nap)) return make_error(ErrorCode::kCancelled, "stopped waiting for health");
    } else {
      std::this_thread::sleep_for(nap);
    }
    pause = std::min(pause * 2, wait.max_pause);
  }
  std::string said = last.state == HealthReading::State::kLoading
                         ? fmt::format("still loading ({:.0f}%)", last.progress * 100)
                         : last.detail;
  return make_error(
      ErrorCode::kDeadlineExceeded,
      fmt::format("{}/health was not ready within {:g} s; last answer: {}", wait.base_url,
                  static_cast<double>(wait.timeout.count()) / 1000.0, said));
}

}  // namespace rbee::lifecycle
