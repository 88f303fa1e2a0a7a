#include "hive/worker_operations.hpp"

#include <fmt/format.h>

#include <cctype>

#include "catalog/model_info.hpp"

namespace rbee::hive {
namespace {

using catalog::ArtifactEntry;
using contracts::Json;

// A worker's context when the operation leaves it to the hive (WorkerSpawnOperation::ctx).
constexpr uint64_t kDefaultContextCap = 4096;

Json process_json(const WorkerProcessView& view) {
  Json json = summary_json(view.record);
  json["state"] = view.ready ? "ready" : "starting";
  json["adopted"] = view.adopted;
  json["rss_bytes"] = view.info.rss_bytes;
  json["cpu_time_s"] = view.info.cpu_time_s;
  json["uptime_s"] = view.info.uptime_s;
  return json;
}

Json exit_json(const WorkerExit& exit) {
  Json json = summary_json(exit.record);
  json["state"] = "exited";
  json["exit_code"] = exit.status.known ? exit.status.exit_code : -1;
  json["signal"] = exit.status.signal;
  json["reason"] = exit.reason;
  json["last_log_lines"] = exit.last_log_lines;
  json["ended_ms"] = exit.ended_ms;
  return json;
}

Status validate_device(const std::string& device) {
  bool ok = !device.empty() && device.size() <= 32;
  for (char c : device) ok = ok && (std::isalnum(static_cast<unsigned char>(c)) || c == ':');
  if (!ok) {
    return Error{ErrorCode::kInvalidArgument,
                 "field 'device': '" + device + "' is not a device name like cpu or cuda:0"};
  }
  return ok_status();
}

Result<std::filesystem::path> worker_binary(HiveCatalogs& catalogs, const std::string& hive_id,
                                            const std::string& worker_type) {
  RBEE_RETURN_IF_ERROR(catalog::validate_worker_type(worker_type));
  auto binary = catalogs.workers.binary_path(worker_type);
  if (binary || binary.error().code != ErrorCode::kNotFound) return binary;
  std::string installed;
  for (const auto& entry : catalogs.workers.list().entries) {
    installed += (installed.empty() ? "" : ", ") + entry.id;
  }
  std::string hint = worker_type == catalog::kBuiltinCpuWorkerType
                         ? std::string("the built-in worker ") + catalog::kBuiltinCpuWorkerProgram +
                               " was not found beside rbee-hive when the hive started"
                         : "install it with worker_binary_install";
  return Error{ErrorCode::kNotFound,
               "worker type '" + worker_type + "' is not installed on hive '" + hive_id + "' (" +
                   hint + "; installed: " + (installed.empty() ? "none" : installed) + ")"};
}

Result<ArtifactEntry> ready_model(HiveCatalogs& catalogs, const std::string& text) {
  // A reference may match a failed or partial entry beside the ready one it means.
  auto ready = find_model(catalogs, text, true);
  RBEE_ASSIGN_OR_RETURN(ArtifactEntry entry, ready ? ready : find_model(catalogs, text));
  if (entry.state == catalog::ArtifactState::kDownloading) {
    return Error{
        ErrorCode::kFailedPrecondition,
        fmt::format("model {} is not ready: downloading {:.0f}%", entry.id, entry.progress * 100)};
  }
  if (!entry.ready()) {
    return Error{ErrorCode::kFailedPrecondition,
                 "model " + entry.id +
                     " is not ready: " + std::string(catalog::state_name(entry.state)) +
                     (entry.error.empty() ? "" : " (" + entry.error + ")")};
  }
  std::error_code ec;
  if (!std::filesystem::exists(entry.file_path(), ec)) {
    return Error{ErrorCode::kFailedPrecondition, "model " + entry.id + ": its file " +
                                                     entry.file_path().string() +
                                                     " is missing; download it again"};
  }
  return entry;
}

int64_t default_context(const ArtifactEntry& model) {
  auto metadata = catalog::parse_model_metadata(model.metadata);
  uint64_t trained = metadata && metadata->info ? metadata->info->context_length : 0;
  return static_cast<int64_t>(trained > 0 ? std::min(trained, kDefaultContextCap)
                                          : kDefaultContextCap);
}

}  // namespace

Status run_worker_spawn(HiveCatalogs& catalogs, WorkerSupervisor& workers,
                        const std::string& hive_id, const contracts::WorkerSpawnOperation& op,
                        jobs::JobContext& job) {
  RBEE_RETURN_IF_ERROR(validate_device(op.device));
  RBEE_ASSIGN_OR_RETURN(std::filesystem::path binary,
                        worker_binary(catalogs, hive_id, op.worker_type));
  RBEE_ASSIGN_OR_RETURN(ArtifactEntry model, ready_model(catalogs, op.model));
  WorkerLaunch launch;
  launch.worker_id = op.worker_id;
  launch.worker_type = op.worker_type;
  launch.binary = binary;
  launch.model_id = model.id;
  launch.model_path = model.file_path();
  launch.device = op.device;
  launch.ctx = op.ctx > 0 ? op.ctx : default_context(model);
  launch.parallel = op.parallel;
  launch.threads = op.threads;
  job.narrate("worker_spawn",
              fmt::format("Starting a {} worker for {} on {} ({} tokens x {} slots)",
                          op.worker_type, model.id, op.device, launch.ctx, launch.parallel));
  RBEE_ASSIGN_OR_RETURN(WorkerRecord record, workers.spawn(std::move(launch), job));
  Json worker = summary_json(record);
  worker["hive_id"] = hive_id;
  worker["state"] = "ready";
  job.result(Json{{"worker", worker}});
  return ok_status();
}

Status run_worker_process_list(WorkerSupervisor& workers, jobs::JobContext& job) {
  Json processes = Json::array();
  for (const auto& view : workers.processes()) processes.push_back(process_json(view));
  Json exited = Json::array();
  for (const auto& exit : workers.recent_exits()) exited.push_back(exit_json(exit));
  job.result(Json{{"workers", processes}, {"exited", exited}});
  return ok_status();
}

Status run_worker_process_get(WorkerSupervisor& workers,
                              const contracts::WorkerProcessGetOperation& op,
                              jobs::JobContext& job) {
  RBEE_ASSIGN_OR_RETURN(WorkerProcessView view, workers.process(static_cast<pid_t>(op.pid)));
  job.result(Json{{"worker", process_json(view)}});
  return ok_status();
}

Status run_worker_process_delete(WorkerSupervisor& workers,
                                 const contracts::WorkerProcessDeleteOperation& op,
                                 jobs::JobContext& job) {
  auto pid = static_cast<pid_t>(op.pid);
  RBEE_ASSIGN_OR_RETURN(WorkerProcessView view, workers.process(pid));
  job.narrate("worker_stop",
              "Stopping worker " + view.record.worker_id + " (pid " + std::to_string(pid) + ")");
  RBEE_ASSIGN_OR_RETURN(WorkerStopResult stopped, workers.stop(pid));
  job.narrate("worker_stopped", "Worker " + stopped.record.worker_id + " (pid " +
                                    std::to_string(pid) + ") is gone: " + stopped.how);
  Json result = summary_json(stopped.record);
  result["exit_code"] = stopped.status.known ? stopped.status.exit_code : -1;
  result["signal"] = stopped.status.signal;
  result["forced"] = stopped.forced;
  result["how"] = stopped.how;
  job.result(Json{{"stopped", result}});
  return ok_status();
}

}  // namespace rbee::hive
