#pragma once

// GgufValue: one GGUF metadata value held in memory (the writer's input, and what
// GgufReader::get_value() decodes). The value types and their ids are the GGUF spec's
// `gguf_metadata_value_type`; arrays hold elements of one type, which may itself be an
// array (each inner array then has its own element type and length).
//
//   GgufValue arch = std::string("llama");
//   GgufValue n_layers = uint32_t{5};
//   GgufValue scores = GgufValue::array_of<float>({0.0f, -1.5f});
//   GgufValue vocab = GgufValue::string_array({"<unk>", "<s>"});
//
// A value's type is that of the C++ type it was built from, exactly: uint32_t{5} is a
// uint32, int64_t{5} an int64. Plain data: copyable, not synchronized.

#include <cstdint>
#include <string>
#include <string_view>
#include <type_traits>
#include <variant>
#include <vector>

namespace rbee::engine {

enum class GgufValueType : uint32_t {
  kUint8 = 0,
  kInt8 = 1,
  kUint16 = 2,
  kInt16 = 3,
  kUint32 = 4,
  kInt32 = 5,
  kFloat32 = 6,
  kBool = 7,
  kString = 8,
  kArray = 9,
  kUint64 = 10,
  kInt64 = 11,
  kFloat64 = 12,
};

// The spec's lower-case name ("uint32", "float32", "array"), or "unknown" for another id.
std::string_view value_type_name(GgufValueType type);

// Bytes of one value of a fixed-size type; 0 for string, array and unknown ids.
size_t value_type_size(GgufValueType type);

class GgufValue;

// An array value: `element_type` says the type of every element (kArray for an array of
// arrays). GgufWriter rejects an array whose elements do not all have that type.
struct GgufArray {
  GgufValueType element_type = GgufValueType::kUint8;
  std::vector<GgufValue> elements;
};

bool operator==(const GgufArray& a, const GgufArray& b);

namespace detail {
// The C++ types a scalar GgufValue can be built from, in GGUF type id order.
template <typename T>
inline constexpr bool kIsGgufScalar =
    std::is_same_v<T, uint8_t> || std::is_same_v<T, int8_t> || std::is_same_v<T, uint16_t> ||
    std::is_same_v<T, int16_t> || std::is_same_v<T, uint32_t> || std::is_same_v<T, int32_t> ||
    std::is_same_v<T, float> || std::is_same_v<T, bool> || std::is_same_v<T, uint64_t> ||
    std::is_same_v<T, int64_t> || std::is_same_v<T, double>;
}  // namespace detail

class GgufValue {
 public:
  // The alternatives in GGUF type id order, so that index() is the type id.
  using Storage = std::variant<uint8_t, int8_t, uint16_t, int16_t, uint32_t, int32_t, float, bool,
                               std::string, GgufArray, uint64_t, int64_t, double>;

  GgufValue() = default;  // uint8 0
  template <typename T>
  requires detail::kIsGgufScalar<T> GgufValue(T value)
      : storage_(std::in_place_type<T>, value) {}                      // NOLINT: implicit
  GgufValue(std::string value) : storage_(std::move(value)) {}         // NOLINT: implicit
  GgufValue(std::string_view value) : storage_(std::string(value)) {}  // NOLINT: implicit
  GgufValue(const char* value) : storage_(std::string(value)) {}       // NOLINT: implicit
  GgufValue(GgufArray value) : storage_(std::move(value)) {}           // NOLINT: implicit

  // An array of strings (e.g. tokenizer.ggml.tokens).
  static GgufValue string_array(const std::vector<std::string>& values);
  // An array of scalars of type T (float for scores, int32_t for token types ...).
  template <typename T>
  requires detail::kIsGgufScalar<T>
  static GgufValue array_of(const std::vector<T>& values) {
    GgufArray array;
    array.element_type = GgufValue(T{}).type();
    array.elements.reserve(values.size());
    for (const T& value : values) array.elements.emplace_back(value);
    return GgufValue(std::move(array));
  }

  GgufValueType type() const { return static_cast<GgufValueType>(storage_.index()); }

  // The held value when it is exactly of type T (std::string, GgufArray or a scalar type),
  // else nullptr.
  template <typename T>
  const T* get_if() const {
    return std::get_if<T>(&storage_);
  }

  const Storage& storage() const { return storage_; }

  friend bool operator==(const GgufValue& a, const GgufValue& b) {
    return a.storage_ == b.storage_;
  }

 private:
  Storage storage_;
};

}  // namespace rbee::engine
