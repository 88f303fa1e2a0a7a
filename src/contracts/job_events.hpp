#pragma once

// Job events and job state on the wire (ARCHITECTURE.md §4). Every event is an SSE message
// with `id:`, `event:` (the name below) and one line of JSON `data:`.

#include <cstdint>
#include <optional>
#include <string>

#include "common/result.hpp"
#include "contracts/json_reader.hpp"

namespace rbee::contracts {

inline constexpr const char* kEventNarration = "narration";
inline constexpr const char* kEventProgress = "progress";
inline constexpr const char* kEventToken = "token";
inline constexpr const char* kEventResult = "result";
inline constexpr const char* kEventDone = "done";

// The human-readable story of a job (the seeds' narration).
struct Narration {
  std::string actor;           // "queen-rbee", "rbee-hive", ...
  std::string action;          // machine-friendly verb, e.g. "hive_check_start"
  std::string human;           // one sentence for people
  std::string level = "info";  // "debug" | "info" | "warn" | "error"
  int64_t ts_ms = 0;           // wall clock, Unix ms
  std::string job_id;
  std::string hive_id;  // empty when the event did not come from a hive
};
Json to_json(const Narration& narration);
Result<Narration> parse_narration(const Json& data);

// Progress of a phase. Byte counts use the spec's names (bytes_done/bytes_total/bytes_per_s);
// anything else counts steps (steps_done/steps_total/steps_per_s).
struct Progress {
  std::string phase;  // "download", "check", ...
  std::string file;   // optional
  bool in_bytes = false;
  int64_t done = 0;
  int64_t total = 0;  // 0 = unknown
  double per_s = 0;
  double eta_s = -1;  // negative = unknown
};
Json to_json(const Progress& progress);
Result<Progress> parse_progress(const Json& data);

enum class JobState { kQueued, kRunning, kCompleted, kFailed, kCancelled };
std::string to_string(JobState state);
std::optional<JobState> job_state_from_string(const std::string& name);
inline bool is_finished(JobState state) {
  return state == JobState::kCompleted || state == JobState::kFailed ||
         state == JobState::kCancelled;
}

// The last event of every job.
struct Done {
  JobState status = JobState::kCompleted;  // completed | failed | cancelled
  std::optional<Error> error;              // set when failed
};
Json to_json(const Done& done);
Result<Done> parse_done(const Json& data);

// `GET /v1/jobs/<id>`.
struct JobInfo {
  std::string job_id;
  std::string operation;
  JobState state = JobState::kQueued;
  int64_t created_ms = 0;
  int64_t started_ms = 0;   // 0 = not started
  int64_t finished_ms = 0;  // 0 = not finished
  std::optional<Error> error;
  uint64_t n_events = 0;
};
Json to_json(const JobInfo& info);
Result<JobInfo> parse_job_info(const Json& data);

// `202` answer to `POST /v1/jobs`.
struct JobSubmitted {
  std::string job_id;
  std::string sse_url;
};
Json to_json(const JobSubmitted& submitted);
Result<JobSubmitted> parse_job_submitted(const Json& data);

// `{"error":{"code":"...","message":"..."}}`, the body of every error response.
Json error_body(const Error& error);
Json to_json(const Error& error);
// Reads an error object ({"code","message"}); tolerant, since it reports someone else's failure.
Error parse_error_object(const Json& data);

}  // namespace rbee::contracts
