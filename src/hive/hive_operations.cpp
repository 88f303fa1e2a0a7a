#include "hive/hive_operations.hpp"

#include <unistd.h>

#include <cmath>

#include "common/files.hpp"
#include "hive/worker_operations.hpp"
#include "http/client.hpp"

namespace rbee::hive {
namespace {

using contracts::Json;

struct CheckOutcome {
  std::string name;
  bool ok = false;
  std::string detail;
};

CheckOutcome check_state_writable(const Paths& paths) {
  auto probe = paths.state_dir / (".hive-check-" + std::to_string(::getpid()));
  auto written = write_file_atomic(probe, "ok\n");
  std::error_code ec;
  std::filesystem::remove(probe, ec);
  if (!written) return {"state_folder_writable", false, written.error().message};
  return {"state_folder_writable", true, paths.state_dir.string()};
}

CheckOutcome check_queen_reachable(const std::string& queen_url) {
  auto response = http::Client({queen_url, "", 2, 5}).get("/health");
  if (!response) return {"queen_reachable", false, response.error().message};
  if (response->status != 200) {
    return {"queen_reachable", false,
            queen_url + " answered HTTP " + std::to_string(response->status)};
  }
  return {"queen_reachable", true, queen_url};
}

Json to_json(const CheckOutcome& outcome) {
  return Json{{"name", outcome.name}, {"ok", outcome.ok}, {"detail", outcome.detail}};
}

Status run_hive_check(const HiveOperationContext& context,
                      const contracts::HiveCheckOperation& check, jobs::JobContext& job) {
  job.narrate("hive_check_start", "Checking hive '" + context.hive_id + "'");
  auto n_rounds = std::max<int64_t>(1, static_cast<int64_t>(std::ceil(check.duration_s)));
  std::vector<CheckOutcome> outcomes;
  std::vector<contracts::Device> devices;
  auto started = std::chrono::steady_clock::now();
  for (int64_t round = 1; round <= n_rounds; ++round) {
    if (job.cancelled()) return jobs::JobContext::cancelled_error();
    devices = context.devices();
    outcomes = {
        check_state_writable(context.paths),
        {"devices_detected", !devices.empty(), std::to_string(devices.size()) + " device(s)"},
        check_queen_reachable(context.queen_url)};
    if (n_rounds > 1) {
      // One round a second: the rate counts finished intervals, the ETA the rounds left.
      double elapsed_s =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
      double per_s = round > 1 && elapsed_s > 0 ? static_cast<double>(round - 1) / elapsed_s : 0;
      job.progress(
          {"check", "", false, round, n_rounds, per_s, static_cast<double>(n_rounds - round)});
    }
    if (round < n_rounds && !job.wait_for(std::chrono::seconds(1))) {
      job.narrate("hive_check_cancelled",
                  "Check cancelled after " + std::to_string(round) + " round(s)");
      return jobs::JobContext::cancelled_error();
    }
  }
  Json checks = Json::array();
  const CheckOutcome* first_failure = nullptr;
  for (const auto& outcome : outcomes) {
    checks.push_back(to_json(outcome));
    if (!outcome.ok) {
      job.narrate("hive_check_failed", outcome.name + " failed: " + outcome.detail, "error");
      if (!first_failure) first_failure = &outcome;
    }
  }
  if (!first_failure) job.narrate("hive_check_done", "Hive '" + context.hive_id + "' is healthy");
  Json device_list = Json::array();
  for (const auto& device : devices) device_list.push_back(contracts::to_json(device));
  job.result(Json{{"hive_id", context.hive_id},
                  {"version", RBEE_VERSION},
                  {"rounds", n_rounds},
                  {"checks", checks},
                  {"devices", device_list}});
  if (first_failure) {
    return Error{ErrorCode::kFailedPrecondition,
                 "hive check failed: " + first_failure->name + ": " + first_failure->detail};
  }
  return ok_status();
}

}  // namespace

Result<jobs::PlannedJob> plan_hive_job(const HiveOperationContext& context, const Json& body) {
  RBEE_ASSIGN_OR_RETURN(contracts::Operation operation, contracts::parse_operation(body));
  std::string hive_id = contracts::target_hive(operation);
  std::string name = contracts::operation_name(operation);
  if (hive_id.empty()) {
    return Error{ErrorCode::kInvalidArgument,
                 "operation '" + name + "' runs on the queen, not on a hive"};
  }
  if (hive_id != context.hive_id) {
    return Error{ErrorCode::kInvalidArgument,
                 "field 'hive_id': this is hive '" + context.hive_id + "', not '" + hive_id + "'"};
  }
  if (const auto* check = std::get_if<contracts::HiveCheckOperation>(&operation)) {
    return jobs::PlannedJob{name, [context, check = *check](jobs::JobContext& job) {
                              return run_hive_check(context, check, job);
                            }};
  }
  auto catalogs = context.catalogs;
  auto workers = context.workers;
  return std::visit(
      [&](const auto& op) -> Result<jobs::PlannedJob> {
        using Op = std::decay_t<decltype(op)>;
        auto plan = [&](auto run) { return jobs::PlannedJob{name, std::move(run)}; };
        if constexpr (std::is_same_v<Op, contracts::ModelDownloadOperation>) {
          return plan([catalogs, op](jobs::JobContext& job) {
            return run_model_download(*catalogs, op, job);
          });
        } else if constexpr (std::is_same_v<Op, contracts::ModelListOperation>) {
          return plan([catalogs](jobs::JobContext& job) { return run_model_list(*catalogs, job); });
        } else if constexpr (std::is_same_v<Op, contracts::ModelGetOperation>) {
          return plan(
              [catalogs, op](jobs::JobContext& job) { return run_model_get(*catalogs, op, job); });
        } else if constexpr (std::is_same_v<Op, contracts::ModelDeleteOperation>) {
          return plan([catalogs, op](jobs::JobContext& job) {
            return run_model_delete(*catalogs, op, job);
          });
        } else if constexpr (std::is_same_v<Op, contracts::WorkerBinaryListOperation>) {
          return plan(
              [catalogs](jobs::JobContext& job) { return run_worker_binary_list(*catalogs, job); });
        } else if constexpr (std::is_same_v<Op, contracts::WorkerBinaryGetOperation>) {
          return plan([catalogs, op](jobs::JobContext& job) {
            return run_worker_binary_get(*catalogs, op, job);
          });
        } else if constexpr (std::is_same_v<Op, contracts::WorkerBinaryDeleteOperation>) {
          return plan([catalogs, op](jobs::JobContext& job) {
            return run_worker_binary_delete(*catalogs, op, job);
          });
        } else if constexpr (std::is_same_v<Op, contracts::WorkerBinaryInstallOperation>) {
          return plan([catalogs, op](jobs::JobContext& job) {
            return run_worker_binary_install(*catalogs, op, job);
          });
        } else if constexpr (std::is_same_v<Op, contracts::WorkerSpawnOperation>) {
          return plan([catalogs, workers, hive_id, op](jobs::JobContext& job) {
            return run_worker_spawn(*catalogs, *workers, hive_id, op, job);
          });
        } else if constexpr (std::is_same_v<Op, contracts::WorkerProcessListOperation>) {
          return plan(
              [workers](jobs::JobContext& job) { return run_worker_process_list(*workers, job); });
        } else if constexpr (std::is_same_v<Op, contracts::WorkerProcessGetOperation>) {
          return plan([workers, op](jobs::JobContext& job) {
            return run_worker_process_get(*workers, op, job);
          });
        } else if constexpr (std::is_same_v<Op, contracts::WorkerProcessDeleteOperation>) {
          return plan([workers, op](jobs::JobContext& job) {
            return run_worker_process_delete(*workers, op, job);
          });
        } else {
          return Error{ErrorCode::kInvalidArgument,
                       "operation '" + name + "' is not implemented by this hive"};
        }
      },
      operation);
}

}  // namespace rbee::hive
