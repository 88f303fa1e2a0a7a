// Writes small valid GGUF files into a folder, as seeds for gguf_reader_fuzz: every value
// type, nested arrays, a custom alignment and a tensor of each supported type. The shared test
// models are seeds too, but most are larger than the fuzzer's input size limit.
//   gguf_seed_corpus <folder>

#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "engine/gguf/gguf_writer.hpp"

namespace {

using rbee::engine::GgmlType;
using rbee::engine::GgufArray;
using rbee::engine::GgufValue;
using rbee::engine::GgufValueType;
using rbee::engine::GgufWriter;

void add_every_value(GgufWriter& writer) {
  writer.set("general.architecture", "llama");
  writer.set("t.u8", uint8_t{1});
  writer.set("t.i8", int8_t{-1});
  writer.set("t.u16", uint16_t{2});
  writer.set("t.i16", int16_t{-2});
  writer.set("t.u32", uint32_t{3});
  writer.set("t.i32", int32_t{-3});
  writer.set("t.f32", 0.5f);
  writer.set("t.bool", true);
  writer.set("t.u64", uint64_t{4});
  writer.set("t.i64", int64_t{-4});
  writer.set("t.f64", 0.25);
  writer.set("tokenizer.ggml.tokens", GgufValue::string_array({"<unk>", "<s>", "a"}));
  writer.set("tokenizer.ggml.scores", GgufValue::array_of<float>({0.0f, 1.0f, 2.0f}));
  writer.set("tokenizer.ggml.token_type", GgufValue::array_of<int32_t>({2, 3, 1}));
  writer.set(
      "t.nested",
      GgufValue(GgufArray{GgufValueType::kArray,
                          {GgufValue::array_of<uint8_t>({1, 2}), GgufValue::string_array({"x"})}}));
}

int write_or_report(const GgufWriter& writer, const std::filesystem::path& path) {
  auto status = writer.write(path);
  if (!status) {
    std::fprintf(stderr, "gguf_seed_corpus: %s\n", status.error().message.c_str());
    return 1;
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: gguf_seed_corpus <folder>\n");
    return 2;
  }
  std::filesystem::path dir = argv[1];
  int failures = 0;

  GgufWriter values;
  add_every_value(values);
  failures += write_or_report(values, dir / "seed-values.gguf");

  const GgmlType types[] = {GgmlType::kF32,  GgmlType::kF16,  GgmlType::kQ4_0, GgmlType::kQ4_1,
                            GgmlType::kQ5_0, GgmlType::kQ5_1, GgmlType::kQ8_0, GgmlType::kQ8_1,
                            GgmlType::kQ2_K, GgmlType::kQ3_K, GgmlType::kQ4_K, GgmlType::kQ5_K,
                            GgmlType::kQ6_K, GgmlType::kQ8_K, GgmlType::kBF16};
  GgufWriter tensors;
  add_every_value(tensors);
  for (GgmlType type : types) {
    uint64_t ne0 = rbee::engine::block_size(type);
    std::vector<std::byte> data(rbee::engine::type_size(type) * 2, std::byte{0x11});
    std::string name = "blk.0." + std::string(rbee::engine::type_name(type)) + ".weight";
    if (!tensors.add_tensor(name, type, {ne0, 2}, data)) ++failures;
  }
  failures += write_or_report(tensors, dir / "seed-tensors.gguf");

  GgufWriter aligned;
  aligned.set("general.alignment", uint32_t{64});
  std::vector<std::byte> f32(4 * 3, std::byte{0});
  if (!aligned.add_tensor("a", GgmlType::kF32, {3}, f32)) ++failures;
  if (!aligned.add_tensor("b", GgmlType::kF32, {1, 1, 1, 3}, f32)) ++failures;
  failures += write_or_report(aligned, dir / "seed-aligned.gguf");
  return failures == 0 ? 0 : 1;
}
