#include "lifecycle/port_allocator.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <set>

namespace rbee::lifecycle {
namespace {

// The ports leased in this process, whatever allocator leased them.
struct Leases {
  std::mutex mu;
  std::set<int> ports;  // guarded by mu
};

Leases& leases() {
  static Leases instance;
  return instance;
}

}  // namespace

PortLease::~PortLease() {
  release();
}

PortLease::PortLease(PortLease&& other) noexcept : port_(other.port_) {
  other.port_ = 0;
}

PortLease& PortLease::operator=(PortLease&& other) noexcept {
  if (this != &other) {
    release();
    port_ = other.port_;
    other.port_ = 0;
  }
  return *this;
}

void PortLease::release() {
  if (port_ == 0) return;
  std::lock_guard lock(leases().mu);
  leases().ports.erase(port_);
  port_ = 0;
}

PortAllocator::PortAllocator(int port_min, int port_max, std::string host)
    : port_min_(port_min), port_max_(port_max), host_(std::move(host)), next_(port_min) {}

Result<PortLease> PortAllocator::allocate() {
  std::lock_guard own(mu_);
  int n_ports = port_max_ - port_min_ + 1;
  int n_taken_elsewhere = 0;
  for (int i = 0; i < n_ports; ++i) {
    int port = port_min_ + (next_ - port_min_ + i) % n_ports;
    {
      // The bind test runs under the lock so that no other thread leases the port between
      // the test and the insert.
      std::lock_guard lock(leases().mu);
      if (leases().ports.contains(port)) continue;
      if (!port_bindable(host_, port)) {
        ++n_taken_elsewhere;
        continue;
      }
      leases().ports.insert(port);
    }
    next_ = port == port_max_ ? port_min_ : port + 1;
    return PortLease(port);
  }
  return make_error(ErrorCode::kResourceExhausted,
                    "no free port for a worker in " + std::to_string(port_min_) + "-" +
                        std::to_string(port_max_) + " (" +
                        std::to_string(n_ports - n_taken_elsewhere) +
                        " held by this hive's workers, " + std::to_string(n_taken_elsewhere) +
                        " used by other programs); stop a worker or widen [workers] port_min/"
                        "port_max");
}

Result<PortLease> PortAllocator::reserve(int port) {
  std::lock_guard lock(leases().mu);
  if (!leases().ports.insert(port).second) {
    return make_error(ErrorCode::kAlreadyExists, "port " + std::to_string(port) + " is leased");
  }
  return PortLease(port);
}

bool PortAllocator::leased(int port) {
  std::lock_guard lock(leases().mu);
  return leases().ports.contains(port);
}

bool port_bindable(const std::string& host, int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(port));
  if (::inet_pton(AF_INET, host == "localhost" ? "127.0.0.1" : host.c_str(), &address.sin_addr) !=
      1) {
    ::close(fd);
    return false;
  }
  bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0;
  ::close(fd);
  return ok;
}

}  // namespace rbee::lifecycle
