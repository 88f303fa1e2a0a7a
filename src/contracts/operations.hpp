#pragma once

// Operations (ARCHITECTURE.md §5): the typed form of `{"operation":"<name>", ...}`.
// Parsing is strict: an unknown operation, a missing field, a wrong type or an unknown field
// is kInvalidArgument naming the field, and the job API answers 400 without creating a job.

#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "common/result.hpp"
#include "contracts/json_reader.hpp"

namespace rbee::contracts {

inline constexpr const char* kLocalHiveId = "localhost";

// queen: version, uptime, hives, workers.
struct StatusOperation {};
// queen: every hive the registry knows.
struct HiveListOperation {};
// queen: one hive from the registry.
struct HiveGetOperation {
  std::string alias;
};
// queen, over ssh (ARCHITECTURE.md §9): copy the hive and worker programs and the cluster
// token to the machine `alias` of hives.toml.
struct HiveInstallOperation {
  std::string alias;
};
// queen, over ssh: remove what hive_install copied; `purge` also removes the models and the
// hive's state there.
struct HiveUninstallOperation {
  std::string alias;
  bool purge = false;
};
// queen: start the hive on `alias` over ssh and wait for its first heartbeat.
struct HiveStartOperation {
  std::string alias;
};
// queen: ask the hive on `alias` to shut down (ssh + kill when it does not answer).
struct HiveStopOperation {
  std::string alias;
};
// hive: a harmless check that the hive executes operations (state folder writable, devices
// detected, queen reachable). With duration_s > 0 it repeats the checks once a second for that
// long, reporting progress; it stops at once when cancelled.
struct HiveCheckOperation {
  std::string hive_id = kLocalHiveId;
  double duration_s = 0;
};

// hive: download a model (a HuggingFace reference, ARCHITECTURE.md §9) or import a local
// GGUF file into the hive's catalog.
struct ModelDownloadOperation {
  std::string hive_id = kLocalHiveId;
  std::string model;
  std::string revision = "main";
};
// hive: the models in its catalog.
struct ModelListOperation {
  std::string hive_id = kLocalHiveId;
};
// hive: one model; `id` is a catalog id or a reference that names exactly one entry.
struct ModelGetOperation {
  std::string hive_id = kLocalHiveId;
  std::string id;
};
// hive: remove a model; refused while a worker uses it unless `force`.
struct ModelDeleteOperation {
  std::string hive_id = kLocalHiveId;
  std::string id;
  bool force = false;
};
// hive: the worker types in its worker catalog.
struct WorkerBinaryListOperation {
  std::string hive_id = kLocalHiveId;
};
struct WorkerBinaryGetOperation {
  std::string hive_id = kLocalHiveId;
  std::string worker_type;
};
struct WorkerBinaryDeleteOperation {
  std::string hive_id = kLocalHiveId;
  std::string worker_type;
};
// hive: add a worker type from a local path or an http(s) URL, verified with sha256 when given.
struct WorkerBinaryInstallOperation {
  std::string hive_id = kLocalHiveId;
  std::string worker_type;
  std::string source;
  std::string sha256;
};

// hive: start a worker process serving a model that is ready in its catalog.
struct WorkerSpawnOperation {
  std::string hive_id = kLocalHiveId;
  std::string model;  // a catalog id, or a reference naming exactly one ready entry
  std::string worker_type = "cpu";
  std::string device = "cpu";  // "cpu", "cuda:0", ...
  int64_t ctx = 0;             // tokens per slot; 0 = the model's context length, capped at 4096
  int64_t parallel = 1;        // slots served concurrently
  int64_t threads = 0;         // 0 = the worker chooses
  std::string worker_id;       // empty = the hive names it
};
// hive: the worker processes it started, read from the OS.
struct WorkerProcessListOperation {
  std::string hive_id = kLocalHiveId;
};
struct WorkerProcessGetOperation {
  std::string hive_id = kLocalHiveId;
  int64_t pid = 0;
};
// hive: SIGTERM, SIGKILL after a grace period, and a check that the process is gone.
struct WorkerProcessDeleteOperation {
  std::string hive_id = kLocalHiveId;
  int64_t pid = 0;
};
// queen: workers known from heartbeats.
struct ActiveWorkerListOperation {};
struct ActiveWorkerGetOperation {
  std::string worker_id;
};
// queen: drain a worker and stop it through its hive.
struct ActiveWorkerRetireOperation {
  std::string worker_id;
};
// queen: schedule a completion onto a worker (spawning one, downloading the model first when
// needed) and stream its tokens. `hive_id` and `worker_id` narrow where it may run.
struct InferOperation {
  std::string model;
  std::string prompt;
  int64_t max_tokens = 128;
  double temperature = 0.8;
  double top_p = 0.95;
  int64_t top_k = 40;
  double min_p = 0.05;
  std::optional<int64_t> seed;  // none = a random seed
  std::vector<std::string> stop;
  std::string hive_id;  // empty = any hive
  std::string worker_id;
};

using Operation =
    std::variant<StatusOperation, HiveListOperation, HiveGetOperation, HiveInstallOperation,
                 HiveUninstallOperation, HiveStartOperation, HiveStopOperation, HiveCheckOperation,
                 ModelDownloadOperation, ModelListOperation, ModelGetOperation,
                 ModelDeleteOperation, WorkerBinaryListOperation, WorkerBinaryGetOperation,
                 WorkerBinaryDeleteOperation, WorkerBinaryInstallOperation, WorkerSpawnOperation,
                 WorkerProcessListOperation, WorkerProcessGetOperation,
                 WorkerProcessDeleteOperation, ActiveWorkerListOperation, ActiveWorkerGetOperation,
                 ActiveWorkerRetireOperation, InferOperation>;

// Parses an operation object. kInvalidArgument naming the field on any mistake.
Result<Operation> parse_operation(const Json& body);
Json to_json(const Operation& operation);
std::string operation_name(const Operation& operation);

// The hive an operation runs on, or empty when it runs on the queen itself (`infer` runs on
// the queen even when it names a hive).
std::string target_hive(const Operation& operation);

// A hive id must be a short name: letters, digits, '.', '_' and '-' (it appears in URLs,
// file names and logs). kInvalidArgument naming `field` otherwise.
Status validate_hive_id(const std::string& hive_id, const std::string& field);
// An http:// or https:// URL (where a hive or worker is reached). kInvalidArgument naming
// `field` otherwise.
Status validate_http_url(const std::string& url, const std::string& field);
// A worker id has the same grammar as a hive id (it names log and pid files).
Status validate_worker_id(const std::string& worker_id, const std::string& field);

}  // namespace rbee::contracts
