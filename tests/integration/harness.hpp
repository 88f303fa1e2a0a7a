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
  // Makes a fresh home with config.toml: free queen and hive ports, the given heartbeat, and a
  // [workers] port window of its own (40 ports at random in 20000-60000, so parallel tests
  // rarely meet) with stop_grace_s = 3.
  explicit RbeeHome(double heartbeat_s = 0.2);
  // Stops every queen and hive started under this home, kills every worker process that has
  // a record file under its state folder (state/workers/*.json, same pid and start time), and
  // removes the folder.
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
  // Appends TOML to config.toml (before the programs start). Not a [workers] table: use
  // set_workers_setting() for those.
  void append_config(const std::string& toml);
  // Sets `key = value` (TOML value text) in config.toml's [workers] table.
  void set_workers_setting(const std::string& key, const std::string& value);
  // The same for the [queen] table (its port is set already).
  void set_queen_setting(const std::string& key, const std::string& value);
  int worker_port_min() const { return worker_port_min_; }
  int worker_port_max() const { return worker_port_max_; }
  // The pids of the worker processes that have record files under the state folder and
  // still run (the hive's view of its workers, read from disk).
  std::vector<pid_t> recorded_worker_pids() const;

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
  int worker_port_min_ = 0;
  int worker_port_max_ = 0;
  std::map<std::string, std::string> extra_env_;
  std::string base_config_;
  std::map<std::string, std::string> workers_settings_;
  std::map<std::string, std::string> queen_settings_;
  std::string appended_config_;

  void write_config() const;
};

// llama.cpp's greedy continuation of "Once upon a time" on stories260K (32 tokens), from the
// shared reference data (../shared/testdata/golden); empty when that data is missing.
std::string stories260k_reference_continuation();

// Polls `ready` with backoff until it is true or `timeout` passes.
bool eventually(const std::function<bool()>& ready, std::chrono::milliseconds timeout);

// Submits an operation to `client` and returns its job id (asserting 202).
std::string submit_job(const http::Client& client, const Json& operation);
// Every event of a job's stream, from after `last_event_id` when given.
std::vector<http::SseEvent> read_events(const http::Client& client, const std::string& job_id,
                                        std::optional<std::string> last_event_id = std::nullopt);

// How a job ended, from its stream.
struct JobOutcome {
  std::string status;  // the `done` event's: "completed", "failed", "cancelled" (empty: none)
  Json result;         // the last `result` event's data (null when none)
  Json error;          // the `done` event's error ({"code","message"}; null when none)
  std::vector<http::SseEvent> events;
  std::string error_message() const;
  // The data of every event with this name, in order.
  std::vector<Json> data_of(const std::string& event_name) const;
};
// Submits an operation and follows its stream to the end.
JobOutcome run_job(const http::Client& client, const Json& operation);

}  // namespace rbee::integration
