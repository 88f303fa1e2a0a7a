#include "engine/kernels/attention.hpp"

#include <gtest/gtest.h>

#include <cmath>

#include "engine/kernels/kernel_table.hpp"
#include "engine/kernels/kernel_test_util.hpp"

namespace rbee::engine::kernels {
namespace {

// The scores of the active kernels (AVX2 where the CPU has it) against the reference table's
// vec_dot per key, for head sizes with and without a tail of 8 and counts past the unrolling.
TEST(AttentionKernelTest, ScoresMatchTheReferenceDots) {
  for (KernelType type : {KernelType::kF16, KernelType::kF32}) {
    const KernelTraits& reference = KernelTable::reference().at(type);
    const size_t element = type == KernelType::kF16 ? 2 : 4;
    for (int64_t head_dim : {8, 12, 64, 128}) {
      for (int64_t n_kv : {1, 3, 4, 7, 33}) {
        const int64_t stride = head_dim * 3;  // three heads side by side
        const std::vector<float> keys_f = testing::random_row(stride * n_kv, 5);
        const std::vector<float> q_f = testing::random_row(head_dim, 6);
        std::vector<std::byte> keys(size_t(stride * n_kv) * element);
        std::vector<std::byte> q(size_t(head_dim) * element);
        reference.quantize_row(keys_f.data(), keys.data(), stride * n_kv);
        reference.quantize_row(q_f.data(), q.data(), head_dim);
        // Head 1 of 3: keys start head_dim elements in.
        const std::byte* head_keys = keys.data() + size_t(head_dim) * element;
        std::vector<float> scores(size_t(n_kv), -1.0f);
        attention_scores(type, head_keys, stride, q.data(), head_dim, n_kv, 0.125f, scores.data());
        for (int64_t t = 0; t < n_kv; ++t) {
          const float expected =
              reference.vec_dot(head_keys + size_t(t * stride) * element, q.data(), head_dim) *
              0.125f;
          EXPECT_NEAR(scores[size_t(t)], expected, 1e-5f * std::sqrt(float(head_dim)))
              << reference.name << " head_dim " << head_dim << " t " << t;
        }
      }
    }
  }
}

// The weighted sum of values gives each dimension the active table's vec_dot of its row with
// the rounded weights, bit for bit (the results of the per-dimension loop it replaces), for
// context lengths on and off the SIMD steps. Rows are laid out as in a transposed V cache
// with room for more positions than are used.
TEST(AttentionKernelTest, ValuesAreTheVecDotsOfEachDimension) {
  for (KernelType type : {KernelType::kF16, KernelType::kF32}) {
    const KernelTraits& traits = type_traits(type);
    const size_t element = type == KernelType::kF16 ? 2 : 4;
    constexpr int64_t kHeadDim = 64;
    constexpr int64_t kCtx = 200;
    const std::vector<float> values_f = testing::random_row(kHeadDim * kCtx, 7);
    std::vector<std::byte> values(size_t(kHeadDim * kCtx) * element);
    traits.quantize_row(values_f.data(), values.data(), kHeadDim * kCtx);
    for (int64_t n_kv : {1, 7, 8, 31, 32, 33, 100, 200}) {
      const std::vector<float> weights = testing::random_row(n_kv, 8 + uint32_t(n_kv));
      std::vector<std::byte> scratch(attention_values_scratch_bytes(type, n_kv));
      std::vector<float> out(kHeadDim + 1, -3.0f);
      attention_values(type, values.data(), kCtx, weights.data(), n_kv, kHeadDim, scratch,
                       out.data());
      std::vector<std::byte> rounded(row_bytes(traits, n_kv));
      traits.quantize_row(weights.data(), rounded.data(), n_kv);
      for (int64_t d = 0; d < kHeadDim; ++d) {
        const float expected =
            traits.vec_dot(values.data() + size_t(d * kCtx) * element, rounded.data(), n_kv);
        ASSERT_EQ(out[size_t(d)], expected) << traits.name << " n_kv " << n_kv << " d " << d;
      }
      EXPECT_EQ(out[kHeadDim], -3.0f) << "wrote past head_dim";
    }
  }
}

TEST(AttentionKernelTest, ExpShiftedIsExpWithADoubleSum) {
  std::vector<float> x;
  for (int i = 0; i < 203; ++i) x.push_back(-100.0f + float(i) * 0.5f);  // into underflow
  x.push_back(3.0f);
  const std::vector<float> original = x;
  const double total = exp_shifted(x.data(), int64_t(x.size()), 3.0f);
  double expected_total = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    const float expected = std::exp(original[i] - 3.0f);
    expected_total += expected;
    EXPECT_NEAR(x[i], expected, 4e-7f * expected + 1e-38f) << "x = " << original[i];
    EXPECT_GE(x[i], 0.0f);
  }
  EXPECT_EQ(x.back(), 1.0f);  // the maximum gives exactly 1
  EXPECT_NEAR(total, expected_total, 1e-6 * expected_total);
}

}  // namespace
}  // namespace rbee::engine::kernels
