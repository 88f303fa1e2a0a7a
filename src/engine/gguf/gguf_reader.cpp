#include "engine/gguf/gguf_reader.hpp"

#include <algorithm>
#include <bit>
#include <cstring>
#include <limits>
#include <utility>

#include "engine/gguf/gguf_cursor.hpp"

namespace rbee::engine {
namespace {

static_assert(std::endian::native == std::endian::little,
              "GgufReader reads little-endian GGUF files in place");

using detail::GgufCursor;

// GGUF spec: keys are at most 65535 bytes. Tensor names have the same cap here (ggml's is 63).
constexpr uint64_t kMaxNameBytes = 65535;
// The fewest bytes a metadata key/value (key length, type, a one-byte value) and a tensor info
// (name length, n_dims, one dim, type, offset) can take; counts above remaining/min are lies.
constexpr size_t kMinKeyValueBytes = 8 + 4 + 1;
constexpr size_t kMinTensorInfoBytes = 8 + 4 + 8 + 4 + 8;

std::string quoted(std::string_view text) {
  return "'" + std::string(text) + "'";
}

std::string range_text(uint64_t begin, uint64_t end) {
  return "[" + std::to_string(begin) + ", " + std::to_string(end) + ")";
}

// The GgufValueType that get<T>() and get_array<T>() expect.
template <typename T>
constexpr GgufValueType value_type_of() {
  if constexpr (std::is_same_v<T, std::string_view>) return GgufValueType::kString;
  if constexpr (std::is_same_v<T, uint8_t>) return GgufValueType::kUint8;
  if constexpr (std::is_same_v<T, int8_t>) return GgufValueType::kInt8;
  if constexpr (std::is_same_v<T, uint16_t>) return GgufValueType::kUint16;
  if constexpr (std::is_same_v<T, int16_t>) return GgufValueType::kInt16;
  if constexpr (std::is_same_v<T, uint32_t>) return GgufValueType::kUint32;
  if constexpr (std::is_same_v<T, int32_t>) return GgufValueType::kInt32;
  if constexpr (std::is_same_v<T, float>) return GgufValueType::kFloat32;
  if constexpr (std::is_same_v<T, bool>) return GgufValueType::kBool;
  if constexpr (std::is_same_v<T, uint64_t>) return GgufValueType::kUint64;
  if constexpr (std::is_same_v<T, int64_t>) return GgufValueType::kInt64;
  if constexpr (std::is_same_v<T, double>) return GgufValueType::kFloat64;
  return GgufValueType::kArray;  // not reached for the instantiated types
}

template <typename T>
T load(std::span<const uint8_t> bytes, size_t offset) {
  T value;
  std::memcpy(&value, bytes.data() + offset, sizeof(T));
  return value;
}

Status check_alignment_value(const GgufKeyInfo& info, std::span<const uint8_t> bytes,
                             uint32_t* alignment) {
  if (info.type != GgufValueType::kUint32) {
    return make_error(ErrorCode::kInvalidArgument, "metadata 'general.alignment' has type " +
                                                       std::string(value_type_name(info.type)) +
                                                       ", must be uint32");
  }
  auto value = load<uint32_t>(bytes, info.value_offset);
  if (value == 0 || !std::has_single_bit(value)) {
    return make_error(ErrorCode::kInvalidArgument, "metadata 'general.alignment' is " +
                                                       std::to_string(value) +
                                                       ", must be a non-zero power of two");
  }
  *alignment = value;
  return ok_status();
}

// Reads one tensor info (GGUF spec, "gguf_tensor_info_t") and checks the shape and type.
Status read_tensor_info(GgufCursor& cursor, uint64_t index, GgufTensor* tensor) {
  std::string where = "tensor #" + std::to_string(index);
  size_t start = cursor.pos();
  RBEE_ASSIGN_OR_RETURN(tensor->name, cursor.read_string(where + " name"));
  if (tensor->name.size() > kMaxNameBytes) {
    return GgufCursor::error_at(start, where, "name longer than 65535 bytes");
  }
  where = "tensor " + quoted(tensor->name);
  RBEE_ASSIGN_OR_RETURN(tensor->n_dims, cursor.read<uint32_t>(where + " n_dims"));
  if (tensor->n_dims == 0 || tensor->n_dims > kGgufMaxDims) {
    return GgufCursor::error_at(start, where,
                                "n_dims " + std::to_string(tensor->n_dims) + " is not in 1..4");
  }
  uint64_t n_elements = 1;
  for (uint32_t d = 0; d < tensor->n_dims; ++d) {
    RBEE_ASSIGN_OR_RETURN(tensor->dims[d], cursor.read<uint64_t>(where + " dims"));
    if (tensor->dims[d] == 0) {
      return GgufCursor::error_at(start, where, "dim " + std::to_string(d) + " is 0");
    }
    if (__builtin_mul_overflow(n_elements, tensor->dims[d], &n_elements) ||
        n_elements > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
      return GgufCursor::error_at(start, where, "element count overflows (dims too large)");
    }
  }
  tensor->n_elements = n_elements;
  RBEE_ASSIGN_OR_RETURN(uint32_t type_id, cursor.read<uint32_t>(where + " type"));
  tensor->type = static_cast<GgmlType>(type_id);
  if (!is_supported(tensor->type)) {
    return GgufCursor::error_at(start, where,
                                "unsupported tensor type " + std::to_string(type_id) + " (" +
                                    std::string(type_name(tensor->type)) + ")");
  }
  // ggml stores quantized rows as whole blocks along ne0.
  uint32_t block = block_size(tensor->type);
  if (tensor->dims[0] % block != 0) {
    return GgufCursor::error_at(
        start, where,
        "ne0 " + std::to_string(tensor->dims[0]) + " is not a multiple of the block size " +
            std::to_string(block) + " of " + std::string(type_name(tensor->type)));
  }
  if (__builtin_mul_overflow(n_elements / block, uint64_t{type_size(tensor->type)},
                             &tensor->n_bytes)) {
    return GgufCursor::error_at(start, where, "byte size overflows");
  }
  RBEE_ASSIGN_OR_RETURN(tensor->offset, cursor.read<uint64_t>(where + " offset"));
  return ok_status();
}

}  // namespace

Result<GgufReader> GgufReader::open(const std::filesystem::path& path) {
  RBEE_ASSIGN_OR_RETURN(detail::MappedFile file, detail::MappedFile::open(path));
  GgufReader reader;
  reader.file_ = std::move(file);
  reader.bytes_ = reader.file_.bytes();
  Status parsed = reader.parse();
  if (!parsed) {
    return make_error(parsed.error().code, path.string() + ": " + parsed.error().message);
  }
  return reader;
}

Result<GgufReader> GgufReader::from_bytes(std::span<const uint8_t> bytes) {
  GgufReader reader;
  reader.bytes_ = bytes;
  RBEE_RETURN_IF_ERROR(reader.parse());
  return reader;
}

Status GgufReader::parse() {
  GgufCursor cursor(bytes_, 0);
  // Header (GGUF spec, "gguf_header_t").
  RBEE_ASSIGN_OR_RETURN(uint32_t magic, cursor.read<uint32_t>("magic"));
  if (magic != kGgufMagic) {
    return make_error(ErrorCode::kInvalidArgument,
                      "not a GGUF file: bad magic (the first 4 "
                      "bytes are not \"GGUF\")");
  }
  RBEE_ASSIGN_OR_RETURN(version_, cursor.read<uint32_t>("version"));
  if (version_ != 2 && version_ != 3) {
    std::string hint = __builtin_bswap32(version_) <= 3 ? " (a big-endian file?)" : "";
    return make_error(
        ErrorCode::kInvalidArgument,
        "unsupported GGUF version " + std::to_string(version_) + " (only 2 and 3 are read)" + hint);
  }
  RBEE_ASSIGN_OR_RETURN(uint64_t n_tensors, cursor.read<uint64_t>("tensor count"));
  RBEE_ASSIGN_OR_RETURN(uint64_t n_keys, cursor.read<uint64_t>("metadata count"));
  if (n_keys > cursor.remaining() / kMinKeyValueBytes) {
    return make_error(ErrorCode::kInvalidArgument, "metadata count " + std::to_string(n_keys) +
                                                       " cannot fit in the file (size " +
                                                       std::to_string(bytes_.size()) + ")");
  }
  if (n_tensors > cursor.remaining() / kMinTensorInfoBytes) {
    return make_error(ErrorCode::kInvalidArgument, "tensor count " + std::to_string(n_tensors) +
                                                       " cannot fit in the file (size " +
                                                       std::to_string(bytes_.size()) + ")");
  }

  // Metadata key/values.
  keys_.reserve(static_cast<size_t>(n_keys));
  for (uint64_t i = 0; i < n_keys; ++i) {
    std::string where = "metadata #" + std::to_string(i);
    size_t start = cursor.pos();
    GgufKeyInfo info;
    RBEE_ASSIGN_OR_RETURN(info.key, cursor.read_string(where + " key"));
    if (info.key.empty() || info.key.size() > kMaxNameBytes) {
      return GgufCursor::error_at(
          start, where, "key length " + std::to_string(info.key.size()) + " is not in 1..65535");
    }
    where = "metadata " + quoted(info.key);
    RBEE_ASSIGN_OR_RETURN(uint32_t type_id, cursor.read<uint32_t>(where + " type"));
    if (type_id > static_cast<uint32_t>(GgufValueType::kFloat64)) {
      return GgufCursor::error_at(start, where, "unknown value type " + std::to_string(type_id));
    }
    info.type = static_cast<GgufValueType>(type_id);
    info.value_offset = cursor.pos();
    RBEE_RETURN_IF_ERROR(detail::walk_value(cursor, info.type, 0, where, nullptr));
    if (info.type == GgufValueType::kArray) {
      info.element_type = static_cast<GgufValueType>(load<uint32_t>(bytes_, info.value_offset));
      info.n_elements = load<uint64_t>(bytes_, info.value_offset + 4);
    }
    auto [it, inserted] = key_index_.emplace(info.key, keys_.size());
    if (!inserted) {
      return GgufCursor::error_at(
          start, where, "duplicate key (also metadata #" + std::to_string(it->second) + ")");
    }
    keys_.push_back(info);
  }
  if (const GgufKeyInfo* info = find_key("general.alignment")) {
    RBEE_RETURN_IF_ERROR(check_alignment_value(*info, bytes_, &alignment_));
  }

  // Tensor infos.
  tensors_.reserve(static_cast<size_t>(n_tensors));
  for (uint64_t i = 0; i < n_tensors; ++i) {
    GgufTensor tensor;
    size_t start = cursor.pos();
    RBEE_RETURN_IF_ERROR(read_tensor_info(cursor, i, &tensor));
    auto [it, inserted] = tensor_index_.emplace(tensor.name, tensors_.size());
    if (!inserted) {
      return GgufCursor::error_at(
          start, "tensor " + quoted(tensor.name),
          "duplicate name (also tensor #" + std::to_string(it->second) + ")");
    }
    tensors_.push_back(tensor);
  }

  // The data section starts at the next multiple of the alignment (GGUF spec, "padding").
  data_offset_ = (uint64_t{cursor.pos()} + alignment_ - 1) / alignment_ * alignment_;
  uint64_t file_size = bytes_.size();
  for (GgufTensor& tensor : tensors_) {
    std::string where = "tensor " + quoted(tensor.name);
    if (tensor.offset % alignment_ != 0) {
      return make_error(ErrorCode::kInvalidArgument,
                        where + ": data offset " + std::to_string(tensor.offset) +
                            " is not a multiple of the alignment " + std::to_string(alignment_));
    }
    uint64_t begin = 0;
    uint64_t end = 0;
    if (__builtin_add_overflow(data_offset_, tensor.offset, &begin) ||
        __builtin_add_overflow(begin, tensor.n_bytes, &end) || end > file_size) {
      return make_error(ErrorCode::kInvalidArgument,
                        where + ": data " +
                            range_text(tensor.offset, tensor.offset + tensor.n_bytes) +
                            " of the data section at " + std::to_string(data_offset_) +
                            " ends past the file (size " + std::to_string(file_size) + ")");
    }
    tensor.data = bytes_.data() + begin;
  }
  std::vector<const GgufTensor*> by_offset;
  by_offset.reserve(tensors_.size());
  for (const GgufTensor& tensor : tensors_) by_offset.push_back(&tensor);
  std::sort(by_offset.begin(), by_offset.end(),
            [](const GgufTensor* a, const GgufTensor* b) { return a->offset < b->offset; });
  for (size_t i = 1; i < by_offset.size(); ++i) {
    const GgufTensor& before = *by_offset[i - 1];
    const GgufTensor& after = *by_offset[i];
    if (before.offset + before.n_bytes > after.offset) {
      return make_error(ErrorCode::kInvalidArgument,
                        "tensors " + quoted(before.name) + " " +
                            range_text(before.offset, before.offset + before.n_bytes) + " and " +
                            quoted(after.name) + " " +
                            range_text(after.offset, after.offset + after.n_bytes) +
                            " overlap in the data section");
    }
  }
  return ok_status();
}

const GgufKeyInfo* GgufReader::find_key(std::string_view key) const {
  auto it = key_index_.find(key);
  return it != key_index_.end() ? &keys_[it->second] : nullptr;
}

namespace {

Result<const GgufKeyInfo*> lookup(const GgufReader& reader, std::string_view key) {
  const GgufKeyInfo* info = reader.find_key(key);
  if (info == nullptr) {
    return make_error(ErrorCode::kNotFound, "metadata key " + quoted(key) + " not found");
  }
  return info;
}

std::string type_text(const GgufKeyInfo& info) {
  if (info.type != GgufValueType::kArray) return std::string(value_type_name(info.type));
  return "array of " + std::string(value_type_name(info.element_type));
}

Error wrong_type(const GgufKeyInfo& info, const std::string& wanted) {
  return make_error(ErrorCode::kInvalidArgument, "metadata key " + quoted(info.key) + " has type " +
                                                     type_text(info) + ", not " + wanted);
}

std::string_view load_string(std::span<const uint8_t> bytes, size_t* offset) {
  auto length = static_cast<size_t>(load<uint64_t>(bytes, *offset));
  std::string_view value(reinterpret_cast<const char*>(bytes.data()) + *offset + 8, length);
  *offset += 8 + length;
  return value;
}

}  // namespace

// The getters below read values that parse() has already bounds-checked.
template <typename T>
Result<T> GgufReader::get(std::string_view key) const {
  RBEE_ASSIGN_OR_RETURN(const GgufKeyInfo* info, lookup(*this, key));
  constexpr GgufValueType kWanted = value_type_of<T>();
  if (info->type != kWanted) return wrong_type(*info, std::string(value_type_name(kWanted)));
  size_t offset = info->value_offset;
  if constexpr (std::is_same_v<T, std::string_view>) {
    return load_string(bytes_, &offset);
  } else if constexpr (std::is_same_v<T, bool>) {
    return load<uint8_t>(bytes_, offset) != 0;
  } else {
    return load<T>(bytes_, offset);
  }
}

Result<uint64_t> GgufReader::get_uint(std::string_view key) const {
  RBEE_ASSIGN_OR_RETURN(const GgufKeyInfo* info, lookup(*this, key));
  size_t offset = info->value_offset;
  int64_t value = 0;
  switch (info->type) {
    case GgufValueType::kUint8:
      return load<uint8_t>(bytes_, offset);
    case GgufValueType::kUint16:
      return load<uint16_t>(bytes_, offset);
    case GgufValueType::kUint32:
      return load<uint32_t>(bytes_, offset);
    case GgufValueType::kUint64:
      return load<uint64_t>(bytes_, offset);
    case GgufValueType::kInt8:
      value = load<int8_t>(bytes_, offset);
      break;
    case GgufValueType::kInt16:
      value = load<int16_t>(bytes_, offset);
      break;
    case GgufValueType::kInt32:
      value = load<int32_t>(bytes_, offset);
      break;
    case GgufValueType::kInt64:
      value = load<int64_t>(bytes_, offset);
      break;
    default:
      return wrong_type(*info, "an integer");
  }
  if (value < 0) {
    return make_error(
        ErrorCode::kInvalidArgument,
        "metadata key " + quoted(key) + " is " + std::to_string(value) + ", must not be negative");
  }
  return static_cast<uint64_t>(value);
}

template <typename T>
Result<std::vector<T>> GgufReader::get_array(std::string_view key) const {
  RBEE_ASSIGN_OR_RETURN(const GgufKeyInfo* info, lookup(*this, key));
  constexpr GgufValueType kWanted = value_type_of<T>();
  if (info->type != GgufValueType::kArray || info->element_type != kWanted) {
    return wrong_type(*info, "array of " + std::string(value_type_name(kWanted)));
  }
  size_t offset = info->value_offset + 4 + 8;
  auto n_elements = static_cast<size_t>(info->n_elements);
  std::vector<T> values;
  values.reserve(n_elements);
  for (size_t i = 0; i < n_elements; ++i) {
    if constexpr (std::is_same_v<T, std::string_view>) {
      values.push_back(load_string(bytes_, &offset));
    } else if constexpr (std::is_same_v<T, bool>) {
      values.push_back(load<uint8_t>(bytes_, offset) != 0);
      offset += 1;
    } else {
      values.push_back(load<T>(bytes_, offset));
      offset += sizeof(T);
    }
  }
  return values;
}

Result<GgufValue> GgufReader::get_value(std::string_view key) const {
  RBEE_ASSIGN_OR_RETURN(const GgufKeyInfo* info, lookup(*this, key));
  GgufCursor cursor(bytes_, info->value_offset);
  GgufValue value;
  RBEE_RETURN_IF_ERROR(
      detail::walk_value(cursor, info->type, 0, "metadata " + quoted(key), &value));
  return value;
}

const GgufTensor* GgufReader::find_tensor(std::string_view name) const {
  auto it = tensor_index_.find(name);
  return it != tensor_index_.end() ? &tensors_[it->second] : nullptr;
}

Result<GgufTensor> GgufReader::tensor(std::string_view name) const {
  const GgufTensor* found = find_tensor(name);
  if (found == nullptr) {
    return make_error(ErrorCode::kNotFound, "tensor " + quoted(name) + " not found");
  }
  return *found;
}

#define RBEE_GGUF_READER_INSTANTIATE_(T)                         \
  template Result<T> GgufReader::get<T>(std::string_view) const; \
  template Result<std::vector<T>> GgufReader::get_array<T>(std::string_view) const;
RBEE_GGUF_READER_INSTANTIATE_(uint8_t)
RBEE_GGUF_READER_INSTANTIATE_(int8_t)
RBEE_GGUF_READER_INSTANTIATE_(uint16_t)
RBEE_GGUF_READER_INSTANTIATE_(int16_t)
RBEE_GGUF_READER_INSTANTIATE_(uint32_t)
RBEE_GGUF_READER_INSTANTIATE_(int32_t)
RBEE_GGUF_READER_INSTANTIATE_(float)
RBEE_GGUF_READER_INSTANTIATE_(bool)
RBEE_GGUF_READER_INSTANTIATE_(uint64_t)
RBEE_GGUF_READER_INSTANTIATE_(int64_t)
RBEE_GGUF_READER_INSTANTIATE_(double)
RBEE_GGUF_READER_INSTANTIATE_(std::string_view)
#undef RBEE_GGUF_READER_INSTANTIATE_

}  // namespace rbee::engine
