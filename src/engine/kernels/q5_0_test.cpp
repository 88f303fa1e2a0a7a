#include "engine/kernels/q5_0.hpp"

#include <gtest/gtest.h>

#include "engine/kernels/float16.hpp"
#include "engine/kernels/kernel_test_util.hpp"

namespace rbee::engine::kernels {
namespace {

TEST(KernelQ5_0Test, Traits) {
  testing::expect_traits(KernelType::kQ5_0, "q5_0", 32, 22, KernelType::kQ8_0);
}

TEST(KernelQ5_0Test, DequantizesHandBuiltBlock) {
  BlockQ5_0 block{};
  block.d = fp32_to_fp16(1.0f);
  // qh as little-endian uint32 0x80000001: element 0 and element 31 have their 5th bit.
  block.qh[0] = 0x01;
  block.qh[3] = 0x80;
  block.qs[15] = 0xf0;  // element 31's low 4 bits: 15
  block.qs[2] = 0x07;   // element 2's low 4 bits: 7
  float y[32];
  dequantize_row_q5_0(&block, y, 32);
  EXPECT_EQ(y[0], 0.0f);    // 16 - 16
  EXPECT_EQ(y[2], -9.0f);   // 7 - 16
  EXPECT_EQ(y[31], 15.0f);  // 31 - 16
  EXPECT_EQ(y[1], -16.0f);
  EXPECT_EQ(y[16], -16.0f);
}

TEST(KernelQ5_0Test, RoundTripWithinBound) {
  testing::expect_round_trip_within(KernelType::kQ5_0, 0.052);  // measured ~0.042
}

TEST(KernelQ5_0Test, DotMatchesDequantizedDot) {
  testing::expect_dot_matches_dequantized(KernelType::kQ5_0, 1e-6);
}

}  // namespace
}  // namespace rbee::engine::kernels
