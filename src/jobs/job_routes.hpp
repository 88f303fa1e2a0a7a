#pragma once

// The job API (ARCHITECTURE.md §4), identical on queen and hive:
//   POST   /v1/jobs              → 202 {"job_id","sse_url"} | 400/413 and no job
//   GET    /v1/jobs              → {"jobs":[...]}
//   GET    /v1/jobs/<id>         → state, timestamps, error, result
//   GET    /v1/jobs/<id>/stream  → text/event-stream, honouring Last-Event-ID
//   DELETE /v1/jobs/<id>         → 202, the job ends `cancelled`

#include <functional>
#include <string>

#include "common/result.hpp"
#include "contracts/json_reader.hpp"
#include "http/server.hpp"
#include "jobs/job_registry.hpp"

namespace rbee::jobs {

struct PlannedJob {
  std::string operation;  // its name, for GET /v1/jobs/<id>
  JobRunner runner;
};

// Turns a request body into a job to run, or an error (kInvalidArgument → 400) before any
// job exists.
using JobPlanner = std::function<Result<PlannedJob>(const contracts::Json& body)>;

void register_job_routes(http::Server& server, JobRegistry& registry, http::Access access,
                         JobPlanner planner);

}  // namespace rbee::jobs
