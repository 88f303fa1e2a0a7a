#pragma once

// Runs an http::Server on 127.0.0.1 on a free port in a background thread, for tests.

#include <thread>

#include "http/server.hpp"

namespace rbee::http::testing {

class RunningServer {
 public:
  explicit RunningServer(Server& server) : server_(server) {
    auto bound = server_.bind("127.0.0.1", 0);
    if (!bound) std::abort();
    port_ = *bound;
    thread_ = std::thread([this] { server_.run(); });
  }
  ~RunningServer() {
    server_.stop();
    thread_.join();
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  int port() const { return port_; }

 private:
  Server& server_;
  int port_ = 0;
  std::thread thread_;
};

}  // namespace rbee::http::testing
