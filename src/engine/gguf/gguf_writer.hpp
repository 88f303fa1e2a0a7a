#pragma once

// GgufWriter: builds a GGUF v3 file in memory (metadata of every type, nested arrays included,
// and tensors of raw bytes) and writes it atomically. Used by tests to make fixtures and by
// `rbee-llm synth`.
//
//   GgufWriter writer;
//   writer.set("general.architecture", "llama");
//   writer.set("llama.block_count", uint32_t{5});
//   RBEE_RETURN_IF_ERROR(writer.add_tensor("token_embd.weight", GgmlType::kF32, {64, 512},
//                                          std::as_bytes(std::span(embeddings))));
//   RBEE_RETURN_IF_ERROR(writer.write(path));
//
// Layout (GGUF spec): header, key/values in the order first set, tensor infos in the order
// added, zero padding to the alignment, then each tensor's bytes at an aligned offset. The
// alignment is the uint32 `general.alignment` when set, else 32.
// Not synchronized: use one writer from one thread.

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/result.hpp"
#include "engine/gguf/ggml_types.hpp"
#include "engine/gguf/gguf_value.hpp"

namespace rbee::engine {

class GgufWriter {
 public:
  // Sets metadata `key` to `value`. Setting a key again replaces its value and keeps its
  // place in the file.
  void set(const std::string& key, GgufValue value);

  // Adds a tensor with `dims` in ggml order (dims[0] = ne0) and its raw bytes, copied.
  // kAlreadyExists when a tensor of that name was added before; kInvalidArgument naming the
  // tensor when the type is not supported, dims are not 1..4 non-zero values, ne0 is not a
  // multiple of the type's block size, or data is not exactly the tensor's byte size.
  Status add_tensor(const std::string& name, GgmlType type, std::vector<uint64_t> dims,
                    std::span<const std::byte> data);

  // The whole file. kInvalidArgument when a key is empty or over 65535 bytes, an array holds
  // an element of another type than its element_type or nests deeper than
  // kGgufMaxArrayDepth, or general.alignment is not a uint32 power of two.
  Result<std::string> serialize() const;

  // serialize(), then writes the bytes to `path` atomically (temporary file, fsync, rename).
  // The errors of serialize(); kInternal naming the path when the file cannot be written.
  Status write(const std::filesystem::path& path) const;

 private:
  struct Tensor {
    std::string name;
    GgmlType type;
    std::vector<uint64_t> dims;
    std::vector<std::byte> data;
  };

  std::vector<std::pair<std::string, GgufValue>> metadata_;
  std::unordered_map<std::string, size_t> key_index_;
  std::vector<Tensor> tensors_;
  std::unordered_map<std::string, size_t> tensor_index_;
};

}  // namespace rbee::engine
