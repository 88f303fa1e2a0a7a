#include "lifecycle/port_allocator.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <random>
#include <set>
#include <thread>

namespace rbee::lifecycle {
namespace {

// A window of `n` ports at a random place in 20000-60000, so parallel runs rarely meet.
std::pair<int, int> random_window(int n) {
  static std::mt19937 random(std::random_device{}());
  int base = std::uniform_int_distribution<int>(20000, 60000 - n)(random);
  return {base, base + n - 1};
}

// Listens on 127.0.0.1:port for the life of the object.
class Listener {
 public:
  explicit Listener(int port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    address.sin_port = htons(static_cast<uint16_t>(port));
    bound_ = ::bind(fd_, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0 &&
             ::listen(fd_, 1) == 0;
  }
  ~Listener() { ::close(fd_); }
  bool bound() const { return bound_; }

 private:
  int fd_ = -1;
  bool bound_ = false;
};

TEST(PortAllocatorTest, ConcurrentAllocationsGetDistinctPortsUntilExhausted) {
  auto [port_min, port_max] = random_window(40);
  PortAllocator ports(port_min, port_max);
  std::mutex mu;
  std::vector<PortLease> leases;
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      while (true) {
        auto lease = ports.allocate();
        if (!lease) {
          EXPECT_EQ(lease.error().code, ErrorCode::kResourceExhausted);
          return;
        }
        std::lock_guard lock(mu);
        leases.push_back(std::move(*lease));
      }
    });
  }
  for (auto& thread : threads) thread.join();
  std::set<int> distinct;
  for (const auto& lease : leases) {
    EXPECT_GE(lease.port(), port_min);
    EXPECT_LE(lease.port(), port_max);
    distinct.insert(lease.port());
  }
  EXPECT_EQ(distinct.size(), leases.size());
  // Other programs on this machine may hold a few ports of the window.
  EXPECT_GE(leases.size(), 35u);
  auto exhausted = ports.allocate();
  ASSERT_FALSE(exhausted);
  EXPECT_EQ(exhausted.error().code, ErrorCode::kResourceExhausted);
  EXPECT_NE(
      exhausted.error().message.find(std::to_string(port_min) + "-" + std::to_string(port_max)),
      std::string::npos)
      << exhausted.error().message;
  // A released port can be had again.
  int released = leases.back().port();
  leases.pop_back();
  EXPECT_FALSE(PortAllocator::leased(released));
  auto again = ports.allocate();
  ASSERT_TRUE(again) << again.error().message;
  EXPECT_EQ(again->port(), released);
}

TEST(PortAllocatorTest, APortBoundBySomeoneElseIsSkipped) {
  auto [port_min, port_max] = random_window(2);
  Listener other(port_min);
  if (!other.bound()) GTEST_SKIP() << "port " << port_min << " is taken already";
  // Tests run in parallel: another one's socket may sit on the window's other port too.
  if (!port_bindable("127.0.0.1", port_max)) GTEST_SKIP() << "port " << port_max << " is taken";
  EXPECT_FALSE(port_bindable("127.0.0.1", port_min));
  PortAllocator ports(port_min, port_max);
  auto lease = ports.allocate();
  ASSERT_TRUE(lease) << lease.error().message;
  EXPECT_EQ(lease->port(), port_max);
  auto none = ports.allocate();
  ASSERT_FALSE(none);
  EXPECT_NE(none.error().message.find("1 used by other programs"), std::string::npos)
      << none.error().message;
}

TEST(PortAllocatorTest, LeasesAreProcessWideAndWalkTheWindow) {
  auto [port_min, port_max] = random_window(3);
  PortAllocator first(port_min, port_max);
  PortAllocator second(port_min, port_max);
  auto a = first.allocate();
  auto b = second.allocate();
  ASSERT_TRUE(a && b);
  EXPECT_NE(a->port(), b->port());
  // An adopted worker's port is reserved as it is; a leased one cannot be reserved twice.
  EXPECT_EQ(PortAllocator::reserve(a->port()).error().code, ErrorCode::kAlreadyExists);
  int released = 0;
  {
    PortLease moved = std::move(*a);
    EXPECT_EQ(a->port(), 0);
    EXPECT_TRUE(PortAllocator::leased(moved.port()));
    released = moved.port();
  }
  EXPECT_FALSE(PortAllocator::leased(released));
  // Round-robin: the next allocation does not go back to the port just released (which port
  // it takes depends on what other programs bind meanwhile, so only that is asserted).
  auto c = first.allocate();
  ASSERT_TRUE(c);
  EXPECT_NE(c->port(), released);
  EXPECT_NE(c->port(), b->port());
  EXPECT_GE(c->port(), port_min);
  EXPECT_LE(c->port(), port_max);
}

}  // namespace
}  // namespace rbee::lifecycle
