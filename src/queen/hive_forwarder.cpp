#include "queen/hive_forwarder.hpp"

#include <stop_token>
#include <thread>

#include "http/client.hpp"

namespace rbee::queen {
namespace {

using contracts::Json;

constexpr int kMaxStreamResumes = 3;

}  // namespace

Status forward_to_hive(const HiveRegistry& hives, const std::string& cluster_token,
                       const contracts::Operation& operation, jobs::JobContext& job) {
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

  std::optional<contracts::Done> done;
  std::optional<std::string> last_event_id;
  Status stream_status;
  for (int attempt = 0; attempt <= kMaxStreamResumes && !done; ++attempt) {
    if (attempt > 0) std::this_thread::sleep_for(std::chrono::milliseconds(200 << attempt));
    stream_status =
        client.stream_events(hive_job->sse_url, last_event_id, [&](http::SseEvent&& event) {
          if (!event.id.empty()) last_event_id = event.id;
          auto data = contracts::parse_json_text(event.data);
          if (!data) return true;  // a malformed event is dropped, not fatal
          if (event.event == contracts::kEventDone) {
            auto parsed = contracts::parse_done(*data);
            done = parsed ? *parsed : contracts::Done{contracts::JobState::kFailed, parsed.error()};
            return false;
          }
          if (data->is_object()) (*data)["hive_id"] = hive_id;
          job.emit(event.event, *data);
          return true;
        });
    if (stream_status && !done) {
      stream_status = Error{ErrorCode::kUnavailable, "the stream ended before the job did"};
    }
  }
  if (!done) {
    if (job.cancelled()) return jobs::JobContext::cancelled_error();
    return Error{ErrorCode::kUnavailable, "lost hive '" + hive_id + "' while it ran " + name +
                                              ": " + stream_status.error().message};
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
