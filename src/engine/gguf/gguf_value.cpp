#include "engine/gguf/gguf_value.hpp"

#include <array>

namespace rbee::engine {
namespace {

struct ValueTypeInfo {
  std::string_view name;
  size_t size_bytes;
};

constexpr std::array<ValueTypeInfo, 13> kValueTypes{{
    {"uint8", 1},
    {"int8", 1},
    {"uint16", 2},
    {"int16", 2},
    {"uint32", 4},
    {"int32", 4},
    {"float32", 4},
    {"bool", 1},
    {"string", 0},
    {"array", 0},
    {"uint64", 8},
    {"int64", 8},
    {"float64", 8},
}};

}  // namespace

std::string_view value_type_name(GgufValueType type) {
  auto id = static_cast<uint32_t>(type);
  return id < kValueTypes.size() ? kValueTypes[id].name : "unknown";
}

size_t value_type_size(GgufValueType type) {
  auto id = static_cast<uint32_t>(type);
  return id < kValueTypes.size() ? kValueTypes[id].size_bytes : 0;
}

bool operator==(const GgufArray& a, const GgufArray& b) {
  return a.element_type == b.element_type && a.elements == b.elements;
}

GgufValue GgufValue::string_array(const std::vector<std::string>& values) {
  GgufArray array;
  array.element_type = GgufValueType::kString;
  array.elements.reserve(values.size());
  for (const std::string& value : values) array.elements.emplace_back(value);
  return GgufValue(std::move(array));
}

}  // namespace rbee::engine
