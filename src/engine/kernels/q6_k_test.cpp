#include "engine/kernels/q6_k.hpp"

#include <gtest/gtest.h>

#include "engine/kernels/float16.hpp"
#include "engine/kernels/kernel_test_util.hpp"

namespace rbee::engine::kernels {
namespace {

TEST(KernelQ6_KTest, Traits) {
  testing::expect_traits(KernelType::kQ6_K, "q6_K", 256, 210, KernelType::kQ8_K);
}

TEST(KernelQ6_KTest, DequantizesHandBuiltBlock) {
  BlockQ6_K block{};
  block.d = fp32_to_fp16(0.5f);
  for (int g = 0; g < 16; ++g) block.scales[g] = static_cast<int8_t>(g - 8);
  for (uint8_t& q : block.ql) q = 0x21;  // low 4 bits: 1 for k < 2, 2 for k >= 2
  for (uint8_t& q : block.qh) q = 0xe4;  // high 2 bits of element 128 c + 32 k + l: k
  float y[256];
  dequantize_row_q6_k(&block, y, 256);
  for (int i = 0; i < 256; ++i) {
    const int k = (i % 128) / 32;
    const int q = (k < 2 ? 1 : 2) | (k << 4);
    EXPECT_EQ(y[i], 0.5f * static_cast<float>((i / 16 - 8) * (q - 32))) << i;
  }
}

TEST(KernelQ6_KTest, RoundTripWithinBound) {
  testing::expect_round_trip_within(KernelType::kQ6_K, 0.022);  // measured ~0.017
}

TEST(KernelQ6_KTest, DotMatchesDequantizedDot) {
  testing::expect_dot_matches_dequantized(KernelType::kQ6_K, 1e-6);
}

}  // namespace
}  // namespace rbee::engine::kernels
