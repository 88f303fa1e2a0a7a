#include "contracts/job_events.hpp"

#include <array>

namespace rbee::contracts {
namespace {

constexpr std::array<std::pair<JobState, const char*>, 5> kStateNames{{
    {JobState::kQueued, "queued"},
    {JobState::kRunning, "running"},
    {JobState::kCompleted, "completed"},
    {JobState::kFailed, "failed"},
    {JobState::kCancelled, "cancelled"},
}};

}  // namespace

std::string to_string(JobState state) {
  for (const auto& [value, name] : kStateNames) {
    if (value == state) return name;
  }
  return "unknown";
}

std::optional<JobState> job_state_from_string(const std::string& name) {
  for (const auto& [value, state_name] : kStateNames) {
    if (name == state_name) return value;
  }
  return std::nullopt;
}

Json to_json(const Narration& narration) {
  Json data{{"actor", narration.actor}, {"action", narration.action}, {"human", narration.human},
            {"level", narration.level}, {"ts_ms", narration.ts_ms},   {"job_id", narration.job_id}};
  if (!narration.hive_id.empty()) data["hive_id"] = narration.hive_id;
  return data;
}

Result<Narration> parse_narration(const Json& data) {
  ObjectReader reader(data, "narration");
  RBEE_RETURN_IF_ERROR(reader.expect_object());
  Narration narration;
  RBEE_RETURN_IF_ERROR(reader.required_string("actor", narration.actor));
  RBEE_RETURN_IF_ERROR(reader.required_string("action", narration.action));
  RBEE_RETURN_IF_ERROR(reader.required_string("human", narration.human));
  RBEE_RETURN_IF_ERROR(reader.optional_string("level", narration.level));
  RBEE_RETURN_IF_ERROR(reader.optional_int("ts_ms", narration.ts_ms));
  RBEE_RETURN_IF_ERROR(reader.optional_string("job_id", narration.job_id));
  RBEE_RETURN_IF_ERROR(reader.optional_string("hive_id", narration.hive_id));
  return narration;
}

Json to_json(const Progress& progress) {
  const char* prefix = progress.in_bytes ? "bytes" : "steps";
  Json data{{"phase", progress.phase}};
  if (!progress.file.empty()) data["file"] = progress.file;
  data[std::string(prefix) + "_done"] = progress.done;
  data[std::string(prefix) + "_total"] = progress.total;
  data[std::string(prefix) + "_per_s"] = progress.per_s;
  if (progress.eta_s >= 0) data["eta_s"] = progress.eta_s;
  return data;
}

Result<Progress> parse_progress(const Json& data) {
  ObjectReader reader(data, "progress");
  RBEE_RETURN_IF_ERROR(reader.expect_object());
  Progress progress;
  RBEE_RETURN_IF_ERROR(reader.required_string("phase", progress.phase));
  RBEE_RETURN_IF_ERROR(reader.optional_string("file", progress.file));
  progress.in_bytes = data.contains("bytes_done");
  const std::string prefix = progress.in_bytes ? "bytes" : "steps";
  RBEE_RETURN_IF_ERROR(reader.required_int((prefix + "_done").c_str(), progress.done));
  RBEE_RETURN_IF_ERROR(reader.optional_int((prefix + "_total").c_str(), progress.total));
  RBEE_RETURN_IF_ERROR(reader.optional_number((prefix + "_per_s").c_str(), progress.per_s));
  RBEE_RETURN_IF_ERROR(reader.optional_number("eta_s", progress.eta_s));
  return progress;
}

Json to_json(const Error& error) {
  return Json{{"code", std::string(wire_name(error.code))}, {"message", error.message}};
}

Json error_body(const Error& error) {
  return Json{{"error", to_json(error)}};
}

Error parse_error_object(const Json& data) {
  Error error{ErrorCode::kInternal, "unknown error"};
  if (!data.is_object()) return error;
  if (auto it = data.find("code"); it != data.end() && it->is_string()) {
    error.code = error_code_from_wire_name(it->get<std::string>());
  }
  if (auto it = data.find("message"); it != data.end() && it->is_string()) {
    error.message = it->get<std::string>();
  }
  return error;
}

Json to_json(const Done& done) {
  Json data{{"status", to_string(done.status)}};
  if (done.error) data["error"] = to_json(*done.error);
  return data;
}

Result<Done> parse_done(const Json& data) {
  ObjectReader reader(data, "done");
  RBEE_RETURN_IF_ERROR(reader.expect_object());
  std::string status;
  RBEE_RETURN_IF_ERROR(reader.required_string("status", status));
  auto state = job_state_from_string(status);
  if (!state || !is_finished(*state)) {
    return make_error(ErrorCode::kInvalidArgument,
                      "field 'done.status' has unknown value '" + status + "'");
  }
  Done done{*state, std::nullopt};
  if (const Json* error = reader.optional_value("error")) done.error = parse_error_object(*error);
  if (done.status == JobState::kFailed && !done.error) {
    done.error = Error{ErrorCode::kInternal, "the job failed without saying why"};
  }
  return done;
}

Json to_json(const JobInfo& info) {
  Json data{{"job_id", info.job_id},          {"operation", info.operation},
            {"state", to_string(info.state)}, {"created_ms", info.created_ms},
            {"started_ms", info.started_ms},  {"finished_ms", info.finished_ms},
            {"n_events", info.n_events}};
  if (info.error) data["error"] = to_json(*info.error);
  return data;
}

Result<JobInfo> parse_job_info(const Json& data) {
  ObjectReader reader(data, "job");
  RBEE_RETURN_IF_ERROR(reader.expect_object());
  JobInfo info;
  std::string state;
  int64_t n_events = 0;
  RBEE_RETURN_IF_ERROR(reader.required_string("job_id", info.job_id));
  RBEE_RETURN_IF_ERROR(reader.optional_string("operation", info.operation));
  RBEE_RETURN_IF_ERROR(reader.required_string("state", state));
  RBEE_RETURN_IF_ERROR(reader.optional_int("created_ms", info.created_ms));
  RBEE_RETURN_IF_ERROR(reader.optional_int("started_ms", info.started_ms));
  RBEE_RETURN_IF_ERROR(reader.optional_int("finished_ms", info.finished_ms));
  RBEE_RETURN_IF_ERROR(reader.optional_int("n_events", n_events));
  info.n_events = static_cast<uint64_t>(n_events);
  auto parsed_state = job_state_from_string(state);
  if (!parsed_state) {
    return make_error(ErrorCode::kInvalidArgument,
                      "field 'job.state' has unknown value '" + state + "'");
  }
  info.state = *parsed_state;
  if (const Json* error = reader.optional_value("error")) info.error = parse_error_object(*error);
  return info;
}

Json to_json(const JobSubmitted& submitted) {
  return Json{{"job_id", submitted.job_id}, {"sse_url", submitted.sse_url}};
}

Result<JobSubmitted> parse_job_submitted(const Json& data) {
  ObjectReader reader(data, "");
  RBEE_RETURN_IF_ERROR(reader.expect_object());
  JobSubmitted submitted;
  RBEE_RETURN_IF_ERROR(reader.required_string("job_id", submitted.job_id));
  RBEE_RETURN_IF_ERROR(reader.required_string("sse_url", submitted.sse_url));
  return submitted;
}

}  // namespace rbee::contracts
