#include "queen/remote_hive.hpp"

#include <unistd.h>

#include <sstream>

#include "lifecycle/process.hpp"

namespace rbee::queen {

namespace fs = std::filesystem;

namespace {

constexpr const char* kHiveProgram = "rbee-hive";
constexpr const char* kWorkerProgram = "llm-worker-rbee";

// The remote folders, as the hive there resolves them (common/paths.cpp: XDG, else under
// $HOME). Fixed text: nothing from the user goes into it.
constexpr const char* kRemoteFolders =
    "bin=\"$HOME/.local/bin\"; cfg=\"${XDG_CONFIG_HOME:-$HOME/.config}/rbee\"; "
    "state=\"${XDG_STATE_HOME:-$HOME/.local/state}/rbee\"; "
    "cache=\"${XDG_CACHE_HOME:-$HOME/.cache}/rbee\"; ";

// Prints the pid of the running hive, from its pid file; fails when none runs. The pid must
// belong to an rbee-hive program, so a reused pid is never killed.
constexpr const char* kHivePidFunction =
    "hive_pid() { p=$(cat \"$state/rbee-hive.pid\" 2>/dev/null) || return 1; "
    "case \"$(readlink \"/proc/$p/exe\" 2>/dev/null)\" in */rbee-hive*) echo \"$p\";; "
    "*) return 1;; esac; }; ";

std::string trimmed(const std::string& text) {
  size_t begin = text.find_first_not_of(" \t\r\n");
  if (begin == std::string::npos) return "";
  size_t end = text.find_last_not_of(" \t\r\n");
  return text.substr(begin, end - begin + 1);
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

// A remote path that may go into scp's target unquoted (scp's legacy protocol hands it to
// the remote shell).
bool plain_path(const std::string& path) {
  if (path.empty() || path[0] != '/') return false;
  for (char c : path) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '/' || c == '.' || c == '_' || c == '-' || c == '+' || c == '@';
    if (!ok) return false;
  }
  return true;
}

class Remote {
 public:
  Remote(const RemoteHiveConfig& remote, const RemoteHiveOptions& options)
      : target_(remote, options.ssh_config), alias_(remote.alias), options_(options) {}

  const SshTarget& target() const { return target_; }

  // Runs a remote command; ssh's own failures (exit 255: cannot connect, host key, login)
  // are kUnavailable with what ssh said.
  Result<lifecycle::CollectedRun> run(const std::string& command) const {
    return checked(target_.ssh_argv(command), "ssh");
  }

  // The same, but a non-zero exit is kInternal saying `what` failed.
  Result<std::string> must(const std::string& command, const std::string& what) const {
    RBEE_ASSIGN_OR_RETURN(lifecycle::CollectedRun run, this->run(command));
    if (run.exit_code != 0) {
      return make_error(ErrorCode::kInternal,
                        what + " failed on " + target_.destination() + ": " + trimmed(run.output));
    }
    return std::move(run.output);
  }

  // Like must(), for commands that exit 3 when the hive's state forbids the step (their
  // output says why): kFailedPrecondition with `advice`.
  Result<std::string> guarded(const std::string& command, const std::string& what,
                              const std::string& advice) const {
    RBEE_ASSIGN_OR_RETURN(lifecycle::CollectedRun run, this->run(command));
    if (run.exit_code == 3) {
      return make_error(ErrorCode::kFailedPrecondition,
                        "hive '" + alias_ + "': " + trimmed(run.output) + "; " + advice);
    }
    if (run.exit_code != 0) {
      return make_error(ErrorCode::kInternal,
                        what + " failed on " + target_.destination() + ": " + trimmed(run.output));
    }
    return std::move(run.output);
  }

  Status upload(const fs::path& local, const std::string& remote_path) const {
    RBEE_ASSIGN_OR_RETURN(lifecycle::CollectedRun run,
                          checked(target_.scp_argv(local, remote_path), "scp"));
    if (run.exit_code != 0) {
      return make_error(ErrorCode::kInternal, "scp of " + local.string() + " to " +
                                                  target_.destination() + ":" + remote_path +
                                                  " failed: " + trimmed(run.output));
    }
    return ok_status();
  }

