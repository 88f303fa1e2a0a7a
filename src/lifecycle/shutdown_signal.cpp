#include "lifecycle/shutdown_signal.hpp"

#include <poll.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>

#include "common/check.hpp"

namespace rbee::lifecycle {

ShutdownSignal::ShutdownSignal() {
  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGINT);
  sigaddset(&mask, SIGTERM);
  RBEE_CHECK(pthread_sigmask(SIG_BLOCK, &mask, nullptr) == 0, "cannot block shutdown signals");
  // Writes to a closed socket must fail with EPIPE, not kill the program.
  ::signal(SIGPIPE, SIG_IGN);
  signal_fd_ = ::signalfd(-1, &mask, SFD_CLOEXEC);
  event_fd_ = ::eventfd(0, EFD_CLOEXEC);
  RBEE_CHECK(signal_fd_ >= 0 && event_fd_ >= 0, "cannot create shutdown descriptors");
}

ShutdownSignal::~ShutdownSignal() {
  ::close(signal_fd_);
  ::close(event_fd_);
}

void ShutdownSignal::wait() {
  pollfd fds[2] = {{signal_fd_, POLLIN, 0}, {event_fd_, POLLIN, 0}};
  while (::poll(fds, 2, -1) < 0 && errno == EINTR) {
  }
}

void ShutdownSignal::request() {
  uint64_t one = 1;
  [[maybe_unused]] ssize_t n = ::write(event_fd_, &one, sizeof(one));
}

}  // namespace rbee::lifecycle
