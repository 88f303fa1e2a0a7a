#include "contracts/json_reader.hpp"

namespace rbee::contracts {

Result<Json> parse_json_text(const std::string& text) {
  try {
    return Json::parse(text);
  } catch (const Json::parse_error& e) {
    return make_error(ErrorCode::kInvalidArgument,
                      "malformed JSON at byte " + std::to_string(e.byte) + ": " + e.what());
  }
}

ObjectReader::ObjectReader(const Json& object, std::string path)
    : object_(object), path_(std::move(path)) {}

Status ObjectReader::expect_object() const {
  if (!object_.is_object()) {
    return make_error(ErrorCode::kInvalidArgument,
                      (path_.empty() ? std::string("the body") : path_) +
                          " must be a JSON object, got " + object_.type_name());
  }
  return ok_status();
}

std::string ObjectReader::field_path(const char* key) const {
  return path_.empty() ? std::string(key) : path_ + "." + key;
}

Error ObjectReader::wrong_type(const char* key, const char* expected, const Json& value) const {
  return make_error(ErrorCode::kInvalidArgument, "field '" + field_path(key) + "' must be " +
                                                     expected + ", got " + value.type_name());
}

const Json* ObjectReader::optional_value(const char* key) {
  known_.emplace_back(key);
  auto it = object_.find(key);
  if (it == object_.end() || it->is_null()) return nullptr;
  return &*it;
}

Status ObjectReader::required_string(const char* key, std::string& out) {
  const Json* value = optional_value(key);
  if (!value) {
    return make_error(ErrorCode::kInvalidArgument, "missing field '" + field_path(key) + "'");
  }
  if (!value->is_string()) return wrong_type(key, "a string", *value);
  out = value->get<std::string>();
  return ok_status();
}

Status ObjectReader::optional_string(const char* key, std::string& out) {
  const Json* value = optional_value(key);
  if (!value) return ok_status();
  if (!value->is_string()) return wrong_type(key, "a string", *value);
  out = value->get<std::string>();
  return ok_status();
}

Status ObjectReader::optional_number(const char* key, double& out) {
  const Json* value = optional_value(key);
  if (!value) return ok_status();
  if (!value->is_number()) return wrong_type(key, "a number", *value);
  out = value->get<double>();
  return ok_status();
}

Status ObjectReader::optional_int(const char* key, int64_t& out) {
  const Json* value = optional_value(key);
  if (!value) return ok_status();
  if (!value->is_number_integer()) return wrong_type(key, "an integer", *value);
  out = value->get<int64_t>();
  return ok_status();
}

Status ObjectReader::required_int(const char* key, int64_t& out) {
  if (object_.find(key) == object_.end()) {
    known_.emplace_back(key);
    return make_error(ErrorCode::kInvalidArgument, "missing field '" + field_path(key) + "'");
  }
  return optional_int(key, out);
}

Status ObjectReader::optional_bool(const char* key, bool& out) {
  const Json* value = optional_value(key);
  if (!value) return ok_status();
  if (!value->is_boolean()) return wrong_type(key, "true or false", *value);
  out = value->get<bool>();
  return ok_status();
}

Status ObjectReader::reject_unknown_fields() const {
  for (const auto& [key, value] : object_.items()) {
    bool known = false;
    for (const auto& name : known_) known = known || name == key;
    if (!known) {
      return make_error(ErrorCode::kInvalidArgument,
                        "unknown field '" + field_path(key.c_str()) + "'");
    }
  }
  return ok_status();
}

}  // namespace rbee::contracts
