#pragma once

// GgufReader: reads a GGUF file (v2 or v3, little-endian) in place. The file is mapped
// read-only and stays mapped while the reader lives; metadata strings and tensor data are
// views into the mapping, never copies.
//
//   RBEE_ASSIGN_OR_RETURN(GgufReader gguf, GgufReader::open(path));
//   RBEE_ASSIGN_OR_RETURN(std::string_view arch,
//   gguf.get<std::string_view>("general.architecture")); RBEE_ASSIGN_OR_RETURN(GgufTensor embd,
//   gguf.tensor("token_embd.weight"));
//   // embd.data points at embd.n_bytes bytes of type embd.type, ne0 = embd.dims[0]
//
// open() validates the whole file before returning (GGUF spec: header, metadata key/values,
// tensor infos, alignment, data section), so nothing read afterwards can point outside the
// file: every tensor has a supported type, 1..4 non-zero dims, a first dimension that is a
// multiple of its block size, an aligned offset and a data range inside the file that
// overlaps no other tensor. Any violation is kInvalidArgument naming what and where.
//
// Thread-safety: a reader is immutable after open(); all const members may be called from
// any thread at once. Views (string_view, GgufTensor::data) live as long as the reader.

#include <array>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/result.hpp"
#include "engine/gguf/ggml_types.hpp"
#include "engine/gguf/gguf_value.hpp"
#include "engine/gguf/mapped_file.hpp"

namespace rbee::engine {

// The format's fixed facts (GGUF spec).
inline constexpr uint32_t kGgufMagic = 0x46554747;  // "GGUF" read as a little-endian u32
inline constexpr uint32_t kGgufDefaultAlignment = 32;
inline constexpr uint32_t kGgufMaxDims = 4;
// Array of array of ... nesting allowed before a file is rejected (the spec sets none).
inline constexpr int kGgufMaxArrayDepth = 8;

// One metadata key/value as found in the file.
struct GgufKeyInfo {
  std::string_view key;
  GgufValueType type = GgufValueType::kUint8;
  GgufValueType element_type = GgufValueType::kUint8;  // arrays only
  uint64_t n_elements = 0;                             // arrays only
  size_t value_offset = 0;                             // where the value's bytes start in the file
};

// A tensor: its info and a view of its bytes in the mapped file.
struct GgufTensor {
  std::string_view name;
  GgmlType type = GgmlType::kF32;
  uint32_t n_dims = 0;
  std::array<uint64_t, kGgufMaxDims> dims{1, 1, 1, 1};  // ggml order: dims[0] = ne0 (a row)
  uint64_t n_elements = 0;
  uint64_t n_bytes = 0;
  uint64_t offset = 0;  // from the start of the data section, as stored in the file
  const uint8_t* data = nullptr;

  // The first n_dims dims.
  std::span<const uint64_t> shape() const { return {dims.data(), n_dims}; }
};

class GgufReader {
 public:
  GgufReader(GgufReader&&) noexcept = default;
  GgufReader& operator=(GgufReader&&) noexcept = default;
  GgufReader(const GgufReader&) = delete;
  GgufReader& operator=(const GgufReader&) = delete;
  ~GgufReader() = default;

  // Maps and validates the file at `path`. kNotFound when it does not exist;
  // kInvalidArgument (the message starts with the path) when it is not a valid GGUF file;
  // kInternal when the OS refuses to open or map it.
  static Result<GgufReader> open(const std::filesystem::path& path);

  // Validates `bytes` as a GGUF file, without copying: the bytes must outlive the reader and
  // stay unchanged. kInvalidArgument when they are not a valid GGUF file.
  static Result<GgufReader> from_bytes(std::span<const uint8_t> bytes);

  uint32_t version() const { return version_; }
  // general.alignment, or 32 when the file does not set it.
  uint32_t alignment() const { return alignment_; }
  // Where the data section starts, in bytes from the start of the file.
  uint64_t data_offset() const { return data_offset_; }
  size_t file_size_bytes() const { return bytes_.size(); }

