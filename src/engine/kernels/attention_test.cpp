#include "engine/kernels/attention.hpp"

#include <gtest/gtest.h>

#include <cmath>

#include "engine/kernels/kernel_table.hpp"
#include "engine/kernels/kernel_test_util.hpp"

namespace rbee::engine::kernels {
namespace {

size_t element_bytes(KernelType type) {
  return type == KernelType::kF16 ? 2 : 4;
}

// n random values rounded to a cache's type (F16 or F32), as the cache stores them.
std::vector<std::byte> random_cache_row(KernelType type, int64_t n, uint32_t seed) {
  std::vector<std::byte> row(size_t(n) * element_bytes(type));
  type_traits(type).quantize_row(testing::random_row(n, seed).data(), row.data(), n);
  return row;
}

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
        attention_scores(type, head_keys, stride, {q.data(), head_dim, 1}, head_dim, n_kv, 0.125f,
                         scores.data(), n_kv);
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
    const size_t element = element_bytes(type);
    constexpr int64_t kHeadDim = 64;
    constexpr int64_t kCtx = 200;
    const std::vector<std::byte> values = random_cache_row(type, kHeadDim * kCtx, 7);
    for (int64_t n_kv : {1, 7, 8, 31, 32, 33, 100, 200}) {
      const std::vector<float> weights = testing::random_row(n_kv, 8 + uint32_t(n_kv));
      std::vector<std::byte> scratch(attention_values_scratch_bytes(type, n_kv));
      std::vector<float> out(kHeadDim + 1, -3.0f);
      attention_values(type, values.data(), kCtx, {weights.data(), n_kv, 1}, n_kv, kHeadDim,
                       scratch, out.data(), kHeadDim);
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

// The query heads that share a key head go through one call (grouped-query attention): each
// query's scores are bit for bit those it gets alone, for group sizes on and off the kernel's
// pairs of queries and context lengths on and off its blocks of four keys, and no score lands
// outside its row.
TEST(AttentionKernelTest, QueriesSharingKeysGetTheirOwnScoresBits) {
  for (KernelType type : {KernelType::kF16, KernelType::kF32}) {
    const char* name = type_traits(type).name;
    const size_t element = element_bytes(type);
    constexpr int64_t kHeadDim = 64;
    constexpr int64_t kKeyStride = kHeadDim * 2;  // two key heads side by side
    for (int64_t n_queries : {1, 2, 3, 8}) {
      for (int64_t n_kv : {1, 4, 6, 33}) {
        const std::vector<std::byte> keys = random_cache_row(type, kKeyStride * n_kv, 11);
        const std::vector<std::byte> queries = random_cache_row(type, kHeadDim * n_queries, 12);
        const int64_t row = n_kv + 1;  // one spare score per row, which must stay untouched
        std::vector<float> together(size_t(row * n_queries), -7.0f);
        attention_scores(type, keys.data(), kKeyStride, {queries.data(), kHeadDim, n_queries},
                         kHeadDim, n_kv, 0.125f, together.data(), row);
        for (int64_t i = 0; i < n_queries; ++i) {
          std::vector<float> alone(static_cast<size_t>(n_kv));
          attention_scores(type, keys.data(), kKeyStride,
                           {queries.data() + size_t(i * kHeadDim) * element, kHeadDim, 1}, kHeadDim,
                           n_kv, 0.125f, alone.data(), n_kv);
          for (int64_t t = 0; t < n_kv; ++t) {
            ASSERT_EQ(together[size_t(i * row + t)], alone[size_t(t)])
                << name << " queries " << n_queries << " n_kv " << n_kv << " query " << i << " key "
                << t;
          }
          EXPECT_EQ(together[size_t(i * row + n_kv)], -7.0f) << "wrote past row " << i;
        }
      }
    }
  }
}

// The same for the weighted sums of values: each weight row's outputs are those it gets alone
// (on the AVX2 tables the rows go through the F16 matrix path's batch tiles).
TEST(AttentionKernelTest, WeightRowsSharingValuesGetTheirOwnBits) {
  for (KernelType type : {KernelType::kF16, KernelType::kF32}) {
    const char* name = type_traits(type).name;
    constexpr int64_t kHeadDim = 64;
    constexpr int64_t kCtx = 120;
    const std::vector<std::byte> values = random_cache_row(type, kHeadDim * kCtx, 13);
    for (int64_t n_rows : {1, 2, 5, 8}) {
      for (int64_t n_kv : {1, 9, 64, 120}) {
        const std::vector<float> weights = testing::random_row(n_kv * n_rows, 14);
        std::vector<std::byte> scratch(attention_values_scratch_bytes(type, n_kv, n_rows));
        const int64_t out_stride = kHeadDim + 1;  // a spare output per row
        std::vector<float> together(size_t(out_stride * n_rows), -3.0f);
        attention_values(type, values.data(), kCtx, {weights.data(), n_kv, n_rows}, n_kv, kHeadDim,
                         scratch, together.data(), out_stride);
        for (int64_t i = 0; i < n_rows; ++i) {
          std::vector<std::byte> one(attention_values_scratch_bytes(type, n_kv));
          std::vector<float> alone(size_t{kHeadDim});
          attention_values(type, values.data(), kCtx, {weights.data() + i * n_kv, n_kv, 1}, n_kv,
                           kHeadDim, one, alone.data(), kHeadDim);
          for (int64_t d = 0; d < kHeadDim; ++d) {
            ASSERT_EQ(together[size_t(i * out_stride + d)], alone[size_t(d)])
                << name << " rows " << n_rows << " n_kv " << n_kv << " row " << i << " d " << d;
          }
          EXPECT_EQ(together[size_t(i * out_stride + kHeadDim)], -3.0f) << "wrote past row " << i;
        }
      }
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
