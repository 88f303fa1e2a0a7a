#pragma once

// rbee's settings. Precedence, lowest first: defaults (member initializers), config.toml,
// RBEE_* environment, command-line flags. The programs read this once at start and pass
// each module its slice as const&.

#include <filesystem>
#include <string>
#include <vector>

#include "common/result.hpp"

namespace rbee {

inline constexpr int kDefaultQueenPort = 7833;
inline constexpr int kDefaultHivePort = 7835;

struct QueenConfig {
  std::string host = "127.0.0.1";  // loopback unless the user asks for more
  int port = kDefaultQueenPort;
  // Finished jobs are forgotten after this long, or sooner when more than max_finished_jobs.
  double job_retention_s = 600;
  int max_finished_jobs = 1000;
  // An ssh_config file for reaching remote hives (`ssh -F`); empty: the user's own ssh setup.
  std::string ssh_config;
};

struct HiveConfig {
  std::string host = "127.0.0.1";
  int port = kDefaultHivePort;
  std::string hive_id = "localhost";
  double heartbeat_s = 2.0;
  std::string queen_url;  // empty: the local queen at [queen] port
};

// How a hive downloads models. The HuggingFace endpoint and token come from the environment
// (HF_ENDPOINT, HF_TOKEN) as with HuggingFace's own tools; a hive started over ssh has no
// such environment, so its config.toml can name the endpoint too.
struct DownloadConfig {
  // The HuggingFace endpoint (a mirror, a local hub); HF_ENDPOINT overrides it; empty:
  // HF_ENDPOINT, else https://huggingface.co.
  std::string hf_endpoint;
  double stall_timeout_s = 30;  // no byte for this long: drop the connection and resume
  int max_attempts = 6;         // connection attempts per file before the download fails
};

// How a hive runs worker processes.
struct WorkerLifecycleConfig {
  int port_min = 9100;  // workers listen on the first free port in [port_min, port_max]
  int port_max = 9299;
  double ready_timeout_s = 300;  // spawn → /health ready, else the spawn fails
  double stop_grace_s = 10;      // SIGTERM → SIGKILL
  // Built-in workers copy Q4_0 matrices into the kernels' layout at load (faster decoding,
  // the same results); false passes --no-repack: every weight stays in the mapped file,
  // shared with other processes mapping it.
  bool repack_weights = true;
};

// How the queen places inference.
struct SchedulerConfig {
  double idle_retire_s = 0;      // a worker idle this long is retired; 0 = never
  int max_queue_per_model = 64;  // requests waiting for a slot; beyond it 429
  double queue_timeout_s = 300;  // a queued request gives up after this long (503)
  int default_parallel = 2;      // slots of a worker the scheduler spawns
  int default_ctx = 0;           // its context per slot; 0 = the model's, capped at 4096
};

struct RbeeConfig {
  QueenConfig queen;
  HiveConfig hive;
  DownloadConfig downloads;
  WorkerLifecycleConfig workers;
  SchedulerConfig scheduler;

  // The queen URL a local client or hive uses when none is given.
  std::string local_queen_url() const;

  // kInvalidArgument naming the setting when a value is out of range.
  Status validate() const;
};

// Parses config.toml text. A syntax error, an unknown key or a wrong type is
// kInvalidArgument naming `source_name` and the line.
Result<RbeeConfig> parse_config(const std::string& text, const std::string& source_name);

// Loads `path`; a missing file means defaults.
Result<RbeeConfig> load_config(const std::filesystem::path& path);

// One remote machine in hives.toml (`[hives.<alias>]`): how to reach it over ssh, where its
// hive listens, and the address it should use to reach the queen.
struct RemoteHiveConfig {
  std::string alias;  // also its hive id
  std::string host;   // ssh host name or address
  std::string user;   // empty: ssh's default
  int ssh_port = 22;
  std::string identity_file;  // empty: ssh's default keys
  int hive_port = kDefaultHivePort;
  std::string queen_url;  // how the hive reaches the queen; empty: decided at start
};

// Parses hives.toml text; a syntax error, unknown key, wrong type or invalid value is
// kInvalidArgument naming `source_name` and the line. Sorted by alias.
Result<std::vector<RemoteHiveConfig>> parse_hives_file(const std::string& text,
                                                       const std::string& source_name);
// A missing file means no remote hives.
Result<std::vector<RemoteHiveConfig>> load_hives_file(const std::filesystem::path& path);
// The TOML text for `hives` (what parse_hives_file reads back).
std::string format_hives_file(const std::vector<RemoteHiveConfig>& hives);
// Checks one entry (the alias grammar of hive ids, host, user, ports, queen URL).
Status validate_remote_hive(const RemoteHiveConfig& hive);
// Writes the file atomically (temp + fsync + rename).
Status save_hives_file(const std::filesystem::path& path,
                       const std::vector<RemoteHiveConfig>& hives);

}  // namespace rbee
