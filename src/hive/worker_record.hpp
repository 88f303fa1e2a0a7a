#pragma once

// The record a hive keeps of each worker process it started, one file per worker:
// <state>/workers/<worker_id>.json, written atomically (temporary name, fsync, rename) right
// after the spawn and removed once the process is gone. A restarted hive reads them to adopt
// the workers that still run (same pid, same /proc start time, same command line) and to
// report the ones that ended while it was away.
//
//   {"worker_id":"localhost-3fa2c1","pid":4242,"start_ticks":1234567,"port":9100,
//    "url":"http://127.0.0.1:9100","model":"local:tiny","model_path":"/.../tiny.gguf",
//    "worker_type":"cpu","device":"cpu","ctx":2048,"parallel":1,"threads":0,
//    "binary":"/.../llm-worker-rbee","log_file":"/.../logs/workers/localhost-3fa2c1.log",
//    "started_ms":1700000000000,"argv":["/.../llm-worker-rbee","--worker-id",...]}
//
// Thread-safety: WorkerRecords has no state besides its folder; call from any thread.

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "common/result.hpp"
#include "contracts/json_reader.hpp"

namespace rbee::hive {

struct WorkerRecord {
  std::string worker_id;
  pid_t pid = 0;
  uint64_t start_ticks = 0;  // /proc/<pid>/stat field 22: tells a reused pid apart
  int port = 0;
  std::string url;
  std::string model;  // catalog id
  std::string model_path;
  std::string worker_type;
  std::string device;
  int64_t ctx = 0;
  int64_t parallel = 1;
  int64_t threads = 0;
  std::string binary;
  std::string log_file;
  int64_t started_ms = 0;  // wall clock
  std::vector<std::string> argv;
};
// The record file's JSON: summary_json() plus start_ticks, model_path, threads, binary, argv.
contracts::Json to_json(const WorkerRecord& record);
// What the operations and the heartbeat show of a worker: {worker_id, pid, port, url, model,
// worker_type, device, ctx, parallel, log_file, started_ms}.
contracts::Json summary_json(const WorkerRecord& record);
// kInvalidArgument naming the field when one is missing or has the wrong type.
Result<WorkerRecord> parse_worker_record(const contracts::Json& json);

class WorkerRecords {
 public:
  explicit WorkerRecords(std::filesystem::path dir) : dir_(std::move(dir)) {}

  const std::filesystem::path& dir() const { return dir_; }
  std::filesystem::path path_for(const std::string& worker_id) const;

  // Writes (or replaces) the worker's record atomically. kInternal naming the path.
  Status write(const WorkerRecord& record) const;
  // Removes the worker's record (no error when there is none).
  void remove(const std::string& worker_id) const;

  struct Loaded {
    std::vector<WorkerRecord> records;
    // Files that are no record (unreadable JSON, wrong fields), with why; left in place.
    std::vector<std::pair<std::filesystem::path, std::string>> invalid;
  };
  // Every record in the folder (none when it does not exist). Leftover temporary files of an
  // interrupted write are removed.
  Loaded load_all() const;

 private:
  std::filesystem::path dir_;
};

}  // namespace rbee::hive
