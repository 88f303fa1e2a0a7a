#include "engine/kernels/q8_k.hpp"

#include <gtest/gtest.h>

#include "engine/kernels/kernel_test_util.hpp"

namespace rbee::engine::kernels {
namespace {

TEST(KernelQ8_KTest, Traits) {
  testing::expect_traits(KernelType::kQ8_K, "q8_K", 256, 292, KernelType::kQ8_K);
  EXPECT_EQ(type_traits(KernelType::kQ8_K).vec_dot, nullptr);  // activations only
}

TEST(KernelQ8_KTest, LargestMagnitudeMapsToMinus127AndBsumsAddUp) {
  std::vector<float> x = testing::random_row(512, 9);
  x[300] = 10.0f;  // the largest magnitude of block 1, positive: q = -127 * 10 / 10
  BlockQ8_K blocks[2];
  quantize_row_q8_k(x.data(), blocks, 512);
  EXPECT_EQ(blocks[1].qs[300 - 256], -127);
  EXPECT_FLOAT_EQ(blocks[1].d, 1.0f / (-127.0f / 10.0f));
  for (const BlockQ8_K& block : blocks) {
    for (int g = 0; g < 16; ++g) {
      int sum = 0;
      for (int j = 0; j < 16; ++j) sum += block.qs[16 * g + j];
      EXPECT_EQ(block.bsums[g], sum);
    }
  }
}

TEST(KernelQ8_KTest, RoundTripWithinBound) {
  testing::expect_round_trip_within(KernelType::kQ8_K, 0.0095);  // measured ~0.0069
}

}  // namespace
}  // namespace rbee::engine::kernels
