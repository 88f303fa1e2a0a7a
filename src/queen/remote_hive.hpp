#pragma once

// Remote hives over the system's OpenSSH client (ARCHITECTURE.md §9): install, uninstall,
// start and kill a hive on a machine of hives.toml. Every ssh and scp runs from an argv
// (never a local shell); the remote commands are fixed text with each value single-quoted.
// ssh runs in batch mode and checks host keys as the user's ssh does (their ssh_config and
// known_hosts, or the queen's `ssh_config` setting), adding only the user, port and identity
// file of hives.toml.
//
// The functions run on a job's thread and narrate each step into it.

#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

#include "common/config.hpp"
#include "common/result.hpp"
#include "jobs/job_context.hpp"

namespace rbee::queen {

// How to reach one remote machine: the ssh and scp argv for it.
class SshTarget {
 public:
  // `ssh_config` empty: the user's own ssh configuration.
  SshTarget(const RemoteHiveConfig& remote, std::string ssh_config);

  // "user@host", or "host" when hives.toml names no user.
  std::string destination() const;
  // `ssh <options> -p PORT destination -- remote_command`.
  std::vector<std::string> ssh_argv(const std::string& remote_command) const;
  // `scp <options> -P PORT local destination:remote_path` (an upload).
  std::vector<std::string> scp_argv(const std::filesystem::path& local,
                                    const std::string& remote_path) const;

 private:
  std::vector<std::string> options() const;

  RemoteHiveConfig remote_;
  std::string ssh_config_;
};

// `value` as one word for a POSIX shell.
std::string shell_quote(const std::string& value);

struct RemoteHiveOptions {
  std::filesystem::path bin_dir;     // where rbee-hive and llm-worker-rbee are on this machine
  std::filesystem::path token_file;  // the cluster token to copy
  std::string ssh_config;            // QueenConfig::ssh_config
  std::chrono::milliseconds command_timeout = std::chrono::seconds(60);
};

// Checks the remote (Linux x86-64, the programs' shared libraries), copies rbee-hive and
// llm-worker-rbee to ~/.local/bin and the token (0600) to its rbee config folder, and runs
// `rbee-hive --version` there. kUnavailable when ssh cannot reach or log in to the machine,
// kFailedPrecondition when it is not a machine the programs run on (saying what is missing),
// kNotFound when the programs are not next to the queen, kInternal when a step fails there.
Status install_remote_hive(const RemoteHiveConfig& remote, const RemoteHiveOptions& options,
                           jobs::JobContext& job);

// Removes the programs and the token; with `purge` also the hive's models and state.
// kFailedPrecondition while the hive runs there; kUnavailable when ssh fails.
Status uninstall_remote_hive(const RemoteHiveConfig& remote, bool purge,
                             const RemoteHiveOptions& options, jobs::JobContext& job);

// Starts the installed hive detached (its output in its log folder there), listening on the
// configured host and hive port and reporting to `queen_url`. Returns once it was launched;
// the caller waits for its heartbeat. kFailedPrecondition when it is not installed.
Status launch_remote_hive(const RemoteHiveConfig& remote, const std::string& queen_url,
                          const RemoteHiveOptions& options, jobs::JobContext& job);

// The last lines of the hive's log there (empty when it cannot be read), for error messages.
std::string remote_hive_log_tail(const RemoteHiveConfig& remote, const RemoteHiveOptions& options);

// Ends the hive through its pid file there: SIGTERM, SIGKILL when it lingers. OK when no hive
// runs there (anymore).
Status kill_remote_hive(const RemoteHiveConfig& remote, const RemoteHiveOptions& options,
                        jobs::JobContext& job);

// Waits for a hive that was asked to shut down to end (its server stops before its process
// does), with SIGKILL when it lingers, as kill_remote_hive but without the SIGTERM.
Status await_remote_hive_exit(const RemoteHiveConfig& remote, const RemoteHiveOptions& options,
                              jobs::JobContext& job);

}  // namespace rbee::queen
