#include "jobs/remote_job.hpp"

#include <optional>
#include <thread>

namespace rbee::jobs {

Result<contracts::Done> follow_remote_job(const http::Client& client, const std::string& sse_url,
                                          const RemoteEventHandler& on_event, int max_resumes) {
  std::optional<contracts::Done> done;
  std::optional<std::string> last_event_id;
  Status stream_status;
  for (int attempt = 0; attempt <= max_resumes && !done; ++attempt) {
    if (attempt > 0) std::this_thread::sleep_for(std::chrono::milliseconds(200 << attempt));
    stream_status = client.stream_events(sse_url, last_event_id, [&](http::SseEvent&& event) {
      if (!event.id.empty()) last_event_id = event.id;
      auto data = contracts::parse_json_text(event.data);
      if (!data) return true;
      if (event.event == contracts::kEventDone) {
        auto parsed = contracts::parse_done(*data);
        done = parsed ? *parsed : contracts::Done{contracts::JobState::kFailed, parsed.error()};
        return false;
      }
      on_event(event.event, *data);
      return true;
    });
    if (stream_status && !done) {
      stream_status = Error{ErrorCode::kUnavailable, "the event stream ended before the job did"};
    }
  }
  if (!done) return stream_status.error();
  return *done;
}

}  // namespace rbee::jobs
