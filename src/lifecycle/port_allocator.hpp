#pragma once

// Ports for worker processes: a window [port_min, port_max] of which each allocation takes a
// port that (1) no lease in this process holds and (2) binds on the host right now. The
// leases are process-wide: two allocators, or two spawns racing on two threads, never get the
// same port. A lease releases its port when destroyed (the worker exited).
//
//   PortAllocator ports(config.port_min, config.port_max);
//   RBEE_ASSIGN_OR_RETURN(PortLease lease, ports.allocate());
//   spawn(..., "--port", std::to_string(lease.port()));
//
// The bind test cannot stop another program from taking the port between the test and the
// worker's own bind; the worker then exits with its "port in use" code and the caller
// allocates again. Successive allocations walk the window round-robin, so a port that was
// just released is not handed out again at once (its old URL may still be remembered).
//
// Thread-safety: every member may be called from any thread.

#include <memory>
#include <mutex>
#include <string>

#include "common/result.hpp"

namespace rbee::lifecycle {

// Holds one port. Movable, not copyable; an empty lease (port() == 0) holds nothing.
class PortLease {
 public:
  PortLease() = default;
  ~PortLease();
  PortLease(PortLease&& other) noexcept;
  PortLease& operator=(PortLease&& other) noexcept;
  PortLease(const PortLease&) = delete;
  PortLease& operator=(const PortLease&) = delete;

  int port() const { return port_; }
  // Gives the port back now (idempotent).
  void release();

 private:
  friend class PortAllocator;
  explicit PortLease(int port) : port_(port) {}
  int port_ = 0;
};

class PortAllocator {
 public:
  // `host` is the address the workers bind (the bind test uses it).
  PortAllocator(int port_min, int port_max, std::string host = "127.0.0.1");

  // Leases a free port. kResourceExhausted naming the window when every port is leased or
  // bound by someone else.
  Result<PortLease> allocate();
  // Leases exactly `port` without a bind test (a running worker that is adopted already
  // listens on it). kAlreadyExists when a lease holds it.
  static Result<PortLease> reserve(int port);
  // Whether some lease in this process holds `port`.
  static bool leased(int port);

 private:
  int port_min_;
  int port_max_;
  std::string host_;
  std::mutex mu_;
  int next_ = 0;  // guarded by mu_: where the next search starts
};

// Whether a TCP socket can bind host:port now, with SO_REUSEADDR but not SO_REUSEPORT: a port
// another socket listens on is never "bindable" (cpp-httplib servers set SO_REUSEPORT, so a
// test with it would share a listening port between two servers of one user). The price: a
// port that only has TIME_WAIT connections of such a server left reads as taken for up to a
// minute after the server exited.
bool port_bindable(const std::string& host, int port);

}  // namespace rbee::lifecycle
