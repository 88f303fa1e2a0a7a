#include "engine/kernels/q4_1.hpp"

#include <gtest/gtest.h>

#include "engine/kernels/float16.hpp"
#include "engine/kernels/kernel_test_util.hpp"

namespace rbee::engine::kernels {
namespace {

TEST(KernelQ4_1Test, Traits) {
  testing::expect_traits(KernelType::kQ4_1, "q4_1", 32, 20, KernelType::kQ8_1);
}

TEST(KernelQ4_1Test, DequantizesHandBuiltBlock) {
  BlockQ4_1 block{};
  block.d = fp32_to_fp16(1.0f);
  block.m = fp32_to_fp16(-3.0f);
  for (int j = 0; j < 16; ++j) block.qs[j] = static_cast<uint8_t>(j | ((15 - j) << 4));
  float y[32];
  dequantize_row_q4_1(&block, y, 32);
  for (int j = 0; j < 16; ++j) {
    EXPECT_EQ(y[j], static_cast<float>(j - 3)) << j;
    EXPECT_EQ(y[j + 16], static_cast<float>(12 - j)) << j;
  }
}

TEST(KernelQ4_1Test, RoundTripWithinBound) {
  testing::expect_round_trip_within(KernelType::kQ4_1, 0.095);  // measured ~0.078
}

TEST(KernelQ4_1Test, DotMatchesDequantizedDot) {
  // The m * s term uses s = F16(d_a * sum(q_a)) while the reference uses F16(d_a) * sum(q_a):
  // two F16 roundings (~2^-11 each) on a term that can be as large as the dot's magnitude.
  testing::expect_dot_matches_dequantized(KernelType::kQ4_1, 1e-3);
}

}  // namespace
}  // namespace rbee::engine::kernels
