#pragma once

// Waiting for a worker to become ready (ARCHITECTURE.md §7): `GET /health` answers 503
// {"status":"loading","progress":0.42} while the model loads and 200 {"status":"ok"} once it
// is ready; before the worker binds its port the connection is refused.
//
//   HealthWait wait{"http://127.0.0.1:9100", 300s};
//   wait.on_loading = [&](double fraction) { report(fraction); };
//   wait.pause = [&](std::chrono::milliseconds d) { return !exited_within(d); };
//   RBEE_RETURN_IF_ERROR(wait_until_healthy(wait));
//
// Thread-safety: free functions; call from any thread.

#include <chrono>
#include <functional>
#include <string>

#include "common/result.hpp"

namespace rbee::lifecycle {

struct HealthReading {
  enum class State {
    kUnreachable,  // no connection (not listening yet) or no answer in time
    kLoading,      // 503 with status "loading"
    kReady,        // 200
    kUnexpected,   // any other answer
  };
  State state = State::kUnreachable;
  double progress = 0;  // kLoading: 0..1 from the body, when it says
  int http_status = 0;
  std::string detail;  // what it answered, for messages
};

// One `GET {base_url}/health`, waiting at most `timeout`.
HealthReading read_health(const std::string& base_url, std::chrono::milliseconds timeout);

struct HealthWait {
  std::string base_url;
  std::chrono::milliseconds timeout{300000};
  std::chrono::milliseconds max_pause{250};  // probes start 10 ms apart and back off to this
  // Waits up to the given time between probes; returns false to give up (the process exited,
  // the job was cancelled). Default: sleeps.
  std::function<bool(std::chrono::milliseconds)> pause;
  // Called with the progress of each loading answer.
  std::function<void(double fraction)> on_loading;
};

// Probes until /health answers 200. kDeadlineExceeded saying what it last answered after
// `timeout`; kCancelled when `pause` returned false.
Status wait_until_healthy(const HealthWait& wait);

}  // namespace rbee::lifecycle
