#include "engine/kernels/q5_k.hpp"

#include <gtest/gtest.h>

#include "engine/kernels/float16.hpp"
#include "engine/kernels/kernel_test_util.hpp"
#include "engine/kernels/quant_common.hpp"

namespace rbee::engine::kernels {
namespace {

TEST(KernelQ5_KTest, Traits) {
  testing::expect_traits(KernelType::kQ5_K, "q5_K", 256, 176, KernelType::kQ8_K);
}

TEST(KernelQ5_KTest, DequantizesHandBuiltBlock) {
  BlockQ5_K block{};
  block.d = fp32_to_fp16(1.0f);
  block.dmin = fp32_to_fp16(0.5f);
  const uint8_t scales[8] = {1, 2, 3, 4, 5, 6, 7, 8};
  const uint8_t mins[8] = {2, 2, 2, 2, 2, 2, 2, 2};
  detail::pack_scale_min_k4(scales, mins, block.scales);
  for (uint8_t& q : block.qs) q = 0x31;  // low 4 bits: 1 for l < 32, else 3
  // Bit 1 (c = 0, upper half) and bit 6 (c = 3, lower half): elements 32..63 and
  // 192..223 get +16.
  for (uint8_t& h : block.qh) h = 0x42;
  float y[256];
  dequantize_row_q5_k(&block, y, 256);
  for (int i = 0; i < 256; ++i) {
    int q = i % 64 < 32 ? 1 : 3;
    if ((i >= 32 && i < 64) || (i >= 192 && i < 224)) q += 16;
    EXPECT_EQ(y[i], static_cast<float>(scales[i / 32] * q) - 1.0f) << i;
  }
}

TEST(KernelQ5_KTest, RoundTripWithinBound) {
  testing::expect_round_trip_within(KernelType::kQ5_K, 0.045);  // measured ~0.036
}

TEST(KernelQ5_KTest, DotMatchesDequantizedDot) {
  testing::expect_dot_matches_dequantized(KernelType::kQ5_K, 1e-6);
}

}  // namespace
}  // namespace rbee::engine::kernels
