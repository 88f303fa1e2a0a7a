#pragma once

// The operations a hive executes, planned from a job request body.

#include <functional>
#include <string>
#include <vector>

#include "common/paths.hpp"
#include "contracts/heartbeat.hpp"
#include "contracts/operations.hpp"
#include "hive/catalog_operations.hpp"
#include "hive/worker_supervisor.hpp"
#include "jobs/job_routes.hpp"

namespace rbee::hive {

struct HiveOperationContext {
  std::string hive_id;
  Paths paths;
  std::string queen_url;
  std::function<std::vector<contracts::Device>()> devices;
  std::shared_ptr<HiveCatalogs> catalogs;
  std::shared_ptr<WorkerSupervisor> workers;
};

// Parses the body; refuses operations that run on the queen or on another hive (400).
Result<jobs::PlannedJob> plan_hive_job(const HiveOperationContext& context,
                                       const contracts::Json& body);

}  // namespace rbee::hive