  // Every key/value, in file order.
  std::span<const GgufKeyInfo> metadata() const { return keys_; }
  // The key's info, or nullptr when the file does not have it.
  const GgufKeyInfo* find_key(std::string_view key) const;
  bool has_key(std::string_view key) const { return find_key(key) != nullptr; }

  // The value of `key`, which must have exactly type T: uint8_t, int8_t, uint16_t, int16_t,
  // uint32_t, int32_t, float, bool, uint64_t, int64_t, double, or std::string_view for a
  // string (a view into the file). kNotFound when the key is missing; kInvalidArgument
  // naming the key and both types when its type differs.
  template <typename T>
  Result<T> get(std::string_view key) const;

  // An integer of any GGUF integer type, for sizes and counts that writers store as uint32 or
  // uint64 or int32. kNotFound when missing; kInvalidArgument when it is not an integer or is
  // negative.
  Result<uint64_t> get_uint(std::string_view key) const;

  // The elements of an array whose element type is exactly T (the scalar types of get(), or
  // std::string_view for an array of strings, e.g. tokenizer.ggml.tokens). Numbers are
  // copied out (the file need not align them); strings are views into the file.
  // kNotFound when missing; kInvalidArgument naming the key when it is not such an array.
  template <typename T>
  Result<std::vector<T>> get_array(std::string_view key) const;
  Result<std::vector<std::string_view>> get_string_array(std::string_view key) const {
    return get_array<std::string_view>(key);
  }

  // Any value, nested arrays included, copied into a GgufValue. kNotFound when missing.
  Result<GgufValue> get_value(std::string_view key) const;

  // Every tensor, in file order.
  std::span<const GgufTensor> tensors() const { return tensors_; }
  // The tensor called `name`, or nullptr.
  const GgufTensor* find_tensor(std::string_view name) const;
  // The tensor called `name`. kNotFound naming it when the file has none.
  Result<GgufTensor> tensor(std::string_view name) const;

 private:
  GgufReader() = default;
  Status parse();

  // The mapping of a file opened by path (empty for from_bytes). Moving the reader keeps
  // the mapping in place, so bytes_ and every view stay valid.
  detail::MappedFile file_;
  std::span<const uint8_t> bytes_;
  uint32_t version_ = 0;
  uint32_t alignment_ = kGgufDefaultAlignment;
  uint64_t data_offset_ = 0;
  std::vector<GgufKeyInfo> keys_;
  std::unordered_map<std::string_view, size_t> key_index_;
  std::vector<GgufTensor> tensors_;
  std::unordered_map<std::string_view, size_t> tensor_index_;
};

// get() and get_array() are defined for these types only (in gguf_reader.cpp).
#define RBEE_GGUF_READER_EXTERN_(T)                                     \
  extern template Result<T> GgufReader::get<T>(std::string_view) const; \
  extern template Result<std::vector<T>> GgufReader::get_array<T>(std::string_view) const;
RBEE_GGUF_READER_EXTERN_(uint8_t)
RBEE_GGUF_READER_EXTERN_(int8_t)
RBEE_GGUF_READER_EXTERN_(uint16_t)
RBEE_GGUF_READER_EXTERN_(int16_t)
RBEE_GGUF_READER_EXTERN_(uint32_t)
RBEE_GGUF_READER_EXTERN_(int32_t)
RBEE_GGUF_READER_EXTERN_(float)
RBEE_GGUF_READER_EXTERN_(bool)
RBEE_GGUF_READER_EXTERN_(uint64_t)
RBEE_GGUF_READER_EXTERN_(int64_t)
RBEE_GGUF_READER_EXTERN_(double)
RBEE_GGUF_READER_EXTERN_(std::string_view)
#undef RBEE_GGUF_READER_EXTERN_

}  // namespace rbee::engine
