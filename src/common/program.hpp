#pragma once

// Start-up shared by the daemons: rbee's folders and settings, then a pid file that is
// removed again on the way out.

#include <filesystem>
#include <string>

#include "common/config.hpp"
#include "common/paths.hpp"
#include "common/result.hpp"

namespace rbee {

struct ProgramSetup {
  Paths paths;
  RbeeConfig config;
};

// Resolves the folders from the environment, creates them and loads config.toml.
Result<ProgramSetup> load_program_setup();

// Writes `<state>/<program>.pid` on construction and removes it on destruction (only if it
// still names this process).
class PidFileGuard {
 public:
  PidFileGuard(std::filesystem::path path);
  ~PidFileGuard();
  PidFileGuard(const PidFileGuard&) = delete;
  PidFileGuard& operator=(const PidFileGuard&) = delete;

 private:
  std::filesystem::path path_;
};

}  // namespace rbee
