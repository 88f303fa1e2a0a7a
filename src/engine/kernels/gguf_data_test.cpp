// Checks the dequantizers against real files: rand-llama-q-<TYPE>.gguf hold llama.cpp's
// quantizations of the weights in rand-llama-q-F32.gguf (testdata/README.md), so each
// dequantized tensor must be close to the F32 one, as close as the type allows.
//
// The GGUF parsing below is the least that locates a tensor (GGUF v3: header, metadata
// skipped, tensor infos, aligned data); the engine's reader lives in engine/gguf.

#include <gtest/gtest.h>

#include <cstring>
#include <fstream>
#include <iterator>
#include <map>
#include <optional>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include "engine/kernels/kernel_table.hpp"
#include "engine/kernels/kernel_test_util.hpp"

namespace rbee::engine::kernels {
namespace {

struct TensorView {
  uint32_t type_id = 0;
  std::vector<uint64_t> dims;  // dims[0] is the row length
  size_t offset = 0;           // from the start of the file
};

class TinyGguf {
 public:
  // Nullopt when the file is missing or not GGUF v2/v3.
  static std::optional<TinyGguf> open(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return std::nullopt;
    TinyGguf file;
    file.bytes_.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    if (!file.parse()) return std::nullopt;
    return file;
  }

  const TensorView* find(const std::string& name) const {
    auto it = tensors_.find(name);
    return it == tensors_.end() ? nullptr : &it->second;
  }
  const void* data(const TensorView& tensor) const { return bytes_.data() + tensor.offset; }

 private:
  template <typename T>
  bool read(T* value) {
    if (pos_ + sizeof(T) > bytes_.size()) return false;
    std::memcpy(value, bytes_.data() + pos_, sizeof(T));
    pos_ += sizeof(T);
    return true;
  }
  bool read_string(std::string* value) {
    uint64_t length = 0;
    if (!read(&length) || pos_ + length > bytes_.size()) return false;
    value->assign(bytes_.data() + pos_, length);
    pos_ += length;
    return true;
  }
  // Skips (or, for the alignment key, keeps) one metadata value of GGUF type `type`.
  bool skip_value(uint32_t type, uint64_t* as_integer) {
    static constexpr size_t kSizes[] = {1, 1, 2, 2, 4, 4, 4, 1, 0, 0, 8, 8, 8};
    if (type == 8) {
      std::string ignored;
      return read_string(&ignored);
    }
    if (type == 9) {
      uint32_t element_type = 0;
      uint64_t count = 0;
      if (!read(&element_type) || !read(&count)) return false;
      for (uint64_t i = 0; i < count; ++i) {
        if (!skip_value(element_type, nullptr)) return false;
      }
      return true;
    }
    if (type >= std::size(kSizes)) return false;
    if (as_integer != nullptr && type == 4) {
      uint32_t value = 0;
      if (!read(&value)) return false;
      *as_integer = value;
      return true;
    }
    pos_ += kSizes[type];
    return pos_ <= bytes_.size();
  }
  bool parse() {
    uint32_t magic = 0;
    uint32_t version = 0;
    uint64_t n_tensors = 0;
    uint64_t n_kv = 0;
    if (!read(&magic) || std::memcmp(&magic, "GGUF", 4) != 0) return false;
    if (!read(&version) || version < 2 || !read(&n_tensors) || !read(&n_kv)) return false;
    uint64_t alignment = 32;
    for (uint64_t i = 0; i < n_kv; ++i) {
      std::string key;
      uint32_t type = 0;
      if (!read_string(&key) || !read(&type)) return false;
      if (!skip_value(type, key == "general.alignment" ? &alignment : nullptr)) return false;
    }
    std::map<std::string, TensorView> tensors;
    for (uint64_t i = 0; i < n_tensors; ++i) {
      std::string name;
      uint32_t n_dims = 0;
      TensorView tensor;
      if (!read_string(&name) || !read(&n_dims)) return false;
      tensor.dims.resize(n_dims);
      for (uint64_t& dim : tensor.dims) {
        if (!read(&dim)) return false;
      }
      uint64_t offset = 0;
      if (!read(&tensor.type_id) || !read(&offset)) return false;
      tensor.offset = offset;
      tensors[name] = tensor;
    }
    const size_t data_start = (pos_ + alignment - 1) / alignment * alignment;
    for (auto& [name, tensor] : tensors) tensor.offset += data_start;
    tensors_ = std::move(tensors);
    return true;
  }

