#include "engine/gguf/gguf_cursor.hpp"

#include <utility>

#include "engine/gguf/gguf_reader.hpp"

namespace rbee::engine::detail {
namespace {

// The fewest bytes an element of an array can take: a string is at least its u64 length, an
// array at least its u32 type and u64 count.
size_t min_element_bytes(GgufValueType type) {
  if (type == GgufValueType::kString) return 8;
  if (type == GgufValueType::kArray) return 12;
  return value_type_size(type);
}

bool is_known_value_type(uint32_t id) {
  return id <= static_cast<uint32_t>(GgufValueType::kFloat64);
}

template <typename T>
Status read_scalar(GgufCursor& cursor, std::string_view what, GgufValue* out) {
  RBEE_ASSIGN_OR_RETURN(T value, cursor.read<T>(what));
  if (out != nullptr) *out = GgufValue(value);
  return ok_status();
}

Status read_bool(GgufCursor& cursor, std::string_view what, GgufValue* out) {
  size_t pos = cursor.pos();
  RBEE_ASSIGN_OR_RETURN(uint8_t byte, cursor.read<uint8_t>(what));
  // The spec's bool is one byte, 0 or 1; anything else means the bytes are not what we think.
  if (byte > 1) {
    return GgufCursor::error_at(pos, what,
                                "bool value " + std::to_string(byte) + " is neither 0 nor 1");
  }
  if (out != nullptr) *out = GgufValue(byte == 1);
  return ok_status();
}

Status walk_array(GgufCursor& cursor, int depth, std::string_view what, GgufValue* out) {
  size_t start = cursor.pos();
  RBEE_ASSIGN_OR_RETURN(uint32_t element_id, cursor.read<uint32_t>(what));
  RBEE_ASSIGN_OR_RETURN(uint64_t n_elements, cursor.read<uint64_t>(what));
  if (!is_known_value_type(element_id)) {
    return GgufCursor::error_at(start, what,
                                "array of unknown value type " + std::to_string(element_id));
  }
  auto element_type = static_cast<GgufValueType>(element_id);
  if (element_type == GgufValueType::kArray && depth + 1 >= kGgufMaxArrayDepth) {
    return GgufCursor::error_at(
        start, what, "arrays nested deeper than " + std::to_string(kGgufMaxArrayDepth) + " levels");
  }
  // Compared by division, so that no count can overflow a multiplication.
  if (n_elements > cursor.remaining() / min_element_bytes(element_type)) {
    return GgufCursor::error_at(start, what,
                                "array of " + std::to_string(n_elements) + " " +
                                    std::string(value_type_name(element_type)) +
                                    " runs past the end of the file (size " +
                                    std::to_string(cursor.file_size()) + ")");
  }
  size_t fixed_size = value_type_size(element_type);
  if (out == nullptr && fixed_size != 0 && element_type != GgufValueType::kBool) {
    return cursor.skip(static_cast<size_t>(n_elements) * fixed_size, what);
  }
  GgufArray array;
  array.element_type = element_type;
  if (out != nullptr) array.elements.reserve(static_cast<size_t>(n_elements));
  for (uint64_t i = 0; i < n_elements; ++i) {
    GgufValue element;
    RBEE_RETURN_IF_ERROR(
        walk_value(cursor, element_type, depth + 1, what, out != nullptr ? &element : nullptr));
    if (out != nullptr) array.elements.push_back(std::move(element));
  }
  if (out != nullptr) *out = GgufValue(std::move(array));
  return ok_status();
}

}  // namespace

Result<std::string_view> GgufCursor::read_string(std::string_view what) {
  size_t start = pos_;
  RBEE_ASSIGN_OR_RETURN(uint64_t length, read<uint64_t>(what));
  if (length > remaining()) {
    pos_ = start;
    return error_here(what, "string length " + std::to_string(length) +
                                " runs past the end of the file (size " +
                                std::to_string(bytes_.size()) + ")");
  }
  std::string_view value(reinterpret_cast<const char*>(bytes_.data()) + pos_,
                         static_cast<size_t>(length));
  pos_ += static_cast<size_t>(length);
  return value;
}

Status GgufCursor::skip(size_t n_bytes, std::string_view what) {
  if (n_bytes > remaining()) return truncated(what, n_bytes);
  pos_ += n_bytes;
  return ok_status();
}

Error GgufCursor::error_at(size_t pos, std::string_view what, const std::string& problem) {
  return make_error(ErrorCode::kInvalidArgument,
                    std::string(what) + " at offset " + std::to_string(pos) + ": " + problem);
}

Error GgufCursor::truncated(std::string_view what, uint64_t n_bytes) const {
  return error_here(what, "file truncated: needs " + std::to_string(n_bytes) + " bytes, " +
                              std::to_string(remaining()) + " left (file size " +
                              std::to_string(bytes_.size()) + ")");
}

Status walk_value(GgufCursor& cursor, GgufValueType type, int depth, std::string_view what,
                  GgufValue* out) {
  switch (type) {
    case GgufValueType::kUint8:
      return read_scalar<uint8_t>(cursor, what, out);
    case GgufValueType::kInt8:
      return read_scalar<int8_t>(cursor, what, out);
    case GgufValueType::kUint16:
      return read_scalar<uint16_t>(cursor, what, out);
    case GgufValueType::kInt16:
      return read_scalar<int16_t>(cursor, what, out);
    case GgufValueType::kUint32:
      return read_scalar<uint32_t>(cursor, what, out);
    case GgufValueType::kInt32:
      return read_scalar<int32_t>(cursor, what, out);
    case GgufValueType::kFloat32:
      return read_scalar<float>(cursor, what, out);
    case GgufValueType::kBool:
      return read_bool(cursor, what, out);
    case GgufValueType::kString: {
      RBEE_ASSIGN_OR_RETURN(std::string_view value, cursor.read_string(what));
      if (out != nullptr) *out = GgufValue(value);
      return ok_status();
    }
    case GgufValueType::kArray:
      return walk_array(cursor, depth, what, out);
    case GgufValueType::kUint64:
      return read_scalar<uint64_t>(cursor, what, out);
    case GgufValueType::kInt64:
      return read_scalar<int64_t>(cursor, what, out);
    case GgufValueType::kFloat64:
      return read_scalar<double>(cursor, what, out);
  }
  return cursor.error_here(what,
                           "unknown value type " + std::to_string(static_cast<uint32_t>(type)));
}

}  // namespace rbee::engine::detail
