#include "engine/kernels/kernel_table.hpp"

#include <gtest/gtest.h>

#include <cstdio>

#include "engine/kernels/kernel_test_util.hpp"

namespace rbee::engine::kernels {
namespace {

constexpr KernelType kAllTypes[] = {
    KernelType::kF32,  KernelType::kF16,  KernelType::kQ4_0, KernelType::kQ4_1, KernelType::kQ5_0,
    KernelType::kQ5_1, KernelType::kQ8_0, KernelType::kQ8_1, KernelType::kQ2_K, KernelType::kQ3_K,
    KernelType::kQ4_K, KernelType::kQ5_K, KernelType::kQ6_K, KernelType::kQ8_K, KernelType::kBF16,
};

TEST(KernelTableTest, IdsAreGgmlTypeIds) {
  EXPECT_EQ(static_cast<uint32_t>(KernelType::kF32), 0u);
  EXPECT_EQ(static_cast<uint32_t>(KernelType::kQ4_0), 2u);
  EXPECT_EQ(static_cast<uint32_t>(KernelType::kQ8_0), 8u);
  EXPECT_EQ(static_cast<uint32_t>(KernelType::kQ6_K), 14u);
  EXPECT_EQ(static_cast<uint32_t>(KernelType::kBF16), 30u);
  for (KernelType type : kAllTypes) {
    const KernelTraits* traits = find_type_traits(static_cast<uint32_t>(type));
    ASSERT_NE(traits, nullptr);
    EXPECT_EQ(traits->type, type);
  }
}

TEST(KernelTableTest, UnknownIdsHaveNoTraits) {
  for (uint32_t id : {4u, 5u, 16u, 20u, 29u, 31u, 1000u}) EXPECT_EQ(find_type_traits(id), nullptr);
}

TEST(KernelTableTest, WeightTypesPairWithLlamaCppVecDotTypes) {
  const struct {
    KernelType weight;
    KernelType activation;
  } pairs[] = {
      {KernelType::kF32, KernelType::kF32},   {KernelType::kF16, KernelType::kF16},
      {KernelType::kBF16, KernelType::kBF16}, {KernelType::kQ4_0, KernelType::kQ8_0},
      {KernelType::kQ4_1, KernelType::kQ8_1}, {KernelType::kQ5_0, KernelType::kQ8_0},
      {KernelType::kQ5_1, KernelType::kQ8_1}, {KernelType::kQ8_0, KernelType::kQ8_0},
      {KernelType::kQ2_K, KernelType::kQ8_K}, {KernelType::kQ3_K, KernelType::kQ8_K},
      {KernelType::kQ4_K, KernelType::kQ8_K}, {KernelType::kQ5_K, KernelType::kQ8_K},
      {KernelType::kQ6_K, KernelType::kQ8_K},
  };
  for (const auto& pair : pairs) {
    const KernelTraits& traits = type_traits(pair.weight);
    EXPECT_EQ(traits.vec_dot_type, pair.activation) << traits.name;
    EXPECT_NE(traits.vec_dot, nullptr) << traits.name;
  }
}

TEST(KernelTableTest, RowBytes) {
  EXPECT_EQ(row_bytes(type_traits(KernelType::kF32), 10), 40u);
  EXPECT_EQ(row_bytes(type_traits(KernelType::kQ4_0), 4096), 128u * 18u);
  EXPECT_EQ(row_bytes(type_traits(KernelType::kQ6_K), 4096), 16u * 210u);
  EXPECT_EQ(row_bytes(type_traits(KernelType::kQ8_K), 0), 0u);
}

TEST(KernelTableDeathTest, BadRowLengthIsAProgrammerError) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH((void)row_bytes(type_traits(KernelType::kQ4_K), 100), "multiple of the block size");
  const std::vector<float> x(48, 1.0f);
  std::vector<uint64_t> out(16);
  EXPECT_DEATH(type_traits(KernelType::kQ8_0).quantize_row(x.data(), out.data(), 48),
               "multiple of the block size");
}

// Prints each type's measured round-trip error (relative RMS over Gaussian rows) and checks
// the ordering one expects from the bit widths.
TEST(KernelTableTest, RoundTripErrorsOrderByBits) {
  double error[kKernelTypeIdLimit] = {};
  for (KernelType type : kAllTypes) {
    const auto id = static_cast<uint32_t>(type);
    error[id] = testing::mean_round_trip_error(type, 1024, 8);
    std::printf("  %-5s round-trip relative RMS error %.5f\n", type_traits(type).name, error[id]);
  }
  auto e = [&](KernelType type) { return error[static_cast<uint32_t>(type)]; };
  EXPECT_EQ(e(KernelType::kF32), 0.0);
  EXPECT_LT(e(KernelType::kF16), e(KernelType::kBF16));
  EXPECT_LT(e(KernelType::kBF16), e(KernelType::kQ8_0));
  EXPECT_LT(e(KernelType::kQ6_K), e(KernelType::kQ5_K));
  EXPECT_LT(e(KernelType::kQ5_K), e(KernelType::kQ4_K));
  EXPECT_LT(e(KernelType::kQ4_K), e(KernelType::kQ3_K));
  EXPECT_LT(e(KernelType::kQ3_K), e(KernelType::kQ2_K));
  EXPECT_LT(e(KernelType::kQ5_1), e(KernelType::kQ4_1));
  EXPECT_LT(e(KernelType::kQ5_0), e(KernelType::kQ4_0));
}

}  // namespace
}  // namespace rbee::engine::kernels
