#pragma once

// The worker processes of one hive (ARCHITECTURE.md §1, §6, §7): it starts them (a port from
// the [workers] window, an argv array, a log file, a record file), waits until their /health
// says ready, watches every one of them (an exit is noticed at once, reported to the queen
// and remembered for the heartbeat), stops them on request or at hive shutdown, and after a
// hive restart adopts the ones still running.
//
//   WorkerSupervisor workers(options, [&](const HiveWorkerEvent& e) { events.send(e); });
//   workers.recover_after_restart();
//   RBEE_ASSIGN_OR_RETURN(WorkerRecord started, workers.spawn(launch, job));
//   ...
//   workers.stop_all();
//
// Thread-safety: every member may be called from any thread; `on_event` is called from the
// watcher thread or a job thread, never under the supervisor's lock.

#include <sys/types.h>

#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "common/config.hpp"
#include "common/paths.hpp"
#include "common/result.hpp"
#include "contracts/worker.hpp"
#include "hive/worker_record.hpp"
#include "jobs/job_context.hpp"
#include "lifecycle/port_allocator.hpp"
#include "lifecycle/proc_info.hpp"
#include "lifecycle/process_watcher.hpp"

namespace rbee::hive {

struct WorkerSupervisorOptions {
  std::string hive_id;
  Paths paths;
  WorkerLifecycleConfig config;
  std::string queen_url;  // passed to the workers for their heartbeats
  std::string worker_host = "127.0.0.1";
};

// What a spawn starts, resolved from the catalogs by the worker_spawn operation.
struct WorkerLaunch {
  std::string worker_id;  // empty: the supervisor names it "<hive_id>-<6 hex digits>"
  std::string worker_type;
  std::filesystem::path binary;
  std::string model_id;
  std::filesystem::path model_path;
  std::string device = "cpu";
  int64_t ctx = 0;  // 0: not passed (the worker decides)
  int64_t parallel = 1;
  int64_t threads = 0;  // 0: not passed
};

// A worker process that ended, kept for a while for the heartbeat and the process list.
struct WorkerExit {
  WorkerRecord record;
  lifecycle::ExitStatus status;
  std::string reason;
  std::vector<std::string> last_log_lines;
  int64_t ended_ms = 0;  // wall clock
};

// A live worker process with what /proc says of it.
struct WorkerProcessView {
  WorkerRecord record;
  lifecycle::ProcessInfo info;
  bool ready = false;    // /health said so (adopted workers count as ready)
  bool adopted = false;  // started by an earlier run of the hive
};

// How worker_process_delete ended a worker.
struct WorkerStopResult {
  WorkerRecord record;
  lifecycle::ExitStatus status;
  bool forced = false;  // SIGKILL was needed after the grace period
  std::string how;      // a sentence for people
};

class WorkerSupervisor {
 public:
  using OnEvent = std::function<void(const contracts::HiveWorkerEvent&)>;

  WorkerSupervisor(WorkerSupervisorOptions options, OnEvent on_event);
  // Stops watching; does not stop the workers (stop_all() does, at hive shutdown).
  ~WorkerSupervisor();
  WorkerSupervisor(const WorkerSupervisor&) = delete;
  WorkerSupervisor& operator=(const WorkerSupervisor&) = delete;

  // Reads the records an earlier run of the hive left: a process that still runs with the
  // recorded start time and command line is adopted (watched, listed, reported); for any
  // other record the worker is reported exited and the record removed. Call once, after the
  // hive owns its port (so two hives over one state folder never both adopt).
  void recover_after_restart();

  // Starts a worker and waits until /health says ready, within [workers] ready_timeout_s,
  // narrating and reporting load progress on `job`. A worker that exits with code 3 (its
  // port was taken) is started again on another port, at most twice. On failure nothing is
  // left running and the queen hears a worker_failed event.
  // Errors: kAlreadyExists for a worker id that is in use; kResourceExhausted when no port is
  // free; kNotFound when the binary cannot be run; kInternal when the worker exits before it
  // is ready (its exit and last log lines in the message); kDeadlineExceeded when it is not
  // ready in time (it is killed); kCancelled when the job is cancelled (it is stopped).
  Result<WorkerRecord> spawn(WorkerLaunch launch, jobs::JobContext& job);

  // The live worker processes, oldest first, with /proc information.
  std::vector<WorkerProcessView> processes() const;
  // One live worker process. kNotFound when no process has this pid; kFailedPrecondition when
  // one has but this hive did not start it.
  Result<WorkerProcessView> process(pid_t pid) const;
  // Recently ended workers, newest last.
  std::vector<WorkerExit> recent_exits() const;

  // SIGTERM (to the worker's process group), SIGKILL after [workers] stop_grace_s, and a
  // check that it is gone. Errors as process(); kInternal when it survived SIGKILL.
  Result<WorkerStopResult> stop(pid_t pid);
  // Stops every worker together (hive shutdown). Spawns still waiting for readiness are
  // stopped too.
  void stop_all();

  // Whether a live worker serves the model.
  bool model_in_use(const std::string& model_id) const;
  // The heartbeat's `workers` array: one entry per live worker and per recent exit.
  contracts::Json heartbeat_entries() const;

 private:
  struct Live {
    WorkerRecord record;
    lifecycle::PortLease port;
    bool spawning = true;  // a spawn waits for it: its exit is the spawn's to report
    bool adopted = false;
    std::string stop_reason;  // set when the hive itself stops it
  };

  // Starts the process, records it (live_ and its record file) and watches it.
  Result<WorkerRecord> start_process(const WorkerLaunch& launch, const std::string& worker_id,
                                     lifecycle::PortLease port);
  Status wait_ready(const WorkerRecord& record, const WorkerLaunch& launch, jobs::JobContext& job);
  Error failed_start(pid_t pid, const WorkerRecord& record, Error error);
  void on_exit(pid_t pid, const lifecycle::ExitStatus& status);
  std::optional<WorkerExit> exit_of(pid_t pid) const;
  Result<std::string> claim_worker_id(const std::string& requested);
  void release_worker_id(const std::string& worker_id);
  contracts::HiveWorkerEvent event_for(const WorkerExit& exit, const std::string& kind) const;
  WorkerRecord record_for(const WorkerLaunch& launch, const std::string& worker_id, int port) const;
  std::filesystem::path log_file(const std::string& worker_id) const;

  WorkerSupervisorOptions options_;
  OnEvent on_event_;
  WorkerRecords records_;
  lifecycle::PortAllocator ports_;
  mutable std::mutex mu_;
  std::condition_variable_any changed_;  // a worker exited
  // guarded by mu_
  std::map<pid_t, Live> live_;
  std::set<std::string> claimed_ids_;  // ids of spawns in progress
  std::deque<WorkerExit> exits_;
  bool stopping_all_ = false;
  // Last: destroyed first, so no exit callback runs into destroyed members.
  lifecycle::ProcessWatcher watcher_;
};

}  // namespace rbee::hive
