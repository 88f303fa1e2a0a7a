#include "engine/kernels/q8_0.hpp"

#include <gtest/gtest.h>

#include "engine/kernels/float16.hpp"
#include "engine/kernels/kernel_test_util.hpp"

namespace rbee::engine::kernels {
namespace {

TEST(KernelQ8_0Test, Traits) {
  testing::expect_traits(KernelType::kQ8_0, "q8_0", 32, 34, KernelType::kQ8_0);
  testing::expect_traits(KernelType::kQ8_1, "q8_1", 32, 36, KernelType::kQ8_1);
  EXPECT_EQ(type_traits(KernelType::kQ8_1).vec_dot, nullptr);  // activations only
}

TEST(KernelQ8_0Test, DequantizesHandBuiltBlock) {
  BlockQ8_0 block{};
  block.d = fp32_to_fp16(0.5f);
  for (int i = 0; i < 32; ++i) block.qs[i] = static_cast<int8_t>(i - 16);
  float y[32];
  dequantize_row_q8_0(&block, y, 32);
  for (int i = 0; i < 32; ++i) EXPECT_EQ(y[i], 0.5f * static_cast<float>(i - 16)) << i;
}

TEST(KernelQ8_0Test, QuantizesLikeLlamaCppActivations) {
  // amax 16: d = 16/127, q = round-half-even(x * 127/16).
  float x[32];
  for (int i = 0; i < 32; ++i) x[i] = static_cast<float>(i - 16);
  BlockQ8_0 block{};
  quantize_row_q8_0(x, &block, 32);
  EXPECT_EQ(block.d, fp32_to_fp16(16.0f / 127.0f));
  EXPECT_EQ(block.qs[0], -127);  // -16
  EXPECT_EQ(block.qs[16], 0);    // 0
  EXPECT_EQ(block.qs[24], 64);   // 8 * 127/16 = 63.5: the tie goes to even 64
  EXPECT_EQ(block.qs[31], 119);  // 15 * 127/16 = 119.06
  EXPECT_EQ(block.qs[8], -64);   // -63.5: even -64
}

TEST(KernelQ8_0Test, Q8_1CarriesScaledSum) {
  const std::vector<float> x = testing::random_row(64, 5);
  BlockQ8_1 blocks[2];
  quantize_row_q8_1(x.data(), blocks, 64);
  BlockQ8_0 plain[2];
  quantize_row_q8_0(x.data(), plain, 64);
  for (int b = 0; b < 2; ++b) {
    EXPECT_EQ(blocks[b].d, plain[b].d);
    int sum = 0;
    for (int j = 0; j < 32; ++j) {
      EXPECT_EQ(blocks[b].qs[j], plain[b].qs[j]);
      sum += blocks[b].qs[j];
    }
    EXPECT_NEAR(fp16_to_fp32(blocks[b].s), fp16_to_fp32(blocks[b].d) * static_cast<float>(sum),
                std::fabs(fp16_to_fp32(blocks[b].s)) * 2e-3 + 1e-6);
  }
}

TEST(KernelQ8_0Test, RoundTripWithinBound) {
  testing::expect_round_trip_within(KernelType::kQ8_0, 0.0075);  // measured ~0.0053
  testing::expect_round_trip_within(KernelType::kQ8_1, 0.0075);
}

TEST(KernelQ8_0Test, DotMatchesDequantizedDot) {
  testing::expect_dot_matches_dequantized(KernelType::kQ8_0, 1e-6);
}

}  // namespace
}  // namespace rbee::engine::kernels
