#include "lifecycle/process_watcher.hpp"

#include <poll.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "common/check.hpp"
#include "lifecycle/proc_info.hpp"

namespace rbee::lifecycle {
namespace {

// How many exits wait_exit() can still report after the fact.
constexpr size_t kFinishedKept = 64;

// glibc 2.36's <sys/pidfd.h> declares these without C linkage, so the system calls are made
// directly.
int open_pidfd(pid_t pid) {
  return static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
}

int pidfd_signal(int pidfd, int signal) {
  return static_cast<int>(::syscall(SYS_pidfd_send_signal, pidfd, signal, nullptr, 0));
}

}  // namespace

std::string describe_exit(const ExitStatus& status) {
  if (!status.known) return "ended (exit status unknown: not a child of this process)";
  if (status.signal != 0) {
    const char* name = ::sigabbrev_np(status.signal);
    return "killed by signal " + std::to_string(status.signal) +
           (name ? std::string(" (SIG") + name + ")" : "");
  }
  return "exited with code " + std::to_string(status.exit_code);
}

ProcessWatcher::ProcessWatcher() {
  wake_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  RBEE_CHECK(wake_fd_ >= 0, "eventfd for the process watcher");
  thread_ = std::jthread([this](std::stop_token stop) { loop(stop); });
}

ProcessWatcher::~ProcessWatcher() {
  thread_.request_stop();
  wake();
  thread_.join();
  for (auto& [pid, watched] : watched_) {
    if (watched.fd >= 0) ::close(watched.fd);
  }
  ::close(wake_fd_);
}

void ProcessWatcher::wake() {
  uint64_t one = 1;
  [[maybe_unused]] auto n = ::write(wake_fd_, &one, sizeof(one));
}

Status ProcessWatcher::watch(pid_t pid, OnExit on_exit) {
  if (pid <= 0) return make_error(ErrorCode::kNotFound, "no process " + std::to_string(pid));
  {
    std::lock_guard lock(mu_);
    if (watched_.contains(pid)) {
      return make_error(ErrorCode::kAlreadyExists,
                        "process " + std::to_string(pid) + " is watched");
    }
  }
  int fd = open_pidfd(pid);
  if (fd < 0) {
    if (errno == ESRCH) {
      return make_error(ErrorCode::kNotFound, "no process with pid " + std::to_string(pid));
    }
    return make_error(ErrorCode::kInternal,
                      "pidfd_open(" + std::to_string(pid) + "): " + std::strerror(errno));
  }
  {
    std::lock_guard lock(mu_);
    std::erase_if(finished_, [pid](const auto& done) { return done.first == pid; });
    watched_[pid] = Watched{fd, std::move(on_exit)};
  }
  wake();
  return ok_status();
}

Status ProcessWatcher::send_signal(pid_t pid, int signal, bool whole_group) {
  std::lock_guard lock(mu_);
  auto it = watched_.find(pid);
  if (it == watched_.end() || it->second.fd < 0) {
    return make_error(ErrorCode::kNotFound, "process " + std::to_string(pid) + " is not running");
  }
  // Under the lock the watcher cannot reap the process, so its pid (and group id) still name
  // it. The group is checked in /proc for processes that are not our children.
  if (whole_group) {
    auto info = read_process_info(pid);
    if (info && info->process_group == pid) ::kill(-pid, signal);
  }
  if (pidfd_signal(it->second.fd, signal) != 0 && errno != ESRCH) {
    return make_error(ErrorCode::kInternal, "signal " + std::to_string(signal) + " to " +
                                                std::to_string(pid) + ": " + std::strerror(errno));
  }
  return ok_status();
}

bool ProcessWatcher::running(pid_t pid) const {
  std::lock_guard lock(mu_);
  auto it = watched_.find(pid);
  return it != watched_.end() && it->second.fd >= 0;
}

bool ProcessWatcher::known(pid_t pid) const {
  std::lock_guard lock(mu_);
  return watched_.contains(pid);
}

std::optional<ExitStatus> ProcessWatcher::wait_exit(pid_t pid, std::chrono::milliseconds timeout) {
  std::unique_lock lock(mu_);
  std::optional<ExitStatus> status;
  auto done = [&] {
    for (const auto& [finished_pid, finished_status] : finished_) {
      if (finished_pid == pid) status = finished_status;
    }
    return status.has_value() || !watched_.contains(pid);
  };
  exited_.wait_for(lock, timeout, done);
  return status;
}

std::vector<ProcessWatcher::StopOutcome> ProcessWatcher::stop(const std::vector<pid_t>& pids,
                                                              std::chrono::milliseconds grace,
                                                              bool whole_group,
                                                              std::chrono::milliseconds kill_wait) {
  std::vector<StopOutcome> outcomes(pids.size());
  for (pid_t pid : pids) (void)send_signal(pid, SIGTERM, whole_group);
  auto wait_all = [&](std::chrono::steady_clock::time_point deadline) {
    for (size_t i = 0; i < pids.size(); ++i) {
      if (outcomes[i].gone) continue;
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (auto status = wait_exit(pids[i], std::max(left, std::chrono::milliseconds(0)))) {
        outcomes[i].status = *status;
        outcomes[i].gone = true;
      } else if (!known(pids[i])) {
        outcomes[i].gone = true;  // never watched, or reported too long ago to remember
      }
    }
  };
  wait_all(std::chrono::steady_clock::now() + grace);
  for (size_t i = 0; i < pids.size(); ++i) {
    if (outcomes[i].gone) continue;
    outcomes[i].forced = true;
    (void)send_signal(pids[i], SIGKILL, whole_group);
  }
  wait_all(std::chrono::steady_clock::now() + kill_wait);
  return outcomes;
}

void ProcessWatcher::finish(pid_t pid, int fd, const OnExit& on_exit) {
  ExitStatus status;
  {
    // Reaped under the lock: see send_signal().
    std::lock_guard lock(mu_);
    siginfo_t info{};
    int rc;
    do {
      rc = ::waitid(static_cast<idtype_t>(P_PIDFD), static_cast<id_t>(fd), &info, WEXITED);
    } while (rc != 0 && errno == EINTR);
    if (rc == 0) {
      status.known = true;
      if (info.si_code == CLD_EXITED) {
        status.exit_code = info.si_status;
      } else {
        status.signal = info.si_status;
      }
    }
    ::close(fd);
  }
  if (on_exit) on_exit(pid, status);
  {
    std::lock_guard lock(mu_);
    watched_.erase(pid);
    finished_.emplace_back(pid, status);
    while (finished_.size() > kFinishedKept) finished_.pop_front();
  }
  exited_.notify_all();
}

void ProcessWatcher::loop(std::stop_token stop) {
  std::vector<pollfd> fds;
  std::vector<pid_t> pids;
  while (!stop.stop_requested()) {
    fds.assign(1, pollfd{wake_fd_, POLLIN, 0});
    pids.assign(1, 0);
    {
      std::lock_guard lock(mu_);
      for (const auto& [pid, watched] : watched_) {
        if (watched.fd < 0) continue;  // being finished
        fds.push_back(pollfd{watched.fd, POLLIN, 0});
        pids.push_back(pid);
      }
    }
    int ready = ::poll(fds.data(), fds.size(), -1);
    if (ready < 0) continue;  // EINTR
    if (fds[0].revents & POLLIN) {
      uint64_t count = 0;
      [[maybe_unused]] auto n = ::read(wake_fd_, &count, sizeof(count));
    }
    for (size_t i = 1; i < fds.size(); ++i) {
      if (!(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      OnExit on_exit;
      {
        std::lock_guard lock(mu_);
        auto it = watched_.find(pids[i]);
        if (it == watched_.end() || it->second.fd != fds[i].fd) continue;
        on_exit = it->second.on_exit;
        it->second.fd = -1;
      }
      finish(pids[i], fds[i].fd, on_exit);
    }
  }
}

}  // namespace rbee::lifecycle
