#pragma once

// Helpers for the provision tests (not part of the library).

#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <fstream>
#include <mutex>
#include <sstream>
#include <string>
#include <vector>

#include "hf_test_server.hpp"
#include "provision/download.hpp"

namespace rbee::provision::testing {

// Quick retries, and a stall timeout long enough never to fire by accident.
inline TransferOptions fast_options() {
  TransferOptions options;
  options.stall_timeout_s = 10;
  options.max_attempts = 4;
  options.initial_backoff_s = 0.01;
  options.max_backoff_s = 0.05;
  return options;
}

// Bytes that differ at every offset of interest (not periodic at 4096 or 64 Ki).
inline std::string patterned_content(size_t n, unsigned seed = 1) {
  std::string content(n, '\0');
  uint32_t x = seed * 2654435761u + 1;
  for (size_t i = 0; i < n; ++i) {
    x = x * 1664525u + 1013904223u;
    content[i] = static_cast<char>(x >> 24);
  }
  return content;
}

inline std::string read_bytes(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

inline void write_bytes(const std::filesystem::path& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
}

// Records progress calls; lets a test wait until the download reached some byte.
class ProgressRecorder {
 public:
  ProgressFn callback() {
    return [this](const Progress& progress) {
      std::lock_guard lock(mu_);
      calls_.push_back(progress);
      changed_.notify_all();
    };
  }
  // True once a call reported at least `bytes` (false after `timeout`).
  bool wait_for_bytes(uint64_t bytes, std::chrono::seconds timeout = std::chrono::seconds(20)) {
    std::unique_lock lock(mu_);
    return changed_.wait_for(lock, timeout,
                             [&] { return !calls_.empty() && calls_.back().bytes_done >= bytes; });
  }
  std::vector<Progress> calls() const {
    std::lock_guard lock(mu_);
    return calls_;
  }

 private:
  mutable std::mutex mu_;
  std::condition_variable changed_;
  std::vector<Progress> calls_;
};

// The Range headers of the requests whose path starts with `prefix`, in order.
inline std::vector<std::string> ranges_of(const rbee::testing::HfTestServer& server,
                                          const std::string& prefix) {
  std::vector<std::string> out;
  for (const auto& request : server.requests()) {
    if (request.path.rfind(prefix, 0) == 0) out.push_back(request.range);
  }
  return out;
}

inline std::vector<int> statuses_of(const rbee::testing::HfTestServer& server,
                                    const std::string& prefix) {
  std::vector<int> out;
  for (const auto& request : server.requests()) {
    if (request.path.rfind(prefix, 0) == 0) out.push_back(request.status);
  }
  return out;
}

}  // namespace rbee::provision::testing
