#pragma once

#include <chrono>
#include <cstdint>

namespace rbee {

// Wall-clock milliseconds since the Unix epoch (for timestamps on the wire).
inline int64_t now_unix_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Monotonic milliseconds (for intervals and deadlines; never goes backwards).
inline int64_t now_steady_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace rbee
