#include "contracts/operations.hpp"

#include <cmath>
#include <type_traits>

namespace rbee::contracts {
namespace {

template <class... Ts>
struct Overloaded : Ts... {
  using Ts::operator()...;
};
template <class... Ts>
Overloaded(Ts...) -> Overloaded<Ts...>;

std::string json_number(double value) {
  return Json(value).dump();
}

constexpr double kMaxCheckDurationS = 24 * 3600;

}  // namespace

Status validate_hive_id(const std::string& hive_id, const std::string& field) {
  bool ok = !hive_id.empty() && hive_id.size() <= 64;
  for (char c : hive_id) {
    ok = ok && (std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-');
  }
  if (!ok || hive_id == "." || hive_id == "..") {
    return make_error(
        ErrorCode::kInvalidArgument,
        "field '" + field + "' must be 1-64 characters of letters, digits, '.', '_' or '-'");
  }
  return ok_status();
}

Status validate_http_url(const std::string& url, const std::string& field) {
  if (url.rfind("http://", 0) != 0 && url.rfind("https://", 0) != 0) {
    return make_error(ErrorCode::kInvalidArgument,
                      "field '" + field + "' must be an http:// or https:// URL");
  }
  return ok_status();
}

Status validate_worker_id(const std::string& worker_id, const std::string& field) {
  return validate_hive_id(worker_id, field);
}

namespace {

Status read_hive_id(ObjectReader& reader, std::string& hive_id) {
  RBEE_RETURN_IF_ERROR(reader.optional_string("hive_id", hive_id));
  return validate_hive_id(hive_id, "hive_id");
}

// A free-form text field that becomes part of paths, URLs or logs downstream: bounded and
// without control characters. The consumer validates its own grammar on top.
Status read_text(ObjectReader& reader, const char* key, bool required, std::string& out) {
  RBEE_RETURN_IF_ERROR(required ? reader.required_string(key, out)
                                : reader.optional_string(key, out));
  if (required && out.empty()) {
    return make_error(ErrorCode::kInvalidArgument, "field '" + std::string(key) + "' is empty");
  }
  if (out.size() > 4096) {
    return make_error(ErrorCode::kInvalidArgument,
                      "field '" + std::string(key) + "' is longer than 4096 bytes");
  }
  for (char c : out) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
      return make_error(ErrorCode::kInvalidArgument,
                        "field '" + std::string(key) + "' contains a control character");
    }
  }
  return ok_status();
}

constexpr const char* kKnownOperations =
    "status, hive_list, hive_get, hive_install, hive_uninstall, hive_start, hive_stop, "
    "hive_check, model_download, model_list, model_get, "
    "model_delete, worker_binary_list, worker_binary_get, worker_binary_delete, "
    "worker_binary_install, worker_spawn, worker_process_list, worker_process_get, "
    "worker_process_delete, active_worker_list, active_worker_get, active_worker_retire, infer";

constexpr int64_t kMaxParallel = 64;
constexpr int64_t kMaxContext = 1 << 20;

Status read_int_in_range(ObjectReader& reader, const char* key, int64_t min, int64_t max,
                         int64_t& out) {
  RBEE_RETURN_IF_ERROR(reader.optional_int(key, out));
  if (out < min || out > max) {
    return make_error(ErrorCode::kInvalidArgument, "field '" + std::string(key) +
                                                       "' must be between " + std::to_string(min) +
                                                       " and " + std::to_string(max));
  }
  return ok_status();
}

Status read_number_in_range(ObjectReader& reader, const char* key, double min, double max,
                            double& out) {
  RBEE_RETURN_IF_ERROR(reader.optional_number(key, out));
  if (!(out >= min && out <= max)) {
    return make_error(ErrorCode::kInvalidArgument, "field '" + std::string(key) +
                                                       "' must be between " + json_number(min) +
                                                       " and " + json_number(max));
  }
  return ok_status();
}

Status read_pid(ObjectReader& reader, int64_t& pid) {
  RBEE_RETURN_IF_ERROR(reader.required_int("pid", pid));
  if (pid <= 0 || pid > 0x3fffffff) {
    return make_error(ErrorCode::kInvalidArgument, "field 'pid' must be a positive process id");
  }
  return ok_status();
}

Status read_worker_id(ObjectReader& reader, bool required, std::string& worker_id) {
  RBEE_RETURN_IF_ERROR(required ? reader.required_string("worker_id", worker_id)
                                : reader.optional_string("worker_id", worker_id));
  if (!required && worker_id.empty()) return ok_status();
  return validate_worker_id(worker_id, "worker_id");
}

// `stop`: a string or an array of up to 4 strings (as OpenAI accepts).
Status read_stop(ObjectReader& reader, std::vector<std::string>& stop) {
  const Json* value = reader.optional_value("stop");
  if (!value || value->is_null()) return ok_status();
  if (value->is_string()) {
    stop.push_back(value->get<std::string>());
  } else if (value->is_array()) {
    for (const auto& item : *value) {
      if (!item.is_string()) {
        return make_error(ErrorCode::kInvalidArgument, "field 'stop' must hold strings");
      }
      stop.push_back(item.get<std::string>());
    }
  } else {
    return make_error(ErrorCode::kInvalidArgument,
                      "field 'stop' must be a string or an array of strings");
  }
  if (stop.size() > 4) {
    return make_error(ErrorCode::kInvalidArgument, "field 'stop' holds at most 4 strings");
  }
  for (const auto& s : stop) {
    if (s.empty() || s.size() > 256) {
      return make_error(ErrorCode::kInvalidArgument,
                        "field 'stop' strings must be 1 to 256 bytes long");
    }
  }
  return ok_status();
}

Status read_alias(ObjectReader& reader, std::string& alias) {
  RBEE_RETURN_IF_ERROR(reader.required_string("alias", alias));
  return validate_hive_id(alias, "alias");
}

Result<Operation> parse_named(const std::string& name, ObjectReader& reader) {
  if (name == "status") return Operation{StatusOperation{}};
  if (name == "hive_list") return Operation{HiveListOperation{}};
  if (name == "hive_get") {
    HiveGetOperation get;
    RBEE_RETURN_IF_ERROR(read_alias(reader, get.alias));
    return Operation{get};
  }
  if (name == "hive_install") {
    HiveInstallOperation install;
    RBEE_RETURN_IF_ERROR(read_alias(reader, install.alias));
    return Operation{install};
  }
  if (name == "hive_uninstall") {
    HiveUninstallOperation uninstall;
    RBEE_RETURN_IF_ERROR(read_alias(reader, uninstall.alias));
    RBEE_RETURN_IF_ERROR(reader.optional_bool("purge", uninstall.purge));
    return Operation{uninstall};
  }
  if (name == "hive_start") {
    HiveStartOperation start;
    RBEE_RETURN_IF_ERROR(read_alias(reader, start.alias));
    return Operation{start};
  }
  if (name == "hive_stop") {
    HiveStopOperation stop;
    RBEE_RETURN_IF_ERROR(read_alias(reader, stop.alias));
    return Operation{stop};
  }
  if (name == "hive_check") {
    HiveCheckOperation check;
    RBEE_RETURN_IF_ERROR(read_hive_id(reader, check.hive_id));
    RBEE_RETURN_IF_ERROR(reader.optional_number("duration_s", check.duration_s));
    if (!(check.duration_s >= 0 && check.duration_s <= kMaxCheckDurationS)) {
      return make_error(ErrorCode::kInvalidArgument,
                        "field 'duration_s' must be between 0 and 86400 seconds");
    }
    return Operation{check};
  }
  if (name == "model_download") {
    ModelDownloadOperation download;
    RBEE_RETURN_IF_ERROR(read_hive_id(reader, download.hive_id));
    RBEE_RETURN_IF_ERROR(read_text(reader, "model", true, download.model));
    RBEE_RETURN_IF_ERROR(read_text(reader, "revision", false, download.revision));
    if (download.revision.empty()) download.revision = "main";
    return Operation{download};
  }
  if (name == "model_list") {
    ModelListOperation list;
    RBEE_RETURN_IF_ERROR(read_hive_id(reader, list.hive_id));
    return Operation{list};
  }
  if (name == "model_get") {
    ModelGetOperation get;
    RBEE_RETURN_IF_ERROR(read_hive_id(reader, get.hive_id));
    RBEE_RETURN_IF_ERROR(read_text(reader, "id", true, get.id));
    return Operation{get};
  }
  if (name == "model_delete") {
    ModelDeleteOperation del;
    RBEE_RETURN_IF_ERROR(read_hive_id(reader, del.hive_id));
    RBEE_RETURN_IF_ERROR(read_text(reader, "id", true, del.id));
    RBEE_RETURN_IF_ERROR(reader.optional_bool("force", del.force));
    return Operation{del};
  }
  if (name == "worker_binary_list") {
    WorkerBinaryListOperation list;
    RBEE_RETURN_IF_ERROR(read_hive_id(reader, list.hive_id));
    return Operation{list};
  }
  if (name == "worker_binary_get") {
    WorkerBinaryGetOperation get;
    RBEE_RETURN_IF_ERROR(read_hive_id(reader, get.hive_id));
    RBEE_RETURN_IF_ERROR(read_text(reader, "worker_type", true, get.worker_type));
    return Operation{get};
  }
  if (name == "worker_binary_delete") {
    WorkerBinaryDeleteOperation del;
    RBEE_RETURN_IF_ERROR(read_hive_id(reader, del.hive_id));
    RBEE_RETURN_IF_ERROR(read_text(reader, "worker_type", true, del.worker_type));
    return Operation{del};
  }
  if (name == "worker_binary_install") {
    WorkerBinaryInstallOperation install;
    RBEE_RETURN_IF_ERROR(read_hive_id(reader, install.hive_id));
    RBEE_RETURN_IF_ERROR(read_text(reader, "worker_type", true, install.worker_type));
    RBEE_RETURN_IF_ERROR(read_text(reader, "source", true, install.source));
    RBEE_RETURN_IF_ERROR(read_text(reader, "sha256", false, install.sha256));
    return Operation{install};
  }
  if (name == "worker_spawn") {
    WorkerSpawnOperation spawn;
    RBEE_RETURN_IF_ERROR(read_hive_id(reader, spawn.hive_id));
    RBEE_RETURN_IF_ERROR(read_text(reader, "model", true, spawn.model));
    RBEE_RETURN_IF_ERROR(read_text(reader, "worker_type", false, spawn.worker_type));
    if (spawn.worker_type.empty()) spawn.worker_type = "cpu";
    RBEE_RETURN_IF_ERROR(read_text(reader, "device", false, spawn.device));
    if (spawn.device.empty()) spawn.device = "cpu";
    RBEE_RETURN_IF_ERROR(read_int_in_range(reader, "ctx", 0, kMaxContext, spawn.ctx));
    RBEE_RETURN_IF_ERROR(read_int_in_range(reader, "parallel", 1, kMaxParallel, spawn.parallel));
    RBEE_RETURN_IF_ERROR(read_int_in_range(reader, "threads", 0, 1024, spawn.threads));
    RBEE_RETURN_IF_ERROR(read_worker_id(reader, false, spawn.worker_id));
    return Operation{spawn};
  }
  if (name == "worker_process_list") {
    WorkerProcessListOperation list;
    RBEE_RETURN_IF_ERROR(read_hive_id(reader, list.hive_id));
    return Operation{list};
  }
  if (name == "worker_process_get") {
    WorkerProcessGetOperation get;
    RBEE_RETURN_IF_ERROR(read_hive_id(reader, get.hive_id));
    RBEE_RETURN_IF_ERROR(read_pid(reader, get.pid));
    return Operation{get};
  }
  if (name == "worker_process_delete") {
    WorkerProcessDeleteOperation del;
    RBEE_RETURN_IF_ERROR(read_hive_id(reader, del.hive_id));
    RBEE_RETURN_IF_ERROR(read_pid(reader, del.pid));
    return Operation{del};
  }
  if (name == "active_worker_list") return Operation{ActiveWorkerListOperation{}};
  if (name == "active_worker_get") {
    ActiveWorkerGetOperation get;
    RBEE_RETURN_IF_ERROR(read_worker_id(reader, true, get.worker_id));
    return Operation{get};
  }
  if (name == "active_worker_retire") {
    ActiveWorkerRetireOperation retire;
    RBEE_RETURN_IF_ERROR(read_worker_id(reader, true, retire.worker_id));
    return Operation{retire};
  }
  if (name == "infer") {
    InferOperation infer;
    RBEE_RETURN_IF_ERROR(read_text(reader, "model", true, infer.model));
    RBEE_RETURN_IF_ERROR(reader.required_string("prompt", infer.prompt));
    if (infer.prompt.size() > 4 * 1024 * 1024) {
      return make_error(ErrorCode::kInvalidArgument, "field 'prompt' is longer than 4 MiB");
    }
    RBEE_RETURN_IF_ERROR(read_int_in_range(reader, "max_tokens", 1, kMaxContext, infer.max_tokens));
    RBEE_RETURN_IF_ERROR(read_number_in_range(reader, "temperature", 0, 2, infer.temperature));
    RBEE_RETURN_IF_ERROR(read_number_in_range(reader, "top_p", 0, 1, infer.top_p));
    RBEE_RETURN_IF_ERROR(read_int_in_range(reader, "top_k", 0, 1 << 20, infer.top_k));
    RBEE_RETURN_IF_ERROR(read_number_in_range(reader, "min_p", 0, 1, infer.min_p));
    if (const Json* seed = reader.optional_value("seed"); seed && !seed->is_null()) {
      int64_t value = 0;
      RBEE_RETURN_IF_ERROR(reader.optional_int("seed", value));
      infer.seed = value;
    }
    RBEE_RETURN_IF_ERROR(read_stop(reader, infer.stop));
    RBEE_RETURN_IF_ERROR(reader.optional_string("hive_id", infer.hive_id));
    if (!infer.hive_id.empty()) RBEE_RETURN_IF_ERROR(validate_hive_id(infer.hive_id, "hive_id"));
    RBEE_RETURN_IF_ERROR(read_worker_id(reader, false, infer.worker_id));
    return Operation{infer};
  }
  return make_error(ErrorCode::kInvalidArgument, "field 'operation': unknown operation '" + name +
                                                     "' (known: " + kKnownOperations + ")");
}

}  // namespace

