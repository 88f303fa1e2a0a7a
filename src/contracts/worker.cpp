#include "contracts/worker.hpp"

#include "contracts/operations.hpp"

namespace rbee::contracts {
namespace {

Status check_non_negative(int64_t value, const char* field) {
  if (value < 0) {
    return make_error(ErrorCode::kInvalidArgument,
                      "field '" + std::string(field) + "' must not be negative");
  }
  return ok_status();
}

}  // namespace

bool is_worker_state(const std::string& state) {
  for (const char* known : kWorkerStates) {
    if (state == known) return true;
  }
  return false;
}

Json to_json(const WorkerHeartbeat& heartbeat) {
  return Json{{"worker_id", heartbeat.worker_id},
              {"hive_id", heartbeat.hive_id},
              {"url", heartbeat.url},
              {"model", heartbeat.model},
              {"device", heartbeat.device},
              {"worker_type", heartbeat.worker_type},
              {"state", heartbeat.state},
              {"load_progress", heartbeat.load_progress},
              {"slots_total", heartbeat.slots_total},
              {"slots_busy", heartbeat.slots_busy},
              {"queue_depth", heartbeat.queue_depth},
              {"ctx", heartbeat.ctx},
              {"pid", heartbeat.pid},
              {"heartbeat_interval_ms", heartbeat.heartbeat_interval_ms}};
}

Result<WorkerHeartbeat> parse_worker_heartbeat(const Json& data) {
  ObjectReader reader(data, "");
  RBEE_RETURN_IF_ERROR(reader.expect_object());
  WorkerHeartbeat beat;
  RBEE_RETURN_IF_ERROR(reader.required_string("worker_id", beat.worker_id));
  RBEE_RETURN_IF_ERROR(validate_worker_id(beat.worker_id, "worker_id"));
  RBEE_RETURN_IF_ERROR(reader.required_string("hive_id", beat.hive_id));
  RBEE_RETURN_IF_ERROR(validate_hive_id(beat.hive_id, "hive_id"));
  RBEE_RETURN_IF_ERROR(reader.required_string("url", beat.url));
  RBEE_RETURN_IF_ERROR(validate_http_url(beat.url, "url"));
  RBEE_RETURN_IF_ERROR(reader.required_string("model", beat.model));
  RBEE_RETURN_IF_ERROR(reader.optional_string("device", beat.device));
  RBEE_RETURN_IF_ERROR(reader.optional_string("worker_type", beat.worker_type));
  RBEE_RETURN_IF_ERROR(reader.required_string("state", beat.state));
  if (!is_worker_state(beat.state)) {
    return make_error(ErrorCode::kInvalidArgument,
                      "field 'state': unknown worker state '" + beat.state + "'");
  }
  RBEE_RETURN_IF_ERROR(reader.optional_number("load_progress", beat.load_progress));
  if (!(beat.load_progress >= 0 && beat.load_progress <= 1)) {
    return make_error(ErrorCode::kInvalidArgument, "field 'load_progress' must be between 0 and 1");
  }
  RBEE_RETURN_IF_ERROR(reader.optional_int("slots_total", beat.slots_total));
  RBEE_RETURN_IF_ERROR(reader.optional_int("slots_busy", beat.slots_busy));
  RBEE_RETURN_IF_ERROR(reader.optional_int("queue_depth", beat.queue_depth));
  RBEE_RETURN_IF_ERROR(reader.optional_int("ctx", beat.ctx));
  RBEE_RETURN_IF_ERROR(reader.optional_int("pid", beat.pid));
  RBEE_RETURN_IF_ERROR(reader.optional_int("heartbeat_interval_ms", beat.heartbeat_interval_ms));
  for (auto [value, field] :
       {std::pair{beat.slots_total, "slots_total"}, std::pair{beat.slots_busy, "slots_busy"},
        std::pair{beat.queue_depth, "queue_depth"}, std::pair{beat.ctx, "ctx"},
        std::pair{beat.pid, "pid"}}) {
    RBEE_RETURN_IF_ERROR(check_non_negative(value, field));
  }
  if (beat.slots_busy > beat.slots_total) {
    return make_error(ErrorCode::kInvalidArgument,
                      "field 'slots_busy' must not exceed 'slots_total'");
  }
  if (beat.heartbeat_interval_ms < 10 || beat.heartbeat_interval_ms > 3600 * 1000) {
    return make_error(ErrorCode::kInvalidArgument,
                      "field 'heartbeat_interval_ms' must be between 10 and 3600000");
  }
  RBEE_RETURN_IF_ERROR(reader.reject_unknown_fields());
  return beat;
}

Json to_json(const HiveWorkerEvent& event) {
  return Json{{"hive_id", event.hive_id},
              {"kind", event.kind},
              {"worker_id", event.worker_id},
              {"pid", event.pid},
              {"exit_code", event.exit_code},
              {"signal", event.signal},
              {"model", event.model},
              {"reason", event.reason},
              {"last_log_lines", event.last_log_lines}};
}

Result<HiveWorkerEvent> parse_hive_worker_event(const Json& data) {
  ObjectReader reader(data, "");
  RBEE_RETURN_IF_ERROR(reader.expect_object());
  HiveWorkerEvent event;
  RBEE_RETURN_IF_ERROR(reader.required_string("hive_id", event.hive_id));
  RBEE_RETURN_IF_ERROR(validate_hive_id(event.hive_id, "hive_id"));
  RBEE_RETURN_IF_ERROR(reader.required_string("kind", event.kind));
  if (event.kind != "worker_exited" && event.kind != "worker_failed") {
    return make_error(ErrorCode::kInvalidArgument,
                      "field 'kind' must be 'worker_exited' or 'worker_failed'");
  }
  RBEE_RETURN_IF_ERROR(reader.required_string("worker_id", event.worker_id));
  RBEE_RETURN_IF_ERROR(validate_worker_id(event.worker_id, "worker_id"));
  RBEE_RETURN_IF_ERROR(reader.optional_int("pid", event.pid));
  RBEE_RETURN_IF_ERROR(check_non_negative(event.pid, "pid"));
  RBEE_RETURN_IF_ERROR(reader.optional_int("exit_code", event.exit_code));
  RBEE_RETURN_IF_ERROR(reader.optional_int("signal", event.signal));
  RBEE_RETURN_IF_ERROR(check_non_negative(event.signal, "signal"));
  RBEE_RETURN_IF_ERROR(reader.optional_string("model", event.model));
  RBEE_RETURN_IF_ERROR(reader.optional_string("reason", event.reason));
  if (const Json* lines = reader.optional_value("last_log_lines")) {
    if (!lines->is_array()) {
      return make_error(ErrorCode::kInvalidArgument, "field 'last_log_lines' must be an array");
    }
    for (const auto& line : *lines) {
      if (!line.is_string()) {
        return make_error(ErrorCode::kInvalidArgument, "field 'last_log_lines' must hold strings");
      }
      event.last_log_lines.push_back(line.get<std::string>());
    }
  }
  RBEE_RETURN_IF_ERROR(reader.reject_unknown_fields());
  return event;
}

}  // namespace rbee::contracts
