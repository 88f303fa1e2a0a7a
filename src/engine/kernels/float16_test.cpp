#include "engine/kernels/float16.hpp"

#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <limits>

#include "engine/kernels/kernel_table.hpp"
#include "engine/kernels/kernel_test_util.hpp"

namespace rbee::engine::kernels {
namespace {

float from_bits(uint32_t bits) {
  return std::bit_cast<float>(bits);
}

TEST(KernelFloat16Test, ExactValuesConvertBothWays) {
  const struct {
    float value;
    uint16_t bits;
  } cases[] = {
      {0.0f, 0x0000},
      {-0.0f, 0x8000},
      {1.0f, 0x3c00},
      {-2.0f, 0xc000},
      {0.5f, 0x3800},
      {65504.0f, 0x7bff},
      {0x1p-14f, 0x0400},    // smallest normal
      {0x1p-24f, 0x0001},    // smallest subnormal
      {0x3ffp-24f, 0x03ff},  // largest subnormal
      {std::numeric_limits<float>::infinity(), 0x7c00},
      {-std::numeric_limits<float>::infinity(), 0xfc00},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(fp32_to_fp16(c.value), c.bits) << c.value;
    const float back = fp16_to_fp32(c.bits);
    EXPECT_EQ(std::bit_cast<uint32_t>(back), std::bit_cast<uint32_t>(c.value)) << c.value;
  }
}

TEST(KernelFloat16Test, NanStaysNan) {
  EXPECT_EQ(fp32_to_fp16(std::numeric_limits<float>::quiet_NaN()), 0x7e00);
  EXPECT_EQ(fp32_to_fp16(-std::numeric_limits<float>::quiet_NaN()), 0xfe00);
  EXPECT_EQ(fp32_to_fp16(from_bits(0x7f800001)), 0x7e00);  // signalling NaN
  EXPECT_TRUE(std::isnan(fp16_to_fp32(0x7e00)));
  EXPECT_TRUE(std::isnan(fp16_to_fp32(0x7c01)));
}

TEST(KernelFloat16Test, RoundsToNearestEven) {
  // 1 + 2^-11 is halfway between 1 and 1 + 2^-10: ties go to the even mantissa (1).
  EXPECT_EQ(fp32_to_fp16(1.0f + 0x1p-11f), 0x3c00);
  // 1 + 3 * 2^-11 is halfway between 1 + 2^-10 (odd) and 1 + 2^-9 (even).
  EXPECT_EQ(fp32_to_fp16(1.0f + 3 * 0x1p-11f), 0x3c02);
  // Just above the tie rounds up.
  EXPECT_EQ(fp32_to_fp16(from_bits(std::bit_cast<uint32_t>(1.0f + 0x1p-11f) + 1)), 0x3c01);
  // A carry out of the mantissa bumps the exponent: 2 - 2^-12 rounds to 2.
  EXPECT_EQ(fp32_to_fp16(2.0f - 0x1p-12f), 0x4000);
  // Overflow: 65519 rounds down to 65504, the tie 65520 up to infinity.
  EXPECT_EQ(fp32_to_fp16(65519.0f), 0x7bff);
  EXPECT_EQ(fp32_to_fp16(65520.0f), 0x7c00);
  EXPECT_EQ(fp32_to_fp16(-1e10f), 0xfc00);
}

TEST(KernelFloat16Test, SubnormalsRoundToNearestEven) {
  EXPECT_EQ(fp32_to_fp16(0x1p-25f), 0x0000);             // tie between 0 and 2^-24: even 0
  EXPECT_EQ(fp32_to_fp16(-0x1p-25f), 0x8000);            // keeps the sign
  EXPECT_EQ(fp32_to_fp16(0x1.000002p-25f), 0x0001);      // just above the tie
  EXPECT_EQ(fp32_to_fp16(3 * 0x1p-25f), 0x0002);         // tie between 1 and 2: even 2
  EXPECT_EQ(fp32_to_fp16(5 * 0x1p-25f), 0x0002);         // tie between 2 and 3: even 2
  EXPECT_EQ(fp32_to_fp16(1e-10f), 0x0000);               // far below: zero
  EXPECT_EQ(fp32_to_fp16(0x1p-14f - 0x1p-26f), 0x0400);  // rounds up into the normals
}

TEST(KernelFloat16Test, EveryHalfRoundTrips) {
  for (uint32_t bits = 0; bits < 0x10000; ++bits) {
    const auto h = static_cast<uint16_t>(bits);
    const float f = fp16_to_fp32(h);
    if (std::isnan(f)) continue;
    ASSERT_EQ(fp32_to_fp16(f), h) << std::hex << bits;
  }
}

TEST(KernelFloat16Test, MatchesHardwareStyleRoundingOnRandomFloats) {
  // Against an independent rounding: the nearest of the two neighbouring halves, computed in
  // double, ties to the even bit pattern.
  std::mt19937 generator(7);
  std::uniform_int_distribution<uint32_t> any_bits(0, 0x7fffffffu);
  for (int i = 0; i < 200000; ++i) {
    const float f = from_bits(any_bits(generator) & 0x47ffffffu);  // up to ~131072
    const uint16_t h = fp32_to_fp16(f);
    if (std::fabs(f) >= 65520.0f) {
      ASSERT_EQ(h, 0x7c00) << f;
      continue;
    }
    const double got = fp16_to_fp32(h);
    const double below = fp16_to_fp32(static_cast<uint16_t>(h - (h > 0 ? 1 : 0)));
    const double above = fp16_to_fp32(static_cast<uint16_t>(h + 1));
    ASSERT_LE(std::fabs(got - f), std::fabs(below - f)) << f;
    ASSERT_LE(std::fabs(got - f), std::fabs(above - f)) << f;
  }
}

TEST(KernelBFloat16Test, SpecialValues) {
  EXPECT_EQ(fp32_to_bf16(0.0f), 0x0000);
  EXPECT_EQ(fp32_to_bf16(-0.0f), 0x8000);
  EXPECT_EQ(fp32_to_bf16(1.0f), 0x3f80);
  EXPECT_EQ(fp32_to_bf16(std::numeric_limits<float>::infinity()), 0x7f80);
  EXPECT_EQ(fp32_to_bf16(-std::numeric_limits<float>::infinity()), 0xff80);
  EXPECT_EQ(fp32_to_bf16(std::numeric_limits<float>::quiet_NaN()), 0x7fc0);
  EXPECT_EQ(fp32_to_bf16(from_bits(0x7f800001)), 0x7fc0);  // signalling NaN made quiet
  EXPECT_EQ(fp32_to_bf16(from_bits(0xff812345)), 0xffc1);  // sign and top payload kept
  EXPECT_TRUE(std::isnan(bf16_to_fp32(0x7fc0)));
  EXPECT_EQ(bf16_to_fp32(0x3f80), 1.0f);
  EXPECT_EQ(bf16_to_fp32(0x8000), -0.0f);
  EXPECT_TRUE(std::signbit(bf16_to_fp32(0x8000)));
}

TEST(KernelBFloat16Test, RoundsToNearestEven) {
  EXPECT_EQ(fp32_to_bf16(from_bits(0x3f808000)), 0x3f80);  // tie, even stays
  EXPECT_EQ(fp32_to_bf16(from_bits(0x3f818000)), 0x3f82);  // tie, odd rounds up
  EXPECT_EQ(fp32_to_bf16(from_bits(0x3f808001)), 0x3f81);  // above the tie
  EXPECT_EQ(fp32_to_bf16(from_bits(0x3f807fff)), 0x3f80);  // below the tie
  EXPECT_EQ(fp32_to_bf16(from_bits(0x7f7fffff)), 0x7f80);  // the largest float rounds to inf
  // Subnormals are rounded, not flushed.
  EXPECT_EQ(fp32_to_bf16(from_bits(0x00018000)), 0x0002);
  EXPECT_EQ(fp32_to_bf16(from_bits(0x00010000)), 0x0001);
  EXPECT_EQ(bf16_to_fp32(0x0001), from_bits(0x00010000));
}

TEST(KernelFloat16Test, RowKernelsAndTraits) {
  const KernelTraits& f16 = type_traits(KernelType::kF16);
  EXPECT_STREQ(f16.name, "f16");
  EXPECT_EQ(f16.block_size, 1);
  EXPECT_EQ(f16.block_bytes, 2u);
  EXPECT_EQ(f16.vec_dot_type, KernelType::kF16);
  const KernelTraits& bf16 = type_traits(KernelType::kBF16);
  EXPECT_STREQ(bf16.name, "bf16");
  EXPECT_EQ(bf16.block_bytes, 2u);
  EXPECT_EQ(bf16.vec_dot_type, KernelType::kBF16);

  // Round trips: relative error of one rounding (2^-11 for F16, 2^-8 for BF16).
  const std::vector<float> x = testing::random_row(4096, 1);
  EXPECT_LT(testing::relative_rms_error(x, testing::round_trip(KernelType::kF16, x)), 4e-4);
  EXPECT_LT(testing::relative_rms_error(x, testing::round_trip(KernelType::kBF16, x)), 3e-3);

  for (KernelType type : {KernelType::kF16, KernelType::kBF16}) {
    const testing::DotCheck dot =
        testing::check_dot(type, testing::random_row(1000, 2), testing::random_row(1000, 3));
    EXPECT_NEAR(dot.kernel, dot.reference, 1e-6 * dot.magnitude);
  }
}

}  // namespace
}  // namespace rbee::engine::kernels
