#include "engine/kernels/matvec.hpp"

#include <gtest/gtest.h>

#include "engine/kernels/kernel_table.hpp"
#include "engine/kernels/kernel_test_util.hpp"

namespace rbee::engine::kernels {
namespace {

class KernelMatvecTest : public ::testing::TestWithParam<KernelType> {};

TEST_P(KernelMatvecTest, MatchesPerRowDotsAndF32Product) {
  const KernelType type = GetParam();
  const KernelTraits& traits = type_traits(type);
  constexpr int64_t kRows = 7;
  constexpr int64_t kCols = 512;
  const std::vector<float> w = testing::random_row(kRows * kCols, 11, 0.05f);
  const std::vector<float> x = testing::random_row(kCols, 12);

  const size_t stride = row_bytes(traits, kCols);
  std::vector<uint64_t> weights((stride * kRows + 7) / 8);
  auto* bytes = reinterpret_cast<std::byte*>(weights.data());
  for (int64_t r = 0; r < kRows; ++r) {
    traits.quantize_row(w.data() + r * kCols, bytes + r * stride, kCols);
  }
  std::vector<uint64_t> scratch_words(activation_bytes(type, kCols) / 8 + 1);
  std::span<std::byte> scratch(reinterpret_cast<std::byte*>(scratch_words.data()),
                               scratch_words.size() * 8);

  std::vector<float> y(kRows, -1.0f);
  matvec(type, weights.data(), kRows, kCols, x.data(), y.data(), scratch);

  // Each output is the table's vec_dot against the activation quantized once.
  testing::RowBuffer activation(traits.vec_dot_type, kCols);
  type_traits(traits.vec_dot_type).quantize_row(x.data(), activation.data(), kCols);
  std::vector<float> dequantized(kCols);
  for (int64_t r = 0; r < kRows; ++r) {
    EXPECT_EQ(y[r], traits.vec_dot(bytes + r * stride, activation.data(), kCols)) << r;
    // And close to the exact product with the dequantized weights.
    traits.dequantize_row(bytes + r * stride, dequantized.data(), kCols);
    double exact = 0.0;
    double magnitude = 0.0;
    for (int64_t c = 0; c < kCols; ++c) {
      exact += static_cast<double>(dequantized[c]) * x[c];
      magnitude += std::fabs(static_cast<double>(dequantized[c]) * x[c]);
    }
    EXPECT_NEAR(y[r], exact, 0.02 * magnitude) << traits.name << " row " << r;
  }

  // A row range writes only its rows.
  std::vector<float> part(kRows, -1.0f);
  matvec(type, weights.data(), kRows, kCols, x.data(), part.data(), scratch, 2, 5);
  for (int64_t r = 0; r < kRows; ++r) {
    if (r >= 2 && r < 5) {
      EXPECT_EQ(part[r], y[r]);
    } else {
      EXPECT_EQ(part[r], -1.0f);
    }
  }
}

INSTANTIATE_TEST_SUITE_P(AllWeightTypes, KernelMatvecTest,
                         ::testing::Values(KernelType::kF32, KernelType::kF16, KernelType::kBF16,
                                           KernelType::kQ4_0, KernelType::kQ4_1, KernelType::kQ5_0,
                                           KernelType::kQ5_1, KernelType::kQ8_0, KernelType::kQ2_K,
                                           KernelType::kQ3_K, KernelType::kQ4_K, KernelType::kQ5_K,
                                           KernelType::kQ6_K),
                         [](const ::testing::TestParamInfo<KernelType>& param_info) {
                           return std::string(type_traits(param_info.param).name);
                         });

}  // namespace
}  // namespace rbee::engine::kernels