 private:
  Result<lifecycle::CollectedRun> checked(const std::vector<std::string>& argv,
                                          const std::string& program) const {
    auto run = lifecycle::run_and_collect(argv, options_.command_timeout);
    if (!run) {
      if (run.error().code == ErrorCode::kNotFound) {
        return make_error(ErrorCode::kFailedPrecondition,
                          "the OpenSSH client (" + program +
                              ") is not installed on the queen's "
                              "machine (Debian: apt-get install openssh-client)");
      }
      if (run.error().code == ErrorCode::kDeadlineExceeded) {
        return make_error(ErrorCode::kUnavailable, program + " to " + target_.destination() +
                                                       " for hive '" + alias_ +
                                                       "' did not finish in time");
      }
      return run.error();
    }
    if (run->exit_code == 255) {
      return make_error(ErrorCode::kUnavailable, "cannot reach hive '" + alias_ + "' at " +
                                                     target_.destination() +
                                                     " over ssh: " + trimmed(run->output));
    }
    return run;
  }

  SshTarget target_;
  std::string alias_;
  const RemoteHiveOptions& options_;
};

struct RemoteFolders {
  std::string home;
  std::string config;
};

// Checks the machine's system and architecture and reads where its folders are.
Result<RemoteFolders> probe(const Remote& remote, const std::string& alias, jobs::JobContext& job) {
  job.narrate("hive_install_probe", "Checking " + remote.target().destination() +
                                        " over ssh (system, architecture, folders)");
  RBEE_ASSIGN_OR_RETURN(
      std::string output,
      remote.must(std::string(kRemoteFolders) + "uname -sm && printf '%s\\n' \"$HOME\" \"$cfg\"",
                  "uname"));
  auto lines = lines_of(output);
  if (lines.size() < 3) {
    return make_error(ErrorCode::kInternal,
                      "unexpected answer from " + remote.target().destination() + ": " + output);
  }
  std::string system = trimmed(lines[0]);
  if (system != "Linux x86_64") {
    return make_error(ErrorCode::kFailedPrecondition,
                      "hive '" + alias + "' runs '" + system +
                          "'; rbee-hive and llm-worker-rbee are built for Linux x86_64");
  }
  RemoteFolders folders{trimmed(lines[1]), trimmed(lines[2])};
  for (const auto& path : {folders.home, folders.config}) {
    if (!plain_path(path)) {
      return make_error(ErrorCode::kFailedPrecondition,
                        "hive '" + alias + "': the remote folder '" + path +
                            "' is not an absolute path of plain characters");
    }
  }
  return folders;
}

// ldd on the uploaded programs; kFailedPrecondition listing what the machine lacks.
Status check_libraries(const Remote& remote, const std::string& alias,
                       const std::vector<std::string>& uploaded, jobs::JobContext& job) {
  job.narrate("hive_install_libraries", "Checking that the programs' shared libraries resolve on " +
                                            remote.target().destination());
  std::string command = std::string(kRemoteFolders) + "cd \"$bin\" && chmod 755";
  for (const auto& name : uploaded) command += " " + shell_quote(name);
  command += " && if command -v ldd >/dev/null 2>&1; then ldd";
  for (const auto& name : uploaded) command += " ./" + shell_quote(name);
  command += "; else echo rbee-no-ldd; fi";
  RBEE_ASSIGN_OR_RETURN(lifecycle::CollectedRun run, remote.run(command));
  if (run.output.find("rbee-no-ldd") != std::string::npos) {
    job.narrate("hive_install_libraries",
                "No ldd on " + remote.target().destination() +
                    "; the libraries are checked when the hive runs `--version`",
                "warn");
    return ok_status();
  }
  std::vector<std::string> missing;
  for (const auto& line : lines_of(run.output)) {
    if (line.find("not found") != std::string::npos) missing.push_back(trimmed(line));
  }
  if (!missing.empty()) {
    std::string list;
    for (const auto& item : missing) list += (list.empty() ? "" : "; ") + item;
    return make_error(ErrorCode::kFailedPrecondition,
                      "hive '" + alias + "' lacks shared libraries the programs need: " + list);
  }
  if (run.exit_code != 0) {
    return make_error(ErrorCode::kFailedPrecondition,
                      "hive '" + alias + "' cannot load the programs: " + trimmed(run.output));
  }
  return ok_status();
}

}  // namespace

std::string shell_quote(const std::string& value) {
  std::string quoted = "'";
  for (char c : value) {
    if (c == '\'') {
      quoted += "'\\''";
    } else {
      quoted += c;
    }
  }
  return quoted + "'";
}

SshTarget::SshTarget(const RemoteHiveConfig& remote, std::string ssh_config)
    : remote_(remote), ssh_config_(std::move(ssh_config)) {}

std::string SshTarget::destination() const {
  return remote_.user.empty() ? remote_.host : remote_.user + "@" + remote_.host;
}

std::vector<std::string> SshTarget::options() const {
  std::vector<std::string> options;
  if (!ssh_config_.empty()) options.insert(options.end(), {"-F", ssh_config_});
  // Host keys stay as the user's ssh checks them: batch mode only turns prompts into errors.
  options.insert(options.end(), {"-o", "BatchMode=yes", "-o", "ConnectTimeout=10"});
  if (!remote_.identity_file.empty()) {
    options.insert(options.end(), {"-i", remote_.identity_file, "-o", "IdentitiesOnly=yes"});
  }
  return options;
}

std::vector<std::string> SshTarget::ssh_argv(const std::string& remote_command) const {
  std::vector<std::string> argv = {"ssh"};
  for (auto& option : options()) argv.push_back(std::move(option));
  argv.insert(argv.end(),
              {"-p", std::to_string(remote_.ssh_port), destination(), "--", remote_command});
  return argv;
}

std::vector<std::string> SshTarget::scp_argv(const fs::path& local,
                                             const std::string& remote_path) const {
  std::vector<std::string> argv = {"scp", "-q"};
  for (auto& option : options()) argv.push_back(std::move(option));
  argv.insert(argv.end(), {"-P", std::to_string(remote_.ssh_port), "--", local.string(),
                           destination() + ":" + remote_path});
  return argv;
}

Status install_remote_hive(const RemoteHiveConfig& config, const RemoteHiveOptions& options,
                           jobs::JobContext& job) {
  Remote remote(config, options);
  const std::string programs[] = {kHiveProgram, kWorkerProgram};
  for (const auto& program : programs) {
    if (!fs::exists(options.bin_dir / program)) {
      return make_error(ErrorCode::kNotFound, "cannot install hive '" + config.alias + "': no " +
                                                  program + " next to the queen in " +
                                                  options.bin_dir.string());
    }
  }
  RBEE_ASSIGN_OR_RETURN(RemoteFolders folders, probe(remote, config.alias, job));
  if (job.cancelled()) return jobs::JobContext::cancelled_error();

  // Uploads go to temporary names first, so a hive that runs there never sees half a file.
  std::string suffix = ".rbee-install-" + std::to_string(::getpid());
  std::vector<std::string> uploaded;
  for (const auto& program : programs) uploaded.push_back("." + program + suffix);
  std::string cleanup = std::string(kRemoteFolders) + "cd \"$bin\" && rm -f";
  for (const auto& name : uploaded) cleanup += " " + shell_quote(name);
  auto fail_and_clean = [&](Error error) -> Status {
    (void)remote.run(cleanup);
    return error;
  };

  RBEE_RETURN_IF_ERROR(remote.must(std::string(kRemoteFolders) +
                                       "umask 077 && mkdir -p \"$bin\" \"$cfg\" && chmod 700 "
                                       "\"$cfg\"",
                                   "creating the folders"));
  const std::string bin_dir = folders.home + "/.local/bin";
  for (size_t i = 0; i < uploaded.size(); ++i) {
    job.narrate("hive_install_copy",
                "Copying " + programs[i] + " to " + remote.target().destination() + ":" + bin_dir);
    if (auto copied = remote.upload(options.bin_dir / programs[i], bin_dir + "/" + uploaded[i]);
        !copied) {
      return fail_and_clean(copied.error());
    }
    if (job.cancelled()) return fail_and_clean(jobs::JobContext::cancelled_error());
  }
  if (auto libraries = check_libraries(remote, config.alias, uploaded, job); !libraries) {
    return fail_and_clean(libraries.error());
  }
  std::string place = std::string(kRemoteFolders) + "cd \"$bin\" && mv -f " +
                      shell_quote(uploaded[0]) + " " + kHiveProgram + " && mv -f " +
                      shell_quote(uploaded[1]) + " " + kWorkerProgram;
  if (auto placed = remote.must(place, "moving the programs into place"); !placed) {
    return fail_and_clean(placed.error());
  }

  job.narrate("hive_install_token", "Copying the cluster token to " +
                                        remote.target().destination() + ":" + folders.config +
                                        " (mode 0600)");
  // The folder is 0700, so the token is never readable by others while it is renamed.
  std::string token_temp = ".cluster.token" + suffix;
  RBEE_RETURN_IF_ERROR(remote.upload(options.token_file, folders.config + "/" + token_temp));
  RBEE_RETURN_IF_ERROR(remote.must(std::string(kRemoteFolders) + "cd \"$cfg\" && chmod 600 " +
                                       shell_quote(token_temp) + " && mv -f " +
                                       shell_quote(token_temp) + " cluster.token",
                                   "placing the cluster token"));

  job.narrate("hive_install_verify",
              "Running rbee-hive --version on " + remote.target().destination());
  RBEE_ASSIGN_OR_RETURN(std::string version,
                        remote.must(std::string(kRemoteFolders) + "\"$bin/rbee-hive\" --version",
                                    "rbee-hive --version"));
  version = trimmed(version);
  std::string expected = std::string(kHiveProgram) + " " + RBEE_VERSION;
  if (version != expected) {
    return make_error(ErrorCode::kInternal, "hive '" + config.alias +
                                                "': the installed program "
                                                "answers '" +
                                                version + "', expected '" + expected + "'");
  }
  job.narrate("hive_install_done",
              "Hive '" + config.alias + "' installed on " + remote.target().destination());
  job.result(contracts::Json{{"alias", config.alias},
                             {"host", config.host},
                             {"bin_dir", bin_dir},
                             {"config_dir", folders.config},
                             {"version", version}});
  return ok_status();
}

Status uninstall_remote_hive(const RemoteHiveConfig& config, bool purge,
                             const RemoteHiveOptions& options, jobs::JobContext& job) {
  Remote remote(config, options);
  job.narrate("hive_uninstall", "Removing rbee from " + remote.target().destination() +
                                    (purge ? " (with its models and state)" : " (models stay)"));
  std::string command = std::string(kRemoteFolders) + kHivePidFunction +
                        "if p=$(hive_pid); then echo \"it runs (pid $p)\"; exit 3; fi; "
                        "rm -f \"$bin/rbee-hive\" \"$bin/llm-worker-rbee\" \"$cfg/cluster.token\"";
  if (purge) command += " && rm -rf \"$cache\" \"$state\"";
  RBEE_RETURN_IF_ERROR(remote.guarded(command, "removing rbee",
                                      "stop it first with `rbee hive stop " + config.alias + "`"));
  job.narrate("hive_uninstall_done", "Hive '" + config.alias + "' uninstalled");
  job.result(contracts::Json{{"alias", config.alias}, {"purged", purge}});
  return ok_status();
}

Status launch_remote_hive(const RemoteHiveConfig& config, const std::string& queen_url,
                          const RemoteHiveOptions& options, jobs::JobContext& job) {
  Remote remote(config, options);
  job.narrate("hive_start", "Starting rbee-hive on " + remote.target().destination() +
                                " (listening on " + config.host + ":" +
                                std::to_string(config.hive_port) + ", reporting to " + queen_url +
                                ")");
  // setsid + nohup + redirected output: the hive outlives the ssh session, which returns at
  // once because nothing holds its output open. Only the simple command goes to the
  // background: a backgrounded list would keep a subshell holding the session's stdout.
  std::string command =
      std::string(kRemoteFolders) + kHivePidFunction +
      "[ -x \"$bin/rbee-hive\" ] || { echo \"rbee-hive is not installed in $bin\"; exit 3; }; "
      "if p=$(hive_pid); then echo \"already running as pid $p\"; exit 0; fi; "
      "mkdir -p \"$state/logs\" && cd \"$HOME\" || exit 1; nohup setsid \"$bin/rbee-hive\" "
      "--hive-id " +
      shell_quote(config.alias) + " --host " + shell_quote(config.host) + " --port " +
      std::to_string(config.hive_port) + " --queen-url " + shell_quote(queen_url) +
      " >>\"$state/logs/rbee-hive.log\" 2>&1 </dev/null & echo launched";
  RBEE_ASSIGN_OR_RETURN(
      std::string output,
      remote.guarded(command, "starting rbee-hive",
                     "install it first with `rbee hive install " + config.alias + "`"));
  job.narrate("hive_start",
              "rbee-hive on " + remote.target().destination() + ": " + trimmed(output));
  return ok_status();
}

std::string remote_hive_log_tail(const RemoteHiveConfig& config, const RemoteHiveOptions& options) {
  Remote remote(config, options);
  auto run = remote.run(std::string(kRemoteFolders) +
                        "tail -n 20 \"$state/logs/rbee-hive.log\" 2>/dev/null");
  return run ? trimmed(run->output) : "";
}

namespace {

// Ends the hive whose pid file is there, `signal` ("kill" for SIGTERM, "" when it is ending
// already) first, then waiting for the process: SIGKILL after 15 s.
Status end_remote_hive(const RemoteHiveConfig& config, const RemoteHiveOptions& options,
                       const std::string& signal, const std::string& narration,
                       jobs::JobContext& job) {
  Remote remote(config, options);
  job.narrate("hive_stop_ssh", narration + " on " + remote.target().destination());
  // The loop checks the process, 0.1 s apart, rather than waiting a fixed time.
  std::string command = std::string(kRemoteFolders) + kHivePidFunction +
                        "p=$(hive_pid) || { echo 'no rbee-hive running'; exit 0; }; " + signal +
                        (signal.empty() ? "" : " \"$p\"; ") +
                        "i=0; while kill -0 \"$p\" 2>/dev/null; do i=$((i+1)); "
                        "[ $i -eq 150 ] && kill -9 \"$p\"; "
                        "[ $i -ge 170 ] && { echo \"pid $p does not end\"; exit 1; }; "
                        "sleep 0.1; done; echo \"ended pid $p\"";
  RBEE_ASSIGN_OR_RETURN(std::string output, remote.must(command, "ending rbee-hive"));
  job.narrate("hive_stop_ssh",
              "rbee-hive on " + remote.target().destination() + ": " + trimmed(output));
  return ok_status();
}

}  // namespace

Status kill_remote_hive(const RemoteHiveConfig& config, const RemoteHiveOptions& options,
                        jobs::JobContext& job) {
  // SIGTERM lets the hive stop its workers (their grace is 10 s by default).
  return end_remote_hive(config, options, "kill", "Ending rbee-hive through its pid file", job);
}

Status await_remote_hive_exit(const RemoteHiveConfig& config, const RemoteHiveOptions& options,
                              jobs::JobContext& job) {
  return end_remote_hive(config, options, "", "Waiting for rbee-hive to end", job);
}

}  // namespace rbee::queen
