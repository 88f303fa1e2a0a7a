#include "engine/kernels/q2_k.hpp"

#include <gtest/gtest.h>

#include "engine/kernels/float16.hpp"
#include "engine/kernels/kernel_test_util.hpp"

namespace rbee::engine::kernels {
namespace {

TEST(KernelQ2_KTest, Traits) {
  testing::expect_traits(KernelType::kQ2_K, "q2_K", 256, 84, KernelType::kQ8_K);
}

TEST(KernelQ2_KTest, DequantizesHandBuiltBlock) {
  BlockQ2_K block{};
  block.d = fp32_to_fp16(1.0f);
  block.dmin = fp32_to_fp16(0.5f);
  for (int g = 0; g < 16; ++g) block.scales[g] = static_cast<uint8_t>(g | (2 << 4));
  // Every byte 0b11'10'01'00: element 128 c + 32 j + l has value j.
  for (uint8_t& q : block.qs) q = 0xe4;
  float y[256];
  dequantize_row_q2_k(&block, y, 256);
  for (int i = 0; i < 256; ++i) {
    const int group = i / 16;
    const int j = (i % 128) / 32;
    EXPECT_EQ(y[i], static_cast<float>(group * j) - 1.0f) << i;
  }
}

TEST(KernelQ2_KTest, RoundTripWithinBound) {
  testing::expect_round_trip_within(KernelType::kQ2_K, 0.33);  // measured ~0.27
}

TEST(KernelQ2_KTest, DotMatchesDequantizedDot) {
  testing::expect_dot_matches_dequantized(KernelType::kQ2_K, 1e-6);
}

}  // namespace
}  // namespace rbee::engine::kernels
