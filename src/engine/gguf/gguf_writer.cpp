#include "engine/gguf/gguf_writer.hpp"

#include <bit>
#include <cstring>
#include <limits>
#include <utility>

#include "common/files.hpp"
#include "engine/gguf/gguf_reader.hpp"

namespace rbee::engine {
namespace {

static_assert(std::endian::native == std::endian::little, "GGUF files are little-endian");

template <typename T>
void append(std::string& out, T value) {
  char raw[sizeof(T)];
  std::memcpy(raw, &value, sizeof(T));
  out.append(raw, sizeof(T));
}

void append_string(std::string& out, std::string_view text) {
  append<uint64_t>(out, text.size());
  out.append(text);
}

Status append_value(std::string& out, const GgufValue& value, std::string_view key, int depth) {
  const GgufArray* array = value.get_if<GgufArray>();
  if (array == nullptr) {
    std::visit(
        [&out](const auto& held) {
          using T = std::decay_t<decltype(held)>;
          if constexpr (std::is_same_v<T, std::string>) {
            append_string(out, held);
          } else if constexpr (std::is_same_v<T, bool>) {
            append<uint8_t>(out, held ? 1 : 0);
          } else if constexpr (!std::is_same_v<T, GgufArray>) {
            append<T>(out, held);
          }
        },
        value.storage());
    return ok_status();
  }
  // The reader's limit: arrays inside arrays, at most kGgufMaxArrayDepth levels in all.
  if (array->element_type == GgufValueType::kArray && depth + 1 >= kGgufMaxArrayDepth) {
    return make_error(ErrorCode::kInvalidArgument, "metadata '" + std::string(key) +
                                                       "': arrays nested deeper than " +
                                                       std::to_string(kGgufMaxArrayDepth));
  }
  append<uint32_t>(out, static_cast<uint32_t>(array->element_type));
  append<uint64_t>(out, array->elements.size());
  for (size_t i = 0; i < array->elements.size(); ++i) {
    const GgufValue& element = array->elements[i];
    if (element.type() != array->element_type) {
      return make_error(ErrorCode::kInvalidArgument,
                        "metadata '" + std::string(key) + "': element " + std::to_string(i) +
                            " has type " + std::string(value_type_name(element.type())) +
                            " in an array of " + std::string(value_type_name(array->element_type)));
    }
    RBEE_RETURN_IF_ERROR(append_value(out, element, key, depth + 1));
  }
  return ok_status();
}

uint64_t align_up(uint64_t offset, uint64_t alignment) {
  return (offset + alignment - 1) / alignment * alignment;
}

}  // namespace

void GgufWriter::set(const std::string& key, GgufValue value) {
  auto [it, inserted] = key_index_.emplace(key, metadata_.size());
  if (inserted) {
    metadata_.emplace_back(key, std::move(value));
  } else {
    metadata_[it->second].second = std::move(value);
  }
}

Status GgufWriter::add_tensor(const std::string& name, GgmlType type, std::vector<uint64_t> dims,
                              std::span<const std::byte> data) {
  std::string where = "tensor '" + name + "'";
  if (tensor_index_.contains(name)) {
    return make_error(ErrorCode::kAlreadyExists, where + " was already added");
  }
  if (!is_supported(type)) {
    return make_error(ErrorCode::kInvalidArgument,
                      where + ": unsupported type " + std::string(type_name(type)));
  }
  if (dims.empty() || dims.size() > kGgufMaxDims) {
    return make_error(ErrorCode::kInvalidArgument, where + ": needs 1..4 dims");
  }
  uint64_t n_elements = 1;
  for (uint64_t dim : dims) {
    if (dim == 0 || __builtin_mul_overflow(n_elements, dim, &n_elements) ||
        n_elements > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
      return make_error(ErrorCode::kInvalidArgument, where + ": a dim is 0 or too large");
    }
  }
  if (dims[0] % block_size(type) != 0) {
    return make_error(ErrorCode::kInvalidArgument, where + ": ne0 " + std::to_string(dims[0]) +
                                                       " is not a multiple of the block size of " +
                                                       std::string(type_name(type)));
  }
  uint64_t n_bytes = n_elements / block_size(type) * type_size(type);
  if (data.size() != n_bytes) {
    return make_error(ErrorCode::kInvalidArgument, where + ": has " + std::to_string(data.size()) +
                                                       " bytes of data, needs " +
                                                       std::to_string(n_bytes));
  }
  tensor_index_.emplace(name, tensors_.size());
  tensors_.push_back(Tensor{name, type, std::move(dims), {data.begin(), data.end()}});
  return ok_status();
}

Result<std::string> GgufWriter::serialize() const {
  uint64_t alignment = kGgufDefaultAlignment;
  if (auto it = key_index_.find("general.alignment"); it != key_index_.end()) {
    const uint32_t* value = metadata_[it->second].second.get_if<uint32_t>();
    if (value == nullptr || *value == 0 || !std::has_single_bit(*value)) {
      return make_error(ErrorCode::kInvalidArgument,
                        "metadata 'general.alignment' must be a uint32 power of two");
    }
    alignment = *value;
  }

  std::string out;
  append<uint32_t>(out, kGgufMagic);
  append<uint32_t>(out, 3);
  append<uint64_t>(out, tensors_.size());
  append<uint64_t>(out, metadata_.size());
  for (const auto& [key, value] : metadata_) {
    if (key.empty() || key.size() > 65535) {
      return make_error(
          ErrorCode::kInvalidArgument,
          "metadata key length " + std::to_string(key.size()) + " is not in 1..65535");
    }
    append_string(out, key);
    append<uint32_t>(out, static_cast<uint32_t>(value.type()));
    RBEE_RETURN_IF_ERROR(append_value(out, value, key, 0));
  }
  uint64_t offset = 0;
  std::vector<uint64_t> offsets;
  offsets.reserve(tensors_.size());
  for (const Tensor& tensor : tensors_) {
    append_string(out, tensor.name);
    append<uint32_t>(out, static_cast<uint32_t>(tensor.dims.size()));
    for (uint64_t dim : tensor.dims) append<uint64_t>(out, dim);
    append<uint32_t>(out, static_cast<uint32_t>(tensor.type));
    append<uint64_t>(out, offset);
    offsets.push_back(offset);
    offset = align_up(offset + tensor.data.size(), alignment);
  }
  out.resize(align_up(out.size(), alignment), '\0');
  size_t data_start = out.size();
  out.resize(data_start + offset, '\0');
  for (size_t i = 0; i < tensors_.size(); ++i) {
    const std::vector<std::byte>& data = tensors_[i].data;
    if (!data.empty()) std::memcpy(out.data() + data_start + offsets[i], data.data(), data.size());
  }
  return out;
}

Status GgufWriter::write(const std::filesystem::path& path) const {
  RBEE_ASSIGN_OR_RETURN(std::string bytes, serialize());
  return write_file_atomic(path, bytes);
}

}  // namespace rbee::engine
