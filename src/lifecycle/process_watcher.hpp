#pragma once

// Notices the exit of watched processes at once, children or not: one thread polls a pidfd
// per process (pidfd_open(2), Linux 5.3+). A child of this process is reaped by the watcher
// (waitid P_PIDFD) and its exit code or signal reported; for any other process (a worker
// adopted after a restart) the OS keeps no status for us, so the status is unknown.
//
//   ProcessWatcher watcher;
//   watcher.watch(pid, [](pid_t pid, const ExitStatus& status) { ... });  // watcher thread
//   watcher.send_signal(pid, SIGTERM);
//   auto status = watcher.wait_exit(pid, 10s);
//
// Nothing else in the process may reap a watched child (waitpid on it, or process_alive(),
// which reaps): the watcher would lose its status.
//
// Thread-safety: every member may be called from any thread. Callbacks run on the watcher
// thread, one at a time, and must not call watch()/wait_exit() for the pid they report.

#include <sys/types.h>

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "common/result.hpp"

namespace rbee::lifecycle {

struct ExitStatus {
  bool known = false;  // false: not our child, the OS keeps its status from us
  int exit_code = -1;  // -1 when killed by a signal or unknown
  int signal = 0;      // the signal that ended it, 0 when it exited or unknown
};
// "exited with code 2", "killed by signal 9 (SIGKILL)", "ended (exit status unknown)".
std::string describe_exit(const ExitStatus& status);

class ProcessWatcher {
 public:
  using OnExit = std::function<void(pid_t pid, const ExitStatus& status)>;

  ProcessWatcher();
  // Stops the thread; processes still running are no longer watched (nor reaped).
  ~ProcessWatcher();
  ProcessWatcher(const ProcessWatcher&) = delete;
  ProcessWatcher& operator=(const ProcessWatcher&) = delete;

  // Starts watching `pid`; `on_exit` is called once, on the watcher thread, when it ends (at
  // once when it already has). kNotFound when no such process exists (a non-child that is
  // gone); kAlreadyExists when the pid is watched; kInternal when no pidfd can be opened.
  Status watch(pid_t pid, OnExit on_exit);

  // Sends `signal` through the pidfd, so a reused pid is never hit; with `whole_group` also
  // to its process group (pid == group id: spawned with a new session), so helpers it started
  // go too. kNotFound when the pid is not watched or has already been reported.
  Status send_signal(pid_t pid, int signal, bool whole_group = false);

  struct StopOutcome {
    ExitStatus status;
    bool gone = false;    // false: still running even after SIGKILL (a process stuck in D state)
    bool forced = false;  // SIGKILL was needed
  };
  // Stops watched processes together: SIGTERM to all (their groups with `whole_group`), waits
  // up to `grace`, SIGKILLs those left, waits up to a further `kill_wait`. One outcome per pid,
  // in order; a pid that is not watched is reported gone with an unknown status.
  std::vector<StopOutcome> stop(const std::vector<pid_t>& pids, std::chrono::milliseconds grace,
                                bool whole_group,
                                std::chrono::milliseconds kill_wait = std::chrono::seconds(5));

  // Whether `pid` is watched and has not exited yet.
  bool running(pid_t pid) const;

  // Waits until the watched `pid` has exited and its callback has returned. Its status, or
  // nullopt on timeout (or when the pid was never watched and is not among the last few
  // that exited).
  std::optional<ExitStatus> wait_exit(pid_t pid, std::chrono::milliseconds timeout);

 private:
  struct Watched {
    int fd = -1;
    OnExit on_exit;
  };
  bool known(pid_t pid) const;  // watched, exited or not
  void loop(std::stop_token stop);
  void wake();
  void finish(pid_t pid, int fd, const OnExit& on_exit);

  int wake_fd_ = -1;
  mutable std::mutex mu_;
  std::condition_variable exited_;
  // guarded by mu_
  std::map<pid_t, Watched> watched_;
  std::deque<std::pair<pid_t, ExitStatus>> finished_;  // the last few, newest last
  std::jthread thread_;
};

}  // namespace rbee::lifecycle
