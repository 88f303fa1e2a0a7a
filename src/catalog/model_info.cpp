#include "catalog/model_info.hpp"

#include <array>
#include <cstdio>
#include <system_error>

#include "engine/gguf/ggml_types.hpp"
#include "engine/gguf/gguf_reader.hpp"

namespace rbee::catalog {
namespace {

namespace fs = std::filesystem;

// llama.cpp's llama_ftype values and the names its tools print for them (llama.h). Values
// 4-6 and 33-35 were removed from llama.cpp and have no name here.
struct FileTypeName {
  uint32_t file_type;
  const char* label;
};
constexpr std::array<FileTypeName, 33> kFileTypeNames = {{
    {0, "F32"},      {1, "F16"},      {2, "Q4_0"},       {3, "Q4_1"},    {7, "Q8_0"},
    {8, "Q5_0"},     {9, "Q5_1"},     {10, "Q2_K"},      {11, "Q3_K_S"}, {12, "Q3_K_M"},
    {13, "Q3_K_L"},  {14, "Q4_K_S"},  {15, "Q4_K_M"},    {16, "Q5_K_S"}, {17, "Q5_K_M"},
    {18, "Q6_K"},    {19, "IQ2_XXS"}, {20, "IQ2_XS"},    {21, "Q2_K_S"}, {22, "IQ3_XS"},
    {23, "IQ3_XXS"}, {24, "IQ1_S"},   {25, "IQ4_NL"},    {26, "IQ3_S"},  {27, "IQ3_M"},
    {28, "IQ2_S"},   {29, "IQ2_M"},   {30, "IQ4_XS"},    {31, "IQ1_M"},  {32, "BF16"},
    {36, "TQ1_0"},   {37, "TQ2_0"},   {38, "MXFP4_MOE"},
}};
constexpr uint32_t kFileTypeGuessedFlag = 1024;

Result<engine::GgufReader> open_gguf(const fs::path& path) {
  Result<engine::GgufReader> reader = engine::GgufReader::open(path);
  if (!reader && reader.error().code == ErrorCode::kInvalidArgument) {
    // The reader's message starts with the path and says what is wrong and where.
    return make_error(ErrorCode::kInvalidArgument,
                      "not a valid GGUF model: " + reader.error().message);
  }
  return reader;
}

// Adds one file's tensors to the totals.
void add_tensors(const engine::GgufReader& gguf, ModelInfo& info,
                 std::map<std::string, uint64_t>& weight_elements_by_type) {
  for (const engine::GgufTensor& tensor : gguf.tensors()) {
    std::string type(engine::type_name(tensor.type));
    info.n_parameters += tensor.n_elements;
    ++info.tensor_types[type];
    // Weight matrices are 2-D; norms and biases (1-D) stay F32 whatever the quantization.
    if (tensor.n_dims == 2) weight_elements_by_type[type] += tensor.n_elements;
  }
  info.file_size_bytes += gguf.file_size_bytes();
}

std::string string_or_empty(const engine::GgufReader& gguf, std::string_view key) {
  Result<std::string_view> value = gguf.get<std::string_view>(key);
  return value ? std::string(*value) : std::string();
}

// 2 (K and V) x layers x KV width x 2 bytes (F16 cache), from the architecture's shape keys.
uint64_t kv_bytes_per_token(const engine::GgufReader& gguf, const std::string& arch) {
  auto layers = gguf.get_uint(arch + ".block_count");
  auto n_embd = gguf.get_uint(arch + ".embedding_length");
  auto n_head = gguf.get_uint(arch + ".attention.head_count");
  if (!layers || !n_embd || !n_head || *n_head == 0) return 0;
  auto n_head_kv = gguf.get_uint(arch + ".attention.head_count_kv");
  uint64_t kv_heads = n_head_kv ? *n_head_kv : *n_head;
  uint64_t kv_width = *n_embd / *n_head * kv_heads;
  return 2 * *layers * kv_width * 2;
}

}  // namespace

std::string quant_label_for_file_type(uint32_t file_type) {
  file_type &= ~kFileTypeGuessedFlag;
  for (const FileTypeName& name : kFileTypeNames) {
    if (name.file_type == file_type) return name.label;
  }
  return "";
}

std::optional<SplitFileName> parse_split_file_name(std::string_view file_name) {
  // "<prefix>-NNNNN-of-NNNNN.gguf"
  constexpr std::string_view kSuffix = ".gguf";
  constexpr size_t kTailLength = 1 + 5 + 4 + 5;  // "-NNNNN-of-NNNNN"
  if (file_name.size() <= kSuffix.size() + kTailLength) return std::nullopt;
  if (file_name.substr(file_name.size() - kSuffix.size()) != kSuffix) return std::nullopt;
  std::string_view stem = file_name.substr(0, file_name.size() - kSuffix.size());
  std::string_view tail = stem.substr(stem.size() - kTailLength);
  auto parse_digits = [](std::string_view digits) -> std::optional<uint32_t> {
    uint32_t value = 0;
    for (char c : digits) {
      if (c < '0' || c > '9') return std::nullopt;
      value = value * 10 + static_cast<uint32_t>(c - '0');
    }
    return value;
  };
  if (tail[0] != '-' || tail.substr(6, 4) != "-of-") return std::nullopt;
  std::optional<uint32_t> index = parse_digits(tail.substr(1, 5));
  std::optional<uint32_t> count = parse_digits(tail.substr(10, 5));
  if (!index || !count || *index < 1 || *index > *count) return std::nullopt;
  return SplitFileName{std::string(stem.substr(0, stem.size() - kTailLength)), *index, *count};
}

std::string split_file_name(const std::string& prefix, uint32_t index, uint32_t count) {
  char tail[32];
  std::snprintf(tail, sizeof(tail), "-%05u-of-%05u.gguf", index, count);
  return prefix + tail;
}

Result<ModelInfo> describe_gguf(const fs::path& path) {
  ModelInfo info;
  std::optional<SplitFileName> split = parse_split_file_name(path.filename().string());
  if (split && split->count > 1) {
    for (uint32_t index = 1; index <= split->count; ++index) {
      fs::path part = path.parent_path() / split_file_name(split->prefix, index, split->count);
      std::error_code ec;
      if (!fs::exists(part, ec)) {
        return make_error(ErrorCode::kInvalidArgument,
                          "split model " + split->prefix + " is missing part " +
                              std::to_string(index) + " of " + std::to_string(split->count) + " (" +
                              part.string() + ")");
      }
      info.files.push_back(part);
    }
  } else {
    info.files.push_back(path);
  }
  info.n_files = static_cast<uint32_t>(info.files.size());

  std::map<std::string, uint64_t> weight_elements_by_type;
  for (size_t i = 0; i < info.files.size(); ++i) {
    RBEE_ASSIGN_OR_RETURN(engine::GgufReader gguf, open_gguf(info.files[i]));
    add_tensors(gguf, info, weight_elements_by_type);
    if (i != 0) continue;
    // Model-wide metadata lives in the first part.
    info.architecture = string_or_empty(gguf, "general.architecture");
    info.name = string_or_empty(gguf, "general.name");
    if (!info.architecture.empty()) {
      Result<uint64_t> context_length = gguf.get_uint(info.architecture + ".context_length");
      if (context_length) info.context_length = *context_length;
      info.kv_bytes_per_token = kv_bytes_per_token(gguf, info.architecture);
    }
    Result<uint64_t> file_type = gguf.get_uint("general.file_type");
    if (file_type && *file_type <= UINT32_MAX) {
      info.quant = quant_label_for_file_type(static_cast<uint32_t>(*file_type));
    }
  }
  if (info.quant.empty()) {
    // No (known) file type: name the model after the type most of its weights have.
    uint64_t most_elements = 0;
    for (const auto& [type, n_elements] : weight_elements_by_type) {
      if (n_elements > most_elements) {
        most_elements = n_elements;
        info.quant = type;
      }
    }
  }
  return info;
}

Json to_json(const ModelInfo& info) {
  Json tensor_types = Json::object();
  for (const auto& [type, count] : info.tensor_types) tensor_types[type] = count;
  return {
      {"architecture", info.architecture},
      {"name", info.name},
      {"parameters", info.n_parameters},
      {"quant", info.quant},
      {"context_length", info.context_length},
      {"tensor_types", tensor_types},
      {"kv_bytes_per_token", info.kv_bytes_per_token},
      {"file_size_bytes", info.file_size_bytes},
      {"n_files", info.n_files},
  };
}

Result<ModelInfo> parse_model_info(const Json& json, const std::string& path) {
  contracts::ObjectReader reader(json, path);
  RBEE_RETURN_IF_ERROR(reader.expect_object());
  ModelInfo info;
  RBEE_RETURN_IF_ERROR(reader.optional_string("architecture", info.architecture));
  RBEE_RETURN_IF_ERROR(reader.optional_string("name", info.name));
  RBEE_RETURN_IF_ERROR(reader.optional_string("quant", info.quant));
  auto read_count = [&](const char* key, uint64_t& out) -> Status {
    int64_t value = 0;
    RBEE_RETURN_IF_ERROR(reader.optional_int(key, value));
    if (value < 0) {
      return make_error(ErrorCode::kInvalidArgument,
                        "field '" + reader.field_path(key) + "' must not be negative");
    }
    out = static_cast<uint64_t>(value);
    return ok_status();
  };
  RBEE_RETURN_IF_ERROR(read_count("parameters", info.n_parameters));
  RBEE_RETURN_IF_ERROR(read_count("context_length", info.context_length));
  RBEE_RETURN_IF_ERROR(read_count("kv_bytes_per_token", info.kv_bytes_per_token));
  RBEE_RETURN_IF_ERROR(read_count("file_size_bytes", info.file_size_bytes));
  uint64_t n_files = 1;
  RBEE_RETURN_IF_ERROR(read_count("n_files", n_files));
  if (n_files < 1 || n_files > UINT32_MAX) {
    return make_error(ErrorCode::kInvalidArgument,
                      "field '" + reader.field_path("n_files") + "' must be at least 1");
  }
  info.n_files = static_cast<uint32_t>(n_files);
  if (const Json* types = reader.optional_value("tensor_types")) {
    if (!types->is_object()) {
      return make_error(ErrorCode::kInvalidArgument,
                        "field '" + reader.field_path("tensor_types") + "' must be an object");
    }
    for (const auto& [type, count] : types->items()) {
      if (!count.is_number_unsigned()) {
        return make_error(
            ErrorCode::kInvalidArgument,
            "field '" + reader.field_path("tensor_types") + "." + type + "' must be a count");
      }
      info.tensor_types[type] = count.get<uint64_t>();
    }
  }
  return info;
}

}  // namespace rbee::catalog