Result<Operation> parse_operation(const Json& body) {
  ObjectReader reader(body, "");
  RBEE_RETURN_IF_ERROR(reader.expect_object());
  std::string name;
  RBEE_RETURN_IF_ERROR(reader.required_string("operation", name));
  RBEE_ASSIGN_OR_RETURN(Operation operation, parse_named(name, reader));
  RBEE_RETURN_IF_ERROR(reader.reject_unknown_fields());
  return operation;
}

Json to_json(const Operation& operation) {
  return std::visit(
      Overloaded{
          [](const StatusOperation&) {
            return Json{{"operation", "status"}};
          },
          [](const HiveListOperation&) {
            return Json{{"operation", "hive_list"}};
          },
          [](const HiveGetOperation& get) {
            return Json{{"operation", "hive_get"}, {"alias", get.alias}};
          },
          [](const HiveInstallOperation& install) {
            return Json{{"operation", "hive_install"}, {"alias", install.alias}};
          },
          [](const HiveUninstallOperation& uninstall) {
            return Json{{"operation", "hive_uninstall"},
                        {"alias", uninstall.alias},
                        {"purge", uninstall.purge}};
          },
          [](const HiveStartOperation& start) {
            return Json{{"operation", "hive_start"}, {"alias", start.alias}};
          },
          [](const HiveStopOperation& stop) {
            return Json{{"operation", "hive_stop"}, {"alias", stop.alias}};
          },
          [](const HiveCheckOperation& check) {
            return Json{{"operation", "hive_check"},
                        {"hive_id", check.hive_id},
                        {"duration_s", check.duration_s}};
          },
          [](const ModelDownloadOperation& download) {
            return Json{{"operation", "model_download"},
                        {"hive_id", download.hive_id},
                        {"model", download.model},
                        {"revision", download.revision}};
          },
          [](const ModelListOperation& list) {
            return Json{{"operation", "model_list"}, {"hive_id", list.hive_id}};
          },
          [](const ModelGetOperation& get) {
            return Json{{"operation", "model_get"}, {"hive_id", get.hive_id}, {"id", get.id}};
          },
          [](const ModelDeleteOperation& del) {
            return Json{{"operation", "model_delete"},
                        {"hive_id", del.hive_id},
                        {"id", del.id},
                        {"force", del.force}};
          },
          [](const WorkerBinaryListOperation& list) {
            return Json{{"operation", "worker_binary_list"}, {"hive_id", list.hive_id}};
          },
          [](const WorkerBinaryGetOperation& get) {
            return Json{{"operation", "worker_binary_get"},
                        {"hive_id", get.hive_id},
                        {"worker_type", get.worker_type}};
          },
          [](const WorkerBinaryDeleteOperation& del) {
            return Json{{"operation", "worker_binary_delete"},
                        {"hive_id", del.hive_id},
                        {"worker_type", del.worker_type}};
          },
          [](const WorkerBinaryInstallOperation& install) {
            Json json{{"operation", "worker_binary_install"},
                      {"hive_id", install.hive_id},
                      {"worker_type", install.worker_type},
                      {"source", install.source}};
            if (!install.sha256.empty()) json["sha256"] = install.sha256;
            return json;
          },
          [](const WorkerSpawnOperation& spawn) {
            Json json{{"operation", "worker_spawn"}, {"hive_id", spawn.hive_id},
                      {"model", spawn.model},        {"worker_type", spawn.worker_type},
                      {"device", spawn.device},      {"ctx", spawn.ctx},
                      {"parallel", spawn.parallel},  {"threads", spawn.threads}};
            if (!spawn.worker_id.empty()) json["worker_id"] = spawn.worker_id;
            return json;
          },
          [](const WorkerProcessListOperation& list) {
            return Json{{"operation", "worker_process_list"}, {"hive_id", list.hive_id}};
          },
          [](const WorkerProcessGetOperation& get) {
            return Json{
                {"operation", "worker_process_get"}, {"hive_id", get.hive_id}, {"pid", get.pid}};
          },
          [](const WorkerProcessDeleteOperation& del) {
            return Json{
                {"operation", "worker_process_delete"}, {"hive_id", del.hive_id}, {"pid", del.pid}};
          },
          [](const ActiveWorkerListOperation&) {
            return Json{{"operation", "active_worker_list"}};
          },
          [](const ActiveWorkerGetOperation& get) {
            return Json{{"operation", "active_worker_get"}, {"worker_id", get.worker_id}};
          },
          [](const ActiveWorkerRetireOperation& retire) {
            return Json{{"operation", "active_worker_retire"}, {"worker_id", retire.worker_id}};
          },
          [](const InferOperation& infer) {
            Json json{{"operation", "infer"},
                      {"model", infer.model},
                      {"prompt", infer.prompt},
                      {"max_tokens", infer.max_tokens},
                      {"temperature", infer.temperature},
                      {"top_p", infer.top_p},
                      {"top_k", infer.top_k},
                      {"min_p", infer.min_p}};
            if (infer.seed) json["seed"] = *infer.seed;
            if (!infer.stop.empty()) json["stop"] = infer.stop;
            if (!infer.hive_id.empty()) json["hive_id"] = infer.hive_id;
            if (!infer.worker_id.empty()) json["worker_id"] = infer.worker_id;
            return json;
          },
      },
      operation);
}

std::string operation_name(const Operation& operation) {
  return to_json(operation)["operation"].get<std::string>();
}

std::string target_hive(const Operation& operation) {
  return std::visit(
      [](const auto& op) -> std::string {
        if constexpr (std::is_same_v<std::decay_t<decltype(op)>, InferOperation>) {
          return "";
        } else if constexpr (requires { op.hive_id; }) {
          return op.hive_id;
        } else {
          return "";
        }
      },
      operation);
}

}  // namespace rbee::contracts
