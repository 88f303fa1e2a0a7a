#pragma once

// Runs an operation on a hive for a queen job: submits it to the hive's job API and relays
// the hive's events into the queen's job, each tagged with `hive_id`. Cancelling the queen's
// job cancels the hive's. A dropped stream is resumed with Last-Event-ID (a few times, with
// backoff) before the job fails.

#include <functional>
#include <string>

#include "common/result.hpp"
#include "contracts/operations.hpp"
#include "jobs/job_context.hpp"
#include "queen/hive_registry.hpp"

namespace rbee::queen {

// kNotFound for an unknown hive, kUnavailable for an unreachable one (before anything is
// sent); otherwise the hive job's outcome. `on_result` (when set) receives the data of the
// hive job's `result` event instead of the queen's job, for callers that report their own.
Status forward_to_hive(const HiveRegistry& hives, const std::string& cluster_token,
                       const contracts::Operation& operation, jobs::JobContext& job,
                       const std::function<void(const contracts::Json&)>& on_result = nullptr);

}  // namespace rbee::queen
