#include "catalog/model_info.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "catalog/test_models.hpp"
#include "common/test_dir.hpp"
#include "engine/gguf/gguf_writer.hpp"

namespace rbee::catalog {
namespace {

namespace fs = std::filesystem;
using ::rbee::catalog::testing::testdata_dir;
using ::rbee::catalog::testing::write_text_file;
using ::rbee::catalog::testing::write_tiny_gguf;

fs::path model_path(const std::string& name) {
  return testdata_dir() / "models" / name;
}

struct KnownModel {
  const char* file;
  const char* architecture;
  const char* name;
  uint64_t n_parameters;
  const char* quant;
  uint64_t context_length;
  uint64_t kv_bytes_per_token;  // 2 x layers x (embd / heads x kv heads) x 2 bytes
};

// Facts about the shared models (their README, llama.cpp's gguf dump, `rbee-llm info`).
constexpr KnownModel kKnownModels[] = {
    {"stories260K.gguf", "llama", "llama", 292800, "F32", 2048, 640},  // no file_type: by weights
    {"stories260K-F16.gguf", "llama", "llama", 292800, "F16", 2048, 640},
    {"stories260K-Q4_K_M-fallback.gguf", "llama", "llama", 292800, "Q4_K_M", 2048, 640},
    {"aidreams260K.gguf", "llama", "llama", 263744, "F32", 128, 1024},
    {"rand-llama-q-Q4_K_M.gguf", "llama", "rand-llama-q", 1836288, "Q4_K_M", 512, 1024},
    {"rand-llama-q-Q8_0.gguf", "llama", "rand-llama-q", 1836288, "Q8_0", 512, 1024},
    {"rand-llama-q-BF16.gguf", "llama", "rand-llama-q", 1836288, "BF16", 512, 1024},
    {"rand-llama-q-F32.gguf", "llama", "rand-llama-q", 1836288, "F32", 512, 1024},
    {"rand-llama-q-Q6_K.gguf", "llama", "rand-llama-q", 1836288, "Q6_K", 512, 1024},
    {"rand-qwen2-Q8_0.gguf", "qwen2", "rand-qwen2", 656512, "Q8_0", 512, 512},
    {"llama-2-tiny-random.gguf", "llama", "LLaMA v2", 513048, "F16", 4096, 32},
};

TEST(DescribeGgufTest, DescribesTheSharedModels) {
  RBEE_SKIP_WITHOUT_TESTDATA();
  for (const KnownModel& known : kKnownModels) {
    SCOPED_TRACE(known.file);
    Result<ModelInfo> info = describe_gguf(model_path(known.file));
    ASSERT_TRUE(info) << info.error().message;
    EXPECT_EQ(info->architecture, known.architecture);
    EXPECT_EQ(info->name, known.name);
    EXPECT_EQ(info->n_parameters, known.n_parameters);
    EXPECT_EQ(info->quant, known.quant);
    EXPECT_EQ(info->context_length, known.context_length);
    EXPECT_EQ(info->kv_bytes_per_token, known.kv_bytes_per_token);
    EXPECT_EQ(info->file_size_bytes, fs::file_size(model_path(known.file)));
    EXPECT_EQ(info->n_files, 1u);
    ASSERT_EQ(info->files.size(), 1u);
  }
}

TEST(DescribeGgufTest, CountsTensorsPerType) {
  RBEE_SKIP_WITHOUT_TESTDATA();
  Result<ModelInfo> info = describe_gguf(model_path("rand-llama-q-Q4_K_M.gguf"));
  ASSERT_TRUE(info) << info.error().message;
  EXPECT_EQ(info->tensor_types,
            (std::map<std::string, uint64_t>{{"F32", 5}, {"Q4_K", 13}, {"Q6_K", 3}}));
}

TEST(DescribeGgufTest, EveryTestModelParses) {
  RBEE_SKIP_WITHOUT_TESTDATA();
  for (const auto& entry : fs::directory_iterator(testdata_dir() / "models")) {
    if (entry.path().extension() != ".gguf") continue;
    Result<ModelInfo> info = describe_gguf(entry.path());
    ASSERT_TRUE(info) << entry.path() << ": " << info.error().message;
    EXPECT_FALSE(info->architecture.empty()) << entry.path();
    EXPECT_FALSE(info->quant.empty()) << entry.path();
    EXPECT_GT(info->n_parameters, 0u) << entry.path();
  }
}

TEST(DescribeGgufTest, TruncatedFileIsInvalidNamingTheFile) {
  RBEE_SKIP_WITHOUT_TESTDATA();
  rbee::testing::TestDir dir;
  fs::path truncated = dir.path() / "truncated.gguf";
  {
    std::ifstream in(model_path("stories260K.gguf"), std::ios::binary);
    std::string bytes(fs::file_size(model_path("stories260K.gguf")) / 2, '\0');
    in.read(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    write_text_file(truncated, bytes);
  }
  Result<ModelInfo> info = describe_gguf(truncated);
  ASSERT_FALSE(info);
  EXPECT_EQ(info.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(info.error().message.find(truncated.string()), std::string::npos)
      << info.error().message;
  EXPECT_NE(info.error().message.find("not a valid GGUF"), std::string::npos);
}

TEST(DescribeGgufTest, NonGgufAndMissingFiles) {
  rbee::testing::TestDir dir;
  write_text_file(dir.path() / "notes.gguf", "these are not weights\n");
  Result<ModelInfo> text = describe_gguf(dir.path() / "notes.gguf");
  ASSERT_FALSE(text);
  EXPECT_EQ(text.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(text.error().message.find("notes.gguf"), std::string::npos) << text.error().message;

  Result<ModelInfo> missing = describe_gguf(dir.path() / "missing.gguf");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, ErrorCode::kNotFound);
}

// Without general.file_type the label is the type most weight (2-D) elements have; 1-D
// tensors (norms) do not count however large.
TEST(DescribeGgufTest, DominantWeightTypeWithoutFileType) {
  rbee::testing::TestDir dir;
  engine::GgufWriter writer;
  writer.set("general.architecture", std::string("qwen2"));
  std::vector<std::byte> q8_0(8 * 34);     // 64x4 Q8_0: 8 blocks of 34 bytes
  std::vector<std::byte> f16(32 * 2 * 2);  // 32x2 F16
  std::vector<std::byte> f32(1024 * 4);    // 1024 F32, 1-D
  ASSERT_TRUE(writer.add_tensor("blk.0.attn_q.weight", engine::GgmlType::kQ8_0, {64, 4}, q8_0));
  ASSERT_TRUE(writer.add_tensor("blk.0.attn_k.weight", engine::GgmlType::kF16, {32, 2}, f16));
  ASSERT_TRUE(writer.add_tensor("blk.0.attn_norm.weight", engine::GgmlType::kF32, {1024}, f32));
  ASSERT_TRUE(writer.write(dir.path() / "m.gguf"));

  Result<ModelInfo> info = describe_gguf(dir.path() / "m.gguf");
  ASSERT_TRUE(info) << info.error().message;
  EXPECT_EQ(info->quant, "Q8_0");
  EXPECT_EQ(info->n_parameters, 256u + 64u + 1024u);
  EXPECT_EQ(info->architecture, "qwen2");
  EXPECT_EQ(info->name, "");
  EXPECT_EQ(info->context_length, 0u);
}

TEST(DescribeGgufTest, SplitModelsAreDescribedWhole) {
  rbee::testing::TestDir dir;
  fs::path first = dir.path() / split_file_name("tiny", 1, 2);
  fs::path second = dir.path() / split_file_name("tiny", 2, 2);
  write_tiny_gguf(first, 4, 1.0f, "tiny split");
  write_tiny_gguf(second, 8, 2.0f, "ignored");

  for (const fs::path& given : {first, second}) {
    Result<ModelInfo> info = describe_gguf(given);
    ASSERT_TRUE(info) << info.error().message;
    EXPECT_EQ(info->name, "tiny split");
    EXPECT_EQ(info->n_files, 2u);
    EXPECT_EQ(info->files, (std::vector<fs::path>{first, second}));
    EXPECT_EQ(info->n_parameters, (32u * 4 + 32) + (32u * 8 + 32));
    EXPECT_EQ(info->file_size_bytes, fs::file_size(first) + fs::file_size(second));
    EXPECT_EQ(info->tensor_types, (std::map<std::string, uint64_t>{{"F32", 4}}));
    EXPECT_EQ(info->context_length, 256u);
  }

  fs::remove(second);
  Result<ModelInfo> incomplete = describe_gguf(first);
  ASSERT_FALSE(incomplete);
  EXPECT_EQ(incomplete.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(incomplete.error().message.find("missing part 2 of 2"), std::string::npos)
      << incomplete.error().message;
}

TEST(SplitFileNameTest, ParsesLlamaCppNames) {
  std::optional<SplitFileName> split = parse_split_file_name("Qwen2-7B-Q4_K_M-00002-of-00003.gguf");
  ASSERT_TRUE(split);
  EXPECT_EQ(split->prefix, "Qwen2-7B-Q4_K_M");
  EXPECT_EQ(split->index, 2u);
  EXPECT_EQ(split->count, 3u);
  EXPECT_EQ(split_file_name(split->prefix, 1, 3), "Qwen2-7B-Q4_K_M-00001-of-00003.gguf");
  for (const char* not_split :
       {"model.gguf", "m-00001-of-00002.bin", "m-1-of-2.gguf", "m-00003-of-00002.gguf",
        "m-00000-of-00002.gguf", "-00001-of-00002.gguf", "m_00001_of_00002.gguf"}) {
    EXPECT_FALSE(parse_split_file_name(not_split).has_value()) << not_split;
  }
}

TEST(QuantLabelTest, MapsLlamaCppFileTypes) {
  EXPECT_EQ(quant_label_for_file_type(0), "F32");
  EXPECT_EQ(quant_label_for_file_type(1), "F16");
  EXPECT_EQ(quant_label_for_file_type(7), "Q8_0");
  EXPECT_EQ(quant_label_for_file_type(15), "Q4_K_M");
  EXPECT_EQ(quant_label_for_file_type(15 | 1024), "Q4_K_M");  // "guessed" flag
  EXPECT_EQ(quant_label_for_file_type(17), "Q5_K_M");
  EXPECT_EQ(quant_label_for_file_type(32), "BF16");
  EXPECT_EQ(quant_label_for_file_type(5), "");  // removed from llama.cpp
  EXPECT_EQ(quant_label_for_file_type(999), "");
}

TEST(ModelInfoJsonTest, RoundTrips) {
  ModelInfo info;
  info.architecture = "llama";
  info.name = "tiny";
  info.n_parameters = 1100048384;
  info.tensor_types = {{"F32", 45}, {"Q4_K", 135}, {"Q6_K", 21}};
  info.quant = "Q4_K_M";
  info.context_length = 2048;
  info.file_size_bytes = 668788096;
  info.n_files = 2;
  Json json = to_json(info);
  EXPECT_EQ(json["parameters"], 1100048384u);
  EXPECT_EQ(json["tensor_types"]["Q4_K"], 135);
  Result<ModelInfo> back = parse_model_info(json, "info");
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(back->architecture, info.architecture);
  EXPECT_EQ(back->name, info.name);
  EXPECT_EQ(back->n_parameters, info.n_parameters);
  EXPECT_EQ(back->tensor_types, info.tensor_types);
  EXPECT_EQ(back->quant, info.quant);
  EXPECT_EQ(back->context_length, info.context_length);
  EXPECT_EQ(back->file_size_bytes, info.file_size_bytes);
  EXPECT_EQ(back->n_files, 2u);

  json["parameters"] = "many";
  Result<ModelInfo> bad = parse_model_info(json, "info");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("info.parameters"), std::string::npos) << bad.error().message;
}

}  // namespace
}  // namespace rbee::catalog
