#pragma once

// Starting, watching and stopping processes: argv arrays (never a shell), detached
// sessions with their output in a log file, pid files, and waits with backoff and deadlines.

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "common/result.hpp"

namespace rbee::lifecycle {

struct SpawnOptions {
  std::vector<std::string> argv;   // argv[0] is the program's path
  std::filesystem::path log_file;  // stdout and stderr are appended here
  bool new_session = true;         // detach from the caller's terminal and signals
};

// Starts a process with stdin from /dev/null and no other file descriptor of this process
// but stdout and stderr. kNotFound when the program does not exist, kInternal on other
// failures.
Result<pid_t> spawn_process(const SpawnOptions& options);

// Runs a program (argv[0] looked up on PATH when it has no '/') and returns its stdout.
// kNotFound when the program is not installed; kDeadlineExceeded (and the process is killed)
// after `timeout`; kInternal when it exits non-zero.
Result<std::string> run_and_capture(const std::vector<std::string>& argv,
                                    std::chrono::milliseconds timeout);

struct CollectedRun {
  int exit_code = -1;  // -1 when a signal ended it
  std::string output;  // stdout and stderr, interleaved
};
// Like run_and_capture, but stderr is collected too and any exit status is a successful
// Result, for callers that report what a failing program said (ssh, scp).
Result<CollectedRun> run_and_collect(const std::vector<std::string>& argv,
                                     std::chrono::milliseconds timeout);

// Whether a process with this pid exists and is not a zombie.
bool process_alive(pid_t pid);

// The process's argv[0] from /proc, or empty when it cannot be read.
std::string process_program(pid_t pid);

// Reaps `pid` if it is this process's child and has exited (no-op otherwise).
void reap_if_child(pid_t pid);

// SIGTERM, then SIGKILL after `grace`; returns once the process is gone. kDeadlineExceeded
// when even SIGKILL did not end it within a second.
Status stop_process(pid_t pid, std::chrono::milliseconds grace);

// Calls `ready` with growing pauses (from 10 ms up to `max_pause`) until it returns true or
// `timeout` passes. Returns whether it became ready.
bool poll_until(const std::function<bool()>& ready, std::chrono::milliseconds timeout,
                std::chrono::milliseconds max_pause = std::chrono::milliseconds(250));

// Pid files: "<pid>\n", written atomically.
Status write_pid_file(const std::filesystem::path& path, pid_t pid);
// kNotFound when there is no pid file; kInvalidArgument when it holds no pid.
Result<pid_t> read_pid_file(const std::filesystem::path& path);
// The pid in the file when that process is alive and runs `program` (matched on the file
// name of argv[0]); else 0. A stale file (dead process, reused pid) is removed.
pid_t live_pid_from_file(const std::filesystem::path& path, const std::string& program);

}  // namespace rbee::lifecycle
