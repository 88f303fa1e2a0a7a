#pragma once

// What a GGUF model is, read from its header with the engine's reader (no tensor data is
// touched): architecture, name, size in parameters, quantization, context length. The hive
// shows it in model_list and the queen uses it to estimate memory.
//
//   RBEE_ASSIGN_OR_RETURN(ModelInfo info, describe_gguf(path));
//   // info.quant == "Q4_K_M", info.n_parameters == 1100048384, ...

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "catalog/artifact_entry.hpp"
#include "common/result.hpp"

namespace rbee::catalog {

struct ModelInfo {
  std::string architecture;                      // general.architecture ("llama", "qwen2")
  std::string name;                              // general.name; empty when absent
  uint64_t n_parameters = 0;                     // elements of all tensors, all split parts
  std::map<std::string, uint64_t> tensor_types;  // ggml type name → number of tensors
  std::string quant;                             // "Q4_K_M", "F16", ... (see describe_gguf)
  uint64_t context_length = 0;                   // {arch}.context_length; 0 when absent
  // KV-cache bytes one token of context costs (F16 K and V in every layer); 0 when the
  // header lacks the shape. Memory estimate: file size + kv_bytes_per_token * ctx * parallel.
  uint64_t kv_bytes_per_token = 0;
  uint64_t file_size_bytes = 0;              // all split parts together
  uint32_t n_files = 1;                      // split parts (1 for most models)
  std::vector<std::filesystem::path> files;  // the parts in order (not in the JSON)
};

// Describes the GGUF model at `path`. The quant label is general.file_type's llama.cpp name
// when the file sets it (15 → "Q4_K_M"), else the type holding most elements of the 2-D
// (weight) tensors ("Q8_0", "F32"). A split model (`name-00001-of-00003.gguf`, any part
// given) is described as a whole: metadata from part 1, parameters, types and sizes summed
// over all parts. kNotFound when the file does not exist; kInvalidArgument naming the file
// and the reader's complaint when it (or a part) is not a valid GGUF file, or a part of a
// split model is missing.
Result<ModelInfo> describe_gguf(const std::filesystem::path& path);

// llama.cpp's name for a general.file_type value (llama_ftype): 0 → "F32", 1 → "F16",
// 15 → "Q4_K_M", 32 → "BF16". Empty for values it never defined. The "guessed" flag (1024)
// is ignored.
std::string quant_label_for_file_type(uint32_t file_type);

// A split GGUF file name: "<prefix>-<index>-of-<count>.gguf", five digits each (llama.cpp's
// gguf-split naming), 1 <= index <= count.
struct SplitFileName {
  std::string prefix;
  uint32_t index = 0;
  uint32_t count = 0;
};
std::optional<SplitFileName> parse_split_file_name(std::string_view file_name);
std::string split_file_name(const std::string& prefix, uint32_t index, uint32_t count);

// The info as JSON ({"architecture":..., "parameters":..., "quant":..., "tensor_types":{...},
// "context_length":..., "kv_bytes_per_token":..., "file_size_bytes":..., "n_files":...});
// `files` is not included.
Json to_json(const ModelInfo& info);
// Reads it back. kInvalidArgument naming the field on a wrong type.
Result<ModelInfo> parse_model_info(const Json& json, const std::string& path);

}  // namespace rbee::catalog
