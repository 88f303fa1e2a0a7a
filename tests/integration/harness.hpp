#pragma once

// Integration-test harness: each test gets its own RBEE_HOME with free ports in its
// config.toml, runs the real programs, and stops every process it caused on the way out.

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "contracts/json_reader.hpp"
#include "http/client.hpp"

namespace rbee::integration {

using contracts::Json;

// The folder of the programs under test (set by CMake).
std::filesystem::path bin_dir();

// A TCP port on 127.0.0.1 that nothing listens on right now.
int free_port();

struct CommandResult {
  int exit_code = -1;  // 128 + signal when killed by one
  std::string out;
  std::string err;
};

// A program started by a test, with stdout and stderr captured.
class RunningCommand {
 public:
  RunningCommand(const std::vector<std::string>& argv,
                 const std::map<std::string, std::string>& env);
  ~RunningCommand();  // kills it if it still runs
  RunningCommand(const RunningCommand&) = delete;
  RunningCommand& operator=(const RunningCommand&) = delete;

  pid_t pid() const { return pid_; }
  // Reads output until stdout contains `text` or the timeout passes. Returns whether it did.
  bool wait_for_output(const std::string& text, std::chrono::milliseconds timeout);
  void send_signal(int signal);
  // Waits for the exit (killing it after `timeout`) and returns everything it printed.
  CommandResult finish(std::chrono::milliseconds timeout);

 private:
  void pump(std::chrono::milliseconds wait);

  pid_t pid_ = -1;
  int out_fd_ = -1;
  int err_fd_ = -1;
  std::optional<int> exit_code_;
  CommandResult result_;
};

class RbeeHome {
 public:
  // Makes a fresh home with config.toml: free queen and hive ports, the given heartbeat.
  explicit RbeeHome(double heartbeat_s = 0.2);
  // Stops every queen and hive started under this home and removes the folder.
  ~RbeeHome();
  RbeeHome(const RbeeHome&) = delete;
  RbeeHome& operator=(const RbeeHome&) = delete;

  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path config_dir() const { return path_ / "config"; }
  std::filesystem::path state_dir() const { return path_ / "state"; }
  int queen_port() const { return queen_port_; }
  int hive_port() const { return hive_port_; }
  double heartbeat_s() const { return heartbeat_s_; }
  std::string queen_url() const { return "http://127.0.0.1:" + std::to_string(queen_port_); }
  std::string hive_url() const { return "http://127.0.0.1:" + std::to_string(hive_port_); }
  std::map<std::string, std::string> env() const;
  // An environment variable for every program started from now on (HF_ENDPOINT, HF_TOKEN).
  void set_env(const std::string& name, const std::string& value) { extra_env_[name] = value; }
  // Appends TOML to config.toml (before the programs start).
  void append_config(const std::string& toml);

  // Runs `rbee args...` to completion.
  CommandResult rbee(const std::vector<std::string>& args,
                     std::chrono::milliseconds timeout = std::chrono::seconds(60)) const;
  // Starts `rbee args...` and returns while it runs.
  std::unique_ptr<RunningCommand> start_rbee(const std::vector<std::string>& args) const;

  // The pid in <state>/<program>.pid when that process is alive, else 0.
  pid_t live_pid(const std::string& program) const;
  std::string cluster_token() const;
  http::Client queen() const { return http::Client({queen_url(), "", 2, 30}); }
  http::Client hive() const { return http::Client({hive_url(), cluster_token(), 2, 30}); }

  // The queen's view of a hive ("online", "unreachable"), or empty when it does not list it.
  std::string hive_state(const std::string& hive_id) const;

 private:
  std::filesystem::path path_;
  int queen_port_ = 0;
  int hive_port_ = 0;
  double heartbeat_s_ = 0.2;
  std::map<std::string, std::string> extra_env_;
};

// Polls `ready` with backoff until it is true or `timeout` passes.
bool eventually(const std::function<bool()>& ready, std::chrono::milliseconds timeout);

// Submits an operation to `client` and returns its job id (asserting 202).
std::string submit_job(const http::Client& client, const Json& operation);
// Every event of a job's stream, from after `last_event_id` when given.
std::vector<http::SseEvent> read_events(const http::Client& client, const std::string& job_id,
                                        std::optional<std::string> last_event_id = std::nullopt);

}  // namespace rbee::integration
