#include "queen/hive_forwarder.hpp"

#include <stop_token>

#include "http/client.hpp"
#include "jobs/remote_job.hpp"

namespace rbee::queen {
namespace {

using contracts::Json;

}  // namespace

Status forward_to_hive(const HiveRegistry& hives, const std::string& cluster_token,
                       const contracts::Operation& operation, jobs::JobContext& job,
                       const std::function<void(const contracts::Json&)>& on_result) {
  std::string hive_id = contracts::target_hive(operation);
  auto entry = hives.get(hive_id);
  if (!entry) {
    std::string known;
    for (const auto& hive : hives.list())
      known += (known.empty() ? "" : ", ") + hive.last_beat.hive_id;
    return Error{ErrorCode::kNotFound, "unknown hive '" + hive_id + "' (known hives: " +
                                           (known.empty() ? "none" : known) + ")"};
  }
  if (entry->state != "online") {
    return Error{ErrorCode::kUnavailable, "hive '" + hive_id + "' is unreachable (last heartbeat " +
                                              std::to_string(entry->last_seen_ago_ms / 1000) +
                                              " s ago)"};
  }
  const std::string& hive_url = entry->last_beat.url;
  http::Client client({hive_url, cluster_token, 3, 30});
  std::string name = contracts::operation_name(operation);
  job.narrate("forward_to_hive",
              "Forwarding " + name + " to hive '" + hive_id + "' at " + hive_url);

  auto submitted = client.post_json("/v1/jobs", contracts::to_json(operation));
  if (!submitted) {
    return Error{submitted.error().code,
                 "hive '" + hive_id + "' refused " + name + ": " + submitted.error().message};
  }
  auto hive_job = contracts::parse_job_submitted(*submitted);
  if (!hive_job)
    return Error{ErrorCode::kInternal, "hive '" + hive_id + "' answered without a job id"};

  // Cancellation of the queen's job reaches the hive's job; its `done` then ends the relay.
  std::stop_callback cancel_on_hive(
      job.stop_token(), [&client, id = hive_job->job_id] { (void)client.del("/v1/jobs/" + id); });

  auto done = jobs::follow_remote_job(client, hive_job->sse_url,
                                      [&](const std::string& event_name, Json& data) {
                                        if (data.is_object()) data["hive_id"] = hive_id;
                                        if (event_name == "result" && on_result) {
                                          on_result(data);  // the caller reports its own result
                                          return;
                                        }
                                        job.emit(event_name, data);
                                      });
  if (!done) {
    if (job.cancelled()) return jobs::JobContext::cancelled_error();
    return Error{ErrorCode::kUnavailable,
                 "lost hive '" + hive_id + "' while it ran " + name + ": " + done.error().message};
  }
  switch (done->status) {
    case contracts::JobState::kCompleted:
      return ok_status();
    case contracts::JobState::kCancelled:
      return jobs::JobContext::cancelled_error();
    default:
      return *done->error;
  }
}

}  // namespace rbee::queen
