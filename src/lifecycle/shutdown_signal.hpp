#pragma once

// Waits for a reason to shut down: SIGINT or SIGTERM, or a request from inside the program
// (`POST /v1/shutdown`). Construct it in main() before any thread starts: it blocks those
// signals for the whole process so that no other thread receives them.

#include <chrono>

namespace rbee::lifecycle {

class ShutdownSignal {
 public:
  ShutdownSignal();
  ~ShutdownSignal();
  ShutdownSignal(const ShutdownSignal&) = delete;
  ShutdownSignal& operator=(const ShutdownSignal&) = delete;

  // Blocks until a signal arrives or request() is called.
  void wait();
  // Thread-safe; may be called any number of times.
  void request();

 private:
  int signal_fd_ = -1;
  int event_fd_ = -1;
};

}  // namespace rbee::lifecycle