  std::vector<char> bytes_;
  size_t pos_ = 0;
  std::map<std::string, TensorView> tensors_;
};

std::string model_path(const std::string& type_name) {
  return std::string(RBEE_KERNELS_TESTDATA_DIR) + "/models/rand-llama-q-" + type_name + ".gguf";
}

// The whole tensor `name` of `file`, dequantized row by row with the table's kernels.
std::vector<float> dequantize_tensor(const TinyGguf& file, const std::string& name,
                                     KernelType expected_type) {
  const TensorView* tensor = file.find(name);
  EXPECT_NE(tensor, nullptr) << name;
  if (tensor == nullptr) return {};
  EXPECT_EQ(tensor->type_id, static_cast<uint32_t>(expected_type)) << name;
  const KernelTraits& traits = type_traits(expected_type);
  const auto n_cols = static_cast<int64_t>(tensor->dims[0]);
  int64_t n_rows = 1;
  for (size_t d = 1; d < tensor->dims.size(); ++d) n_rows *= static_cast<int64_t>(tensor->dims[d]);
  const size_t stride = row_bytes(traits, n_cols);
  std::vector<float> out(static_cast<size_t>(n_rows * n_cols));
  const auto* base = static_cast<const std::byte*>(file.data(*tensor));
  for (int64_t r = 0; r < n_rows; ++r) {
    traits.dequantize_row(base + r * stride, out.data() + r * n_cols, n_cols);
  }
  return out;
}

struct FileCase {
  const char* file_type;  // the file name's type
  KernelType type;
  double bound;  // relative RMS error against the F32 weights
};

void PrintTo(const FileCase& c, std::ostream* os) {
  *os << c.file_type;
}

class KernelGgufDataTest : public ::testing::TestWithParam<FileCase> {};

TEST_P(KernelGgufDataTest, DequantizedWeightsMatchF32File) {
  const FileCase& c = GetParam();
  std::optional<TinyGguf> reference = TinyGguf::open(model_path("F32"));
  std::optional<TinyGguf> quantized = TinyGguf::open(model_path(c.file_type));
  if (!reference || !quantized) GTEST_SKIP() << "no test models under " RBEE_KERNELS_TESTDATA_DIR;
  for (const char* name : {"blk.0.attn_q.weight", "blk.1.ffn_down.weight", "token_embd.weight"}) {
    const std::vector<float> expected = dequantize_tensor(*reference, name, KernelType::kF32);
    const std::vector<float> got = dequantize_tensor(*quantized, name, c.type);
    ASSERT_EQ(got.size(), expected.size());
    const double error = testing::relative_rms_error(expected, got);
    EXPECT_LT(error, c.bound) << c.file_type << " " << name;
    std::printf("  %-5s %-22s relative RMS error vs F32 %.5f\n", c.file_type, name, error);
  }
}

// The Q4_0, Q4_1, Q5_0 and Q5_1 quantizers follow ggml's reference ones, so they reproduce
// llama-quantize's bytes. Q8_0's quantizer is the activation one (127 / amax, ties to even)
// where ggml's reference multiplies by 1 / d and rounds ties away; on these weights the
// two agree, which also pins that difference down as rare.
TEST(KernelGgufDataBytesTest, LegacyQuantizersReproduceLlamaQuantizeBytes) {
  std::optional<TinyGguf> reference = TinyGguf::open(model_path("F32"));
  if (!reference) GTEST_SKIP() << "no test models under " RBEE_KERNELS_TESTDATA_DIR;
  const char* name = "blk.0.attn_q.weight";
  const TensorView* weights = reference->find(name);
  ASSERT_NE(weights, nullptr);
  const auto n_cols = static_cast<int64_t>(weights->dims[0]);
  const auto n_rows = static_cast<int64_t>(weights->dims[1]);
  const auto* values = static_cast<const float*>(reference->data(*weights));
  const std::pair<const char*, KernelType> cases[] = {{"Q4_0", KernelType::kQ4_0},
                                                      {"Q4_1", KernelType::kQ4_1},
                                                      {"Q5_0", KernelType::kQ5_0},
                                                      {"Q5_1", KernelType::kQ5_1},
                                                      {"Q8_0", KernelType::kQ8_0}};
  for (const auto& [file_type, type] : cases) {
    std::optional<TinyGguf> quantized = TinyGguf::open(model_path(file_type));
    ASSERT_TRUE(quantized) << file_type;
    const TensorView* tensor = quantized->find(name);
    ASSERT_NE(tensor, nullptr);
    const KernelTraits& traits = type_traits(type);
    const size_t stride = row_bytes(traits, n_cols);
    const auto* expected = static_cast<const std::byte*>(quantized->data(*tensor));
    testing::RowBuffer row(type, n_cols);
    int n_differing = 0;
    for (int64_t r = 0; r < n_rows; ++r) {
      traits.quantize_row(values + r * n_cols, row.data(), n_cols);
      if (std::memcmp(row.data(), expected + r * stride, stride) != 0) ++n_differing;
    }
    EXPECT_EQ(n_differing, 0) << file_type << ": rows whose bytes differ";
  }
}

// Bounds: the random-row bounds of each type's own tests (llama.cpp's quantizers are at
// least as good as ours).
INSTANTIATE_TEST_SUITE_P(
    AllFileTypes, KernelGgufDataTest,
    ::testing::Values(
        FileCase{"F16", KernelType::kF16, 4e-4}, FileCase{"BF16", KernelType::kBF16, 3e-3},
        FileCase{"Q8_0", KernelType::kQ8_0, 0.0075}, FileCase{"Q4_0", KernelType::kQ4_0, 0.10},
        FileCase{"Q4_1", KernelType::kQ4_1, 0.095}, FileCase{"Q5_0", KernelType::kQ5_0, 0.052},
        FileCase{"Q5_1", KernelType::kQ5_1, 0.047}, FileCase{"Q2_K", KernelType::kQ2_K, 0.33},
        FileCase{"Q3_K", KernelType::kQ3_K, 0.18}, FileCase{"Q4_K", KernelType::kQ4_K, 0.09},
        FileCase{"Q5_K", KernelType::kQ5_K, 0.045}, FileCase{"Q6_K", KernelType::kQ6_K, 0.022}),
    [](const ::testing::TestParamInfo<FileCase>& param_info) {
      return std::string(param_info.param.file_type);
    });

}  // namespace
}  // namespace rbee::engine::kernels
