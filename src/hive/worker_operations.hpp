#pragma once

// The hive's worker operations (ARCHITECTURE.md §5), each run as a job:
//   worker_spawn           resolve the worker type and the model from the catalogs, start the
//                          worker, wait until ready; result {"worker":{...,"state":"ready"}}
//   worker_process_list    {"workers":[process...],"exited":[recent exits...]}
//   worker_process_get     {"worker":process}
//   worker_process_delete  SIGTERM, SIGKILL after the grace period; {"stopped":{...}}
// A process is {worker_id, pid, port, url, model, worker_type, device, ctx, parallel, log_file,
// state ("starting"|"ready"), adopted, started_ms, rss_bytes, cpu_time_s, uptime_s}.

#include "contracts/operations.hpp"
#include "hive/catalog_operations.hpp"
#include "hive/worker_supervisor.hpp"
#include "jobs/job_context.hpp"

namespace rbee::hive {

// Errors besides the supervisor's: kNotFound for an unknown model or worker type;
// kFailedPrecondition for a model that is not ready (its state and progress named) or a
// worker type whose binary is missing; kInvalidArgument for a bad device or worker type.
Status run_worker_spawn(HiveCatalogs& catalogs, WorkerSupervisor& workers,
                        const std::string& hive_id, const contracts::WorkerSpawnOperation& op,
                        jobs::JobContext& job);
Status run_worker_process_list(WorkerSupervisor& workers, jobs::JobContext& job);
Status run_worker_process_get(WorkerSupervisor& workers,
                              const contracts::WorkerProcessGetOperation& op,
                              jobs::JobContext& job);
Status run_worker_process_delete(WorkerSupervisor& workers,
                                 const contracts::WorkerProcessDeleteOperation& op,
                                 jobs::JobContext& job);

}  // namespace rbee::hive
