#pragma once

// Following a job that runs in another rbee program (the queen following a hive's job, the
// CLI following the queen's): its events until `done`, resuming a dropped stream with
// Last-Event-ID so nothing is missed or seen twice.

#include <functional>
#include <string>

#include "common/result.hpp"
#include "contracts/job_events.hpp"
#include "http/client.hpp"

namespace rbee::jobs {

// Called for every event before `done`, with its parsed JSON data (malformed data is skipped).
using RemoteEventHandler =
    std::function<void(const std::string& event_name, contracts::Json& data)>;

// Returns the job's `done` event. kUnavailable when the stream could not be resumed after
// `max_resumes` attempts (with growing pauses).
Result<contracts::Done> follow_remote_job(const http::Client& client, const std::string& sse_url,
                                          const RemoteEventHandler& on_event, int max_resumes = 3);

}  // namespace rbee::jobs
