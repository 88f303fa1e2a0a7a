#include "engine/kernels/q4_0.hpp"

#include <gtest/gtest.h>

#include <cstring>
#include <vector>

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

TEST(KernelQ4_0Test, RepackedOctetsHoldTheSameBlocks) {
  // Q4_0x8 (the layout models repack Q4_0 matrices into at load) is a permutation of the
  // row's bytes: unpacking restores them exactly, and dequantizing, quantizing and the dot
  // give Q4_0's values and bits.
  testing::expect_traits(KernelType::kQ4_0x8, "q4_0x8", 256, 144, KernelType::kQ8_0);
  constexpr int64_t n = 3 * kQK4_0x8;
  const std::vector<float> w = testing::random_row(n, 5, 0.5f);
  const std::vector<float> a = testing::random_row(n, 6);
  std::vector<BlockQ4_0> blocks(n / kQK4_0);
  quantize_row_q4_0(w.data(), blocks.data(), n);
  std::vector<BlockQ4_0x8> repacked(n / kQK4_0x8);
  repack_row_q4_0x8(blocks.data(), repacked.data(), n);
  // Lane 1 of the first octet holds block 2 (the SIMD register order), bytes 4k.. in qs[k].
  EXPECT_EQ(repacked[0].d[1], blocks[2].d);
  EXPECT_EQ(repacked[0].qs[3][4 + 2], blocks[2].qs[12 + 2]);
  EXPECT_EQ(repacked[1].d[4], blocks[8 + 1].d);

  std::vector<BlockQ4_0> unpacked(blocks.size());
  unpack_row_q4_0x8(repacked.data(), unpacked.data(), n);
  EXPECT_EQ(std::memcmp(unpacked.data(), blocks.data(), blocks.size() * sizeof(BlockQ4_0)), 0);

  std::vector<BlockQ4_0x8> quantized(repacked.size());
  quantize_row_q4_0x8(w.data(), quantized.data(), n);
  EXPECT_EQ(std::memcmp(quantized.data(), repacked.data(), repacked.size() * sizeof(BlockQ4_0x8)),
            0);

  std::vector<float> want(n);
  std::vector<float> got(n);
  dequantize_row_q4_0(blocks.data(), want.data(), n);
  dequantize_row_q4_0x8(repacked.data(), got.data(), n);
  EXPECT_EQ(got, want);

  std::vector<BlockQ8_0> activation(n / kQK8_0);
  quantize_row_q8_0(a.data(), activation.data(), n);
  EXPECT_EQ(vec_dot_q4_0x8_q8_0(repacked.data(), activation.data(), n),
            vec_dot_q4_0_q8_0(blocks.data(), activation.data(), n));
}

TEST(KernelQ4_0Test, RoundTripWithinBound) {
  testing::expect_round_trip_within(KernelType::kQ4_0, 0.10);  // measured ~0.085
}

TEST(KernelQ4_0Test, DotMatchesDequantizedDot) {
  testing::expect_dot_matches_dequantized(KernelType::kQ4_0, 1e-6);
}

}  // namespace
}  // namespace rbee::engine::kernels
