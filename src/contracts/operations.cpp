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

Result<Operation> parse_operation(const Json& body) {
  ObjectReader reader(body, "");
  RBEE_RETURN_IF_ERROR(reader.expect_object());
  std::string name;
  RBEE_RETURN_IF_ERROR(reader.required_string("operation", name));

  Operation operation;
  if (name == "status") {
    operation = StatusOperation{};
  } else if (name == "hive_list") {
    operation = HiveListOperation{};
  } else if (name == "hive_get") {
    HiveGetOperation get;
    RBEE_RETURN_IF_ERROR(reader.required_string("alias", get.alias));
    RBEE_RETURN_IF_ERROR(validate_hive_id(get.alias, "alias"));
    operation = get;
  } else if (name == "hive_check") {
    HiveCheckOperation check;
    RBEE_RETURN_IF_ERROR(reader.optional_string("hive_id", check.hive_id));
    RBEE_RETURN_IF_ERROR(validate_hive_id(check.hive_id, "hive_id"));
    RBEE_RETURN_IF_ERROR(reader.optional_number("duration_s", check.duration_s));
    if (!(check.duration_s >= 0 && check.duration_s <= kMaxCheckDurationS)) {
      return make_error(ErrorCode::kInvalidArgument,
                        "field 'duration_s' must be between 0 and 86400 seconds");
    }
    operation = check;
  } else {
    return make_error(ErrorCode::kInvalidArgument,
                      "field 'operation': unknown operation '" + name +
                          "' (known: status, hive_list, hive_get, hive_check)");
  }
  RBEE_RETURN_IF_ERROR(reader.reject_unknown_fields());
  return operation;
}

Json to_json(const Operation& operation) {
  return std::visit(Overloaded{
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
                    },
                    operation);
}

std::string operation_name(const Operation& operation) {
  return to_json(operation)["operation"].get<std::string>();
}

std::string target_hive(const Operation& operation) {
  if (const auto* check = std::get_if<HiveCheckOperation>(&operation)) return check->hive_id;
  return "";
}

}  // namespace rbee::contracts
