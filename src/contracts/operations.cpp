#include "contracts/operations.hpp"

#include <cmath>

namespace rbee::contracts {
namespace {

template <class... Ts>
struct Overloaded : Ts... {
  using Ts::operator()...;
};
template <class... Ts>
Overloaded(Ts...) -> Overloaded<Ts...>;

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
    "status, hive_list, hive_get, hive_check, model_download, model_list, model_get, "
    "model_delete, worker_binary_list, worker_binary_get, worker_binary_delete, "
    "worker_binary_install";

Result<Operation> parse_named(const std::string& name, ObjectReader& reader) {
  if (name == "status") return Operation{StatusOperation{}};
  if (name == "hive_list") return Operation{HiveListOperation{}};
  if (name == "hive_get") {
    HiveGetOperation get;
    RBEE_RETURN_IF_ERROR(reader.required_string("alias", get.alias));
    RBEE_RETURN_IF_ERROR(validate_hive_id(get.alias, "alias"));
    return Operation{get};
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
      },
      operation);
}

std::string operation_name(const Operation& operation) {
  return to_json(operation)["operation"].get<std::string>();
}

std::string target_hive(const Operation& operation) {
  return std::visit(
      [](const auto& op) -> std::string {
        if constexpr (requires { op.hive_id; }) {
          return op.hive_id;
        } else {
          return "";
        }
      },
      operation);
}

}  // namespace rbee::contracts
