#include "engine/tokenizer/test_vocab_loader.hpp"

#include <cstdint>
#include <cstring>
#include <fstream>
#include <variant>
#include <vector>

namespace rbee::engine::testing {
namespace {

// GGUF metadata value types (GGUF spec, "gguf_metadata_value_type").
enum : uint32_t {
  kU8 = 0,
  kI8 = 1,
  kU16 = 2,
  kI16 = 3,
  kU32 = 4,
  kI32 = 5,
  kF32 = 6,
  kBool = 7,
  kString = 8,
  kArray = 9,
  kU64 = 10,
  kI64 = 11,
  kF64 = 12,
};

class Reader {
 public:
  explicit Reader(std::istream& in) : in_(in) {}

  bool ok() const { return ok_; }

  template <typename T>
  T read() {
    T value{};
    in_.read(reinterpret_cast<char*>(&value), sizeof(T));
    if (!in_) ok_ = false;
    return value;
  }

  std::string read_string() {
    const auto n = read<uint64_t>();
    if (!ok_ || n > (uint64_t{1} << 30)) {
      ok_ = false;
      return {};
    }
    std::string text(n, '\0');
    in_.read(text.data(), static_cast<std::streamsize>(n));
    if (!in_) ok_ = false;
    return text;
  }

  // A scalar of any numeric/bool type as double (ids and flags fit exactly).
  double read_number(uint32_t type) {
    switch (type) {
      case kU8:
        return read<uint8_t>();
      case kI8:
        return read<int8_t>();
      case kU16:
        return read<uint16_t>();
      case kI16:
        return read<int16_t>();
      case kU32:
        return read<uint32_t>();
      case kI32:
        return read<int32_t>();
      case kF32:
        return read<float>();
      case kBool:
        return read<uint8_t>();
      case kU64:
        return static_cast<double>(read<uint64_t>());
      case kI64:
        return static_cast<double>(read<int64_t>());
      case kF64:
        return read<double>();
      default:
        ok_ = false;
        return 0;
    }
  }

 private:
  std::istream& in_;
  bool ok_ = true;
};

using Value = std::variant<double, std::string, std::vector<std::string>, std::vector<double>>;

Value read_value(Reader& reader, uint32_t type) {
  if (type == kString) return reader.read_string();
  if (type != kArray) return reader.read_number(type);
  const auto element_type = reader.read<uint32_t>();
  const auto n = reader.read<uint64_t>();
  if (!reader.ok() || n > (uint64_t{1} << 28) || element_type == kArray) return 0.0;
  if (element_type == kString) {
    std::vector<std::string> items;
    items.reserve(n);
    for (uint64_t i = 0; i < n && reader.ok(); ++i) items.push_back(reader.read_string());
    return items;
  }
  std::vector<double> items;
  items.reserve(n);
  for (uint64_t i = 0; i < n && reader.ok(); ++i) items.push_back(reader.read_number(element_type));
  return items;
}

}  // namespace

Result<LoadedVocabulary> load_vocabulary_from_gguf(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return make_error(ErrorCode::kNotFound, "cannot open " + path);
  Reader reader(in);
  char magic[4];
  in.read(magic, 4);
  const auto version = reader.read<uint32_t>();
  if (!in || std::memcmp(magic, "GGUF", 4) != 0 || version < 2) {
    return make_error(ErrorCode::kInvalidArgument, path + " is not a GGUF v2+ file");
  }
  reader.read<uint64_t>();  // tensor count
  const auto n_kv = reader.read<uint64_t>();

  LoadedVocabulary loaded;
  Vocabulary& vocab = loaded.vocab;
  for (uint64_t i = 0; i < n_kv && reader.ok(); ++i) {
    const std::string key = reader.read_string();
    const auto type = reader.read<uint32_t>();
    Value value = read_value(reader, type);
    if (!reader.ok()) break;
    const auto* number = std::get_if<double>(&value);
    const auto* text = std::get_if<std::string>(&value);
    const auto* strings = std::get_if<std::vector<std::string>>(&value);
    const auto* numbers = std::get_if<std::vector<double>>(&value);
    // As the model's loader reads an id: the integer, then its low 32 bits (a file's
    // 0xFFFFFFFF is "none", -1). A double beyond int's range cast straight to int is
    // undefined behaviour.
    const auto as_id = [&] { return static_cast<TokenId>(static_cast<int64_t>(*number)); };
    if (key == "general.name" && text) loaded.general_name = *text;
    if (key == "tokenizer.ggml.model" && text) vocab.model = *text;
    if (key == "tokenizer.ggml.pre" && text) vocab.pre = *text;
    if (key == "tokenizer.ggml.tokens" && strings) vocab.tokens = *strings;
    if (key == "tokenizer.ggml.merges" && strings) vocab.merges = *strings;
    if (key == "tokenizer.ggml.scores" && numbers) {
      for (const double score : *numbers) vocab.scores.push_back(static_cast<float>(score));
    }
    if (key == "tokenizer.ggml.token_type" && numbers) {
      for (const double t : *numbers) vocab.token_types.push_back(static_cast<TokenType>(t));
    }
    if (number) {
      if (key == "tokenizer.ggml.bos_token_id") vocab.bos_id = as_id();
      if (key == "tokenizer.ggml.eos_token_id") vocab.eos_id = as_id();
      if (key == "tokenizer.ggml.eot_token_id") vocab.eot_id = as_id();
      if (key == "tokenizer.ggml.eom_token_id") vocab.eom_id = as_id();
      if (key == "tokenizer.ggml.unknown_token_id") vocab.unk_id = as_id();
      if (key == "tokenizer.ggml.padding_token_id") vocab.pad_id = as_id();
      if (key == "tokenizer.ggml.seperator_token_id") vocab.sep_id = as_id();
      if (key == "tokenizer.ggml.cls_token_id") vocab.cls_id = as_id();
      if (key == "tokenizer.ggml.mask_token_id") vocab.mask_id = as_id();
      if (key == "tokenizer.ggml.add_bos_token") vocab.add_bos = *number != 0;
      if (key == "tokenizer.ggml.add_eos_token") vocab.add_eos = *number != 0;
      if (key == "tokenizer.ggml.add_space_prefix") vocab.add_space_prefix = *number != 0;
    }
  }
  if (!reader.ok()) return make_error(ErrorCode::kInvalidArgument, path + ": metadata cut short");
  return loaded;
}

}  // namespace rbee::engine::testing
