#pragma once

// Operations (ARCHITECTURE.md §5): the typed form of `{"operation":"<name>", ...}`.
// Parsing is strict: an unknown operation, a missing field, a wrong type or an unknown field
// is kInvalidArgument naming the field, and the job API answers 400 without creating a job.

#include <string>
#include <variant>

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

using Operation =
    std::variant<StatusOperation, HiveListOperation, HiveGetOperation, HiveCheckOperation,
                 ModelDownloadOperation, ModelListOperation, ModelGetOperation,
                 ModelDeleteOperation, WorkerBinaryListOperation, WorkerBinaryGetOperation,
                 WorkerBinaryDeleteOperation, WorkerBinaryInstallOperation>;

// Parses an operation object. kInvalidArgument naming the field on any mistake.
Result<Operation> parse_operation(const Json& body);
Json to_json(const Operation& operation);
std::string operation_name(const Operation& operation);

// The hive an operation runs on, or empty when it runs on the queen itself.
std::string target_hive(const Operation& operation);

// A hive id must be a short name: letters, digits, '.', '_' and '-' (it appears in URLs,
// file names and logs). kInvalidArgument naming `field` otherwise.
Status validate_hive_id(const std::string& hive_id, const std::string& field);

}  // namespace rbee::contracts
