#pragma once

// Runs a program briefly and collects what it prints: used to ask a worker binary for its
// `--version` before it enters the catalog. The program is started directly from an argv
// array (never through a shell), in its own process group so that a timeout kills whatever
// it started too.

#include <chrono>
#include <cstddef>
#include <string>
#include <vector>

#include "common/result.hpp"

namespace rbee::catalog {

struct ProgramOutput {
  int exit_code = 0;        // the exit status, or 128 + signal number when a signal ended it
  std::string stdout_text;  // at most kMaxCapturedBytes
  std::string stderr_text;  // at most kMaxCapturedBytes
};

// Output beyond this many bytes per stream is read and dropped.
inline constexpr size_t kMaxCapturedBytes = 64 * 1024;

// Runs argv[0] (a path; PATH is not searched) with argv, stdin from /dev/null, and waits for
// it to exit. Returns its exit code and output whatever the code. kNotFound when argv[0]
// does not exist; kInvalidArgument when it cannot be executed (no permission, not a program
// the kernel can run); kDeadlineExceeded after `timeout` (the process group is killed);
// kInternal when the OS refuses pipes or processes.
Result<ProgramOutput> run_program(const std::vector<std::string>& argv,
                                  std::chrono::milliseconds timeout);

}  // namespace rbee::catalog
