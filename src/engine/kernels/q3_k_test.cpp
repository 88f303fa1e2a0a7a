#include "engine/kernels/q3_k.hpp"

#include <gtest/gtest.h>

#include "engine/kernels/float16.hpp"
#include "engine/kernels/kernel_test_util.hpp"

namespace rbee::engine::kernels {
namespace {

TEST(KernelQ3_KTest, Traits) {
  testing::expect_traits(KernelType::kQ3_K, "q3_K", 256, 110, KernelType::kQ8_K);
}

TEST(KernelQ3_KTest, DequantizesHandBuiltBlock) {
  BlockQ3_K block{};
  block.d = fp32_to_fp16(1.0f);
  // All scales stored as 0 (-32) but group 5, stored as 33 (+1): low nibble 1 in
  // scales[5], high bits 0b10 at bits 2..3 of scales[8 + 5 % 4].
  block.scales[5] = 0x01;
  block.scales[9] = 0x02 << 2;
  for (uint8_t& q : block.qs) q = 0xe4;               // low bits of element 128 c + 32 j + l: j
  for (uint8_t& h : block.hmask) h = 0xff;            // high bits set: no -4
  block.hmask[7] = static_cast<uint8_t>(~(1u << 7));  // element 128 + 96 + 7 loses it
  float y[256];
  dequantize_row_q3_k(&block, y, 256);
  EXPECT_EQ(y[0], 0.0f);     // group 0, j 0
  EXPECT_EQ(y[40], -32.0f);  // group 2, j 1
  EXPECT_EQ(y[80], 2.0f);    // group 5, j 2, scale +1
  EXPECT_EQ(y[95], 2.0f);
  EXPECT_EQ(y[231], 32.0f);   // group 14, j 3, hmask bit 4 + 3 cleared: 3 - 4 = -1
  EXPECT_EQ(y[230], -96.0f);  // its neighbour keeps the bit: 3
}

TEST(KernelQ3_KTest, RoundTripWithinBound) {
  testing::expect_round_trip_within(KernelType::kQ3_K, 0.18);  // measured ~0.144
}

TEST(KernelQ3_KTest, DotMatchesDequantizedDot) {
  testing::expect_dot_matches_dequantized(KernelType::kQ3_K, 1e-6);
}

}  // namespace
}  // namespace rbee::engine::kernels
