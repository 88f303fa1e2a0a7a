#include "engine/kernels/q4_k.hpp"

#include <gtest/gtest.h>

#include "engine/kernels/float16.hpp"
#include "engine/kernels/kernel_test_util.hpp"
#include "engine/kernels/quant_common.hpp"

namespace rbee::engine::kernels {
namespace {

TEST(KernelQ4_KTest, Traits) {
  testing::expect_traits(KernelType::kQ4_K, "q4_K", 256, 144, KernelType::kQ8_K);
}

// Scales 1..7 and 40 (top bits used), minimums 0, 2, ..., 14, packed by hand.
void fill_scales(uint8_t* packed) {
  const uint8_t bytes[12] = {
      1, 2, 3, 4 | (2 << 6), 0, 2, 4, 6, 5 | (8 << 4), 6 | (10 << 4), 7 | (12 << 4), 8 | (14 << 4)};
  for (int i = 0; i < 12; ++i) packed[i] = bytes[i];
}
constexpr int kScales[8] = {1, 2, 3, 4, 5, 6, 7, 40};
constexpr int kMins[8] = {0, 2, 4, 6, 8, 10, 12, 14};

TEST(KernelQ4_KTest, ScalePackingRoundTrips) {
  uint8_t packed[12];
  fill_scales(packed);
  uint8_t scales[8];
  uint8_t mins[8];
  for (int j = 0; j < 8; ++j) {
    detail::unpack_scale_min_k4(packed, j, &scales[j], &mins[j]);
    EXPECT_EQ(scales[j], kScales[j]) << j;
    EXPECT_EQ(mins[j], kMins[j]) << j;
  }
  uint8_t repacked[12];
  detail::pack_scale_min_k4(scales, mins, repacked);
  for (int i = 0; i < 12; ++i) EXPECT_EQ(repacked[i], packed[i]) << i;
}

TEST(KernelQ4_KTest, DequantizesHandBuiltBlock) {
  BlockQ4_K block{};
  block.d = fp32_to_fp16(1.0f);
  block.dmin = fp32_to_fp16(1.0f);
  fill_scales(block.scales);
  for (uint8_t& q : block.qs) q = 0x31;  // element 64 c + l: 1 for l < 32, else 3
  float y[256];
  dequantize_row_q4_k(&block, y, 256);
  for (int i = 0; i < 256; ++i) {
    const int q = i % 64 < 32 ? 1 : 3;
    EXPECT_EQ(y[i], static_cast<float>(kScales[i / 32] * q - kMins[i / 32])) << i;
  }
}

TEST(KernelQ4_KTest, RoundTripWithinBound) {
  testing::expect_round_trip_within(KernelType::kQ4_K, 0.09);  // measured ~0.071
}

TEST(KernelQ4_KTest, DotMatchesDequantizedDot) {
  testing::expect_dot_matches_dequantized(KernelType::kQ4_K, 1e-6);
}

}  // namespace
}  // namespace rbee::engine::kernels
