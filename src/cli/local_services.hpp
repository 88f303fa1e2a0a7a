#pragma once

// The queen and hive on this machine, as the CLI sees them: started on demand (detached,
// with logs under the state folder), checked, and stopped.

#include <sys/types.h>

#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "common/config.hpp"
#include "common/paths.hpp"
#include "common/result.hpp"

namespace rbee::cli {

struct Program {
  const char* name;  // "queen-rbee" | "rbee-hive"
};
inline constexpr Program kQueenProgram{"queen-rbee"};
inline constexpr Program kHiveProgram{"rbee-hive"};

class LocalServices {
 public:
  // `bin_dir` holds queen-rbee and rbee-hive (the CLI's own folder).
  LocalServices(Paths paths, RbeeConfig config, std::filesystem::path bin_dir);

  std::string queen_url() const;
  std::string hive_url() const;
  bool queen_healthy() const;
  bool hive_healthy() const;

  // Starts the queen and the local hive where they do not answer, and waits (backoff,
  // deadline) until the queen is healthy and lists the hive online. Says what it started in one
  // line on stderr. kUnavailable with the log's last lines when a program fails to come up.
  Status ensure_running();

  // Asks the program to shut down (POST /v1/shutdown with the cluster token), falls back to
  // SIGTERM/SIGKILL of its pid file, and waits until it is gone. Returns whether it was running.
  Result<bool> stop(const Program& program);

  // The pid of the running program, from its pid file (0 when not running).
  pid_t running_pid(const Program& program) const;

 private:
  Result<pid_t> spawn(const Program& program, const std::vector<std::string>& args) const;
  Status wait_until(const Program& program, pid_t pid, const std::function<bool()>& ready,
                    const std::string& what) const;
  std::filesystem::path log_path(const Program& program) const;
  std::string url_of(const Program& program) const;

  Paths paths_;
  RbeeConfig config_;
  std::filesystem::path bin_dir_;
};

// The last `n_lines` lines of a text file (for failure messages).
std::string tail_lines(const std::filesystem::path& path, size_t n_lines);

}  // namespace rbee::cli
