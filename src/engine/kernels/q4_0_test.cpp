#include "engine/kernels/q4_0.hpp"

#include <gtest/gtest.h>

#include "engine/kernels/float16.hpp"
#include "engine/kernels/kernel_test_util.hpp"

namespace rbee::engine::kernels {
namespace {

TEST(KernelQ4_0Test, Traits) {
  testing::expect_traits(KernelType::kQ4_0, "q4_0", 32, 18, KernelType::kQ8_0);
}

TEST(KernelQ4_0Test, DequantizesHandBuiltBlock) {
  BlockQ4_0 block{};
  block.d = fp32_to_fp16(2.0f);
  for (int j = 0; j < 16; ++j) block.qs[j] = static_cast<uint8_t>(j | ((15 - j) << 4));
  float y[32];
  dequantize_row_q4_0(&block, y, 32);
  for (int j = 0; j < 16; ++j) {
    EXPECT_EQ(y[j], 2.0f * static_cast<float>(j - 8)) << j;
    EXPECT_EQ(y[j + 16], 2.0f * static_cast<float>(7 - j)) << j;
  }
}

TEST(KernelQ4_0Test, LargestMagnitudeMapsToLevelZero) {
  float x[32] = {};
  x[3] = -4.0f;  // the largest magnitude: d = -4 / -8 = 0.5, stored at level 0
  x[20] = 1.0f;
  BlockQ4_0 block{};
  quantize_row_q4_0(x, &block, 32);
  EXPECT_EQ(fp16_to_fp32(block.d), 0.5f);
  EXPECT_EQ(block.qs[3] & 0xf, 0);
  EXPECT_EQ(block.qs[4] >> 4, 10);  // element 20: 1 / 0.5 + 8
  EXPECT_EQ(block.qs[0] & 0xf, 8);  // zeros sit at level 8
}

TEST(KernelQ4_0Test, RoundTripWithinBound) {
  testing::expect_round_trip_within(KernelType::kQ4_0, 0.10);  // measured ~0.085
}

TEST(KernelQ4_0Test, DotMatchesDequantizedDot) {
  testing::expect_dot_matches_dequantized(KernelType::kQ4_0, 1e-6);
}

}  // namespace
}  // namespace rbee::engine::kernels
