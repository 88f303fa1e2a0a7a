#include "engine/kernels/matvec.hpp"

#include <gtest/gtest.h>

#include <cstdint>

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

// A batch of activations gives each one's matrix-vector product bit for bit, for row ranges
// that do not start at a tile boundary and counts of activations past any unrolling.
TEST_P(KernelMatvecTest, MatmulRowsEqualsOneProductPerActivation) {
  const KernelType type = GetParam();
  const KernelTraits& traits = type_traits(type);
  constexpr int64_t kRows = 37;
  constexpr int64_t kCols = 768;
  const std::vector<float> w = testing::random_row(kRows * kCols, 21, 0.05f);
  const size_t stride = row_bytes(traits, kCols);
  std::vector<uint64_t> weights((stride * kRows + 7) / 8);
  auto* bytes = reinterpret_cast<std::byte*>(weights.data());
  for (int64_t r = 0; r < kRows; ++r) {
    traits.quantize_row(w.data() + r * kCols, bytes + r * stride, kCols);
  }
  const size_t act_stride = activation_stride(type, kCols);
  ASSERT_EQ(act_stride % 64, 0u);
  ASSERT_GE(act_stride, activation_bytes(type, kCols));
  for (int64_t n_act : {1, 2, 3, 4, 5, 9}) {
    std::vector<uint64_t> act_words(act_stride * size_t(n_act) / 8 + 8);
    // 64-byte alignment of the batch, as callers give it.
    auto* acts = reinterpret_cast<std::byte*>((reinterpret_cast<uintptr_t>(act_words.data()) + 63) /
                                              64 * 64);
    std::vector<std::vector<float>> singles;
    for (int64_t j = 0; j < n_act; ++j) {
      const std::vector<float> x = testing::random_row(kCols, uint32_t(100 + j));
      quantize_activation(type, x.data(), kCols,
                          std::span(acts + size_t(j) * act_stride, act_stride));
      std::vector<float> y(kRows);
      matvec_rows(type, weights.data(), kCols, acts + size_t(j) * act_stride, y.data(), 0, kRows);
      singles.push_back(y);
    }
    constexpr int64_t kBegin = 3;
    constexpr int64_t kEnd = 35;
    const size_t y_stride = kRows + 5;
    std::vector<float> batch(y_stride * size_t(n_act), -7.0f);
    matmul_rows(type, weights.data(), kCols, acts, act_stride, n_act, batch.data(), y_stride,
                kBegin, kEnd);
    for (int64_t j = 0; j < n_act; ++j) {
      for (int64_t r = 0; r < int64_t(y_stride); ++r) {
        const float got = batch[size_t(j) * y_stride + size_t(r)];
        if (r >= kBegin && r < kEnd) {
          ASSERT_EQ(got, singles[size_t(j)][size_t(r)])
              << traits.name << " activation " << j << " of " << n_act << ", row " << r;
        } else {
          ASSERT_EQ(got, -7.0f) << "wrote outside its rows: activation " << j << ", row " << r;
        }
      }
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
