#include "engine/kernels/q5_1.hpp"

#include <gtest/gtest.h>

#include "engine/kernels/float16.hpp"
#include "engine/kernels/kernel_test_util.hpp"

namespace rbee::engine::kernels {
namespace {

TEST(KernelQ5_1Test, Traits) {
  testing::expect_traits(KernelType::kQ5_1, "q5_1", 32, 24, KernelType::kQ8_1);
}

TEST(KernelQ5_1Test, DequantizesHandBuiltBlock) {
  BlockQ5_1 block{};
  block.d = fp32_to_fp16(0.5f);
  block.m = fp32_to_fp16(1.0f);
  block.qh[2] = 0x01;  // bit 16: element 16's 5th bit
  block.qs[0] = 0x3f;  // element 0: 15, element 16: 3
  float y[32];
  dequantize_row_q5_1(&block, y, 32);
  EXPECT_EQ(y[0], 0.5f * 15 + 1.0f);
  EXPECT_EQ(y[16], 0.5f * (16 + 3) + 1.0f);
  EXPECT_EQ(y[1], 1.0f);
}

TEST(KernelQ5_1Test, RoundTripWithinBound) {
  testing::expect_round_trip_within(KernelType::kQ5_1, 0.047);  // measured ~0.038
}

TEST(KernelQ5_1Test, DotMatchesDequantizedDot) {
  // As for Q4_1: s = F16(d_a * sum(q_a)) carries two F16 roundings the reference lacks.
  testing::expect_dot_matches_dequantized(KernelType::kQ5_1, 1e-3);
}

}  // namespace
}  // namespace rbee::engine::kernels
