#pragma once

// Where rbee keeps its files (ARCHITECTURE.md §3). With RBEE_HOME set everything lives
// under it (config/, cache/, state/); otherwise the XDG base directories are used.

#include <filesystem>
#include <map>
#include <string>

#include "common/result.hpp"

namespace rbee {

struct Paths {
  std::filesystem::path config_dir;  // config.toml, hives.toml, cluster.token
  std::filesystem::path cache_dir;   // models/, workers/
  std::filesystem::path state_dir;   // queen database, logs, pid files

  std::filesystem::path config_file() const { return config_dir / "config.toml"; }
  std::filesystem::path token_file() const { return config_dir / "cluster.token"; }
  std::filesystem::path log_dir() const { return state_dir / "logs"; }
  std::filesystem::path pid_file(const std::string& program) const {
    return state_dir / (program + ".pid");
  }

  // Resolves the folders from an environment (RBEE_HOME, XDG_*_HOME, HOME).
  // kFailedPrecondition when neither RBEE_HOME nor HOME is set.
  static Result<Paths> from_environment(const std::map<std::string, std::string>& env);
  // The same, from this process's environment.
  static Result<Paths> from_process_environment();

  // Creates the folders (mode 0700 for config and state). kInternal with the path on failure.
  Status create_directories() const;
};

}  // namespace rbee
