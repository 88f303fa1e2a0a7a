#pragma once

// Strict reading of JSON objects into typed values. Every error is kInvalidArgument and
// names the field path (`devices[1].name`), so a 400 tells the caller exactly what to fix.

#include <initializer_list>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "common/result.hpp"

namespace rbee::contracts {

using Json = nlohmann::json;

// Parses text as JSON. kInvalidArgument with the parser's position on malformed input.
Result<Json> parse_json_text(const std::string& text);

class ObjectReader {
 public:
  // `path` prefixes field names in errors ("" at the top level).
  ObjectReader(const Json& object, std::string path);

  // kInvalidArgument when the value is not an object.
  Status expect_object() const;

  Status required_string(const char* key, std::string& out);
  Status optional_string(const char* key, std::string& out);
  Status optional_number(const char* key, double& out);
  Status optional_int(const char* key, int64_t& out);
  Status required_int(const char* key, int64_t& out);
  Status optional_bool(const char* key, bool& out);
  // The raw value when present (for nested objects and arrays), else nullptr.
  const Json* optional_value(const char* key);

  // kInvalidArgument naming the first key that no read above asked for.
  Status reject_unknown_fields() const;

  // The path of a field, for nested errors ("hives[0].devices").
  std::string field_path(const char* key) const;

 private:
  Error wrong_type(const char* key, const char* expected, const Json& value) const;

  const Json& object_;
  std::string path_;
  std::vector<std::string> known_;
};

}  // namespace rbee::contracts
