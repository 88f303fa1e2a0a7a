#pragma once

// What the OS says about a process, read from /proc (Linux, proc(5)): its identity (start
// time, so that a reused pid is recognised), its resource use and its command line.
//
//   RBEE_ASSIGN_OR_RETURN(ProcessInfo info, read_process_info(pid));
//   bool same = info.start_ticks == record.start_ticks && info.cmdline == record.argv;
//
// Thread-safety: free functions without shared state; call from any thread.

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "common/result.hpp"

namespace rbee::lifecycle {

struct ProcessInfo {
  pid_t pid = 0;
  char state = '?';                  // proc(5) state letter: R, S, D, Z (zombie), T, ...
  pid_t parent_pid = 0;              // field 4
  pid_t process_group = 0;           // field 5
  uint64_t start_ticks = 0;          // field 22: clock ticks after boot when it started
  double cpu_time_s = 0;             // utime + stime (fields 14 and 15)
  int64_t rss_bytes = 0;             // field 24 (pages) times the page size
  double uptime_s = 0;               // seconds since it started
  std::vector<std::string> cmdline;  // argv as the process has it now (empty for zombies)

  bool zombie() const { return state == 'Z'; }
};

// Reads /proc/<pid>/stat and /proc/<pid>/cmdline. kNotFound when there is no such process;
// kInternal when the files cannot be parsed.
Result<ProcessInfo> read_process_info(pid_t pid);

// The start time (field 22 of /proc/<pid>/stat) alone; kNotFound when there is no such
// process. A pid whose start time changed belongs to another process.
Result<uint64_t> process_start_ticks(pid_t pid);

// The last `n_lines` lines of a text file, oldest first, without their line ends; reads at
// most the final 64 KiB. Empty when the file is missing or empty.
std::vector<std::string> last_lines(const std::filesystem::path& path, size_t n_lines);

}  // namespace rbee::lifecycle
