#include "engine/kernels/attention.hpp"

#include <cmath>
#include <cstddef>

#include "common/check.hpp"
#include "engine/kernels/kernel_table.hpp"
#include "engine/kernels/simd/avx2.hpp"

namespace rbee::engine::kernels {
namespace {

bool use_avx2() {
  static const bool avx2 = &KernelTable::active() != &KernelTable::reference();
  return avx2;
}

}  // namespace

void attention_scores(KernelType type, const void* keys, int64_t key_stride,
                      HeadRows<const void> queries, int64_t head_dim, int64_t n_kv, float scale,
                      float* scores, int64_t scores_stride) {
  RBEE_CHECK(type == KernelType::kF16 || type == KernelType::kF32, "a cache is F16 or F32");
#if defined(__x86_64__)
  if (use_avx2() && head_dim % 8 == 0) {
    simd::attention_scores_avx2(type == KernelType::kF16, keys, key_stride, queries.data,
                                queries.stride, queries.count, head_dim, n_kv, scale, scores,
                                scores_stride);
    return;
  }
#endif
  const KernelTraits& traits = type_traits(type);
  const size_t element = type == KernelType::kF16 ? 2 : 4;
  const auto* key = static_cast<const std::byte*>(keys);
  for (int64_t i = 0; i < queries.count; ++i) {
    const auto* q =
        static_cast<const std::byte*>(queries.data) + size_t(i * queries.stride) * element;
    for (int64_t t = 0; t < n_kv; ++t) {
      scores[i * scores_stride + t] =
          traits.vec_dot(key + size_t(t * key_stride) * element, q, head_dim) * scale;
    }
  }
}

double exp_shifted(float* x, int64_t n, float shift) {
#if defined(__x86_64__)
  if (use_avx2()) return simd::exp_shifted_avx2(x, n, shift);
#endif
  double total = 0;
  for (int64_t i = 0; i < n; ++i) {
    x[i] = std::exp(x[i] - shift);
    total += x[i];
  }
  return total;
}

namespace {

// Bytes of one prepared (or rounded) weight row in attention_values' scratch, a multiple of a
// cache line so that every row starts as aligned as the first.
size_t weight_row_bytes(const KernelTraits& traits, int64_t n_kv) {
  constexpr size_t kCacheLine = 64;
  const size_t bytes =
      traits.matvec != nullptr ? traits.matvec->activation_bytes(n_kv) : row_bytes(traits, n_kv);
  return (bytes + kCacheLine - 1) / kCacheLine * kCacheLine;
}

}  // namespace

size_t attention_values_scratch_bytes(KernelType type, int64_t n_kv, int64_t n_rows) {
  return weight_row_bytes(type_traits(type), n_kv) * size_t(n_rows);
}

void attention_values(KernelType type, const void* values, int64_t value_stride,
                      HeadRows<const float> weights, int64_t n_kv, int64_t head_dim,
                      std::span<std::byte> scratch, float* out, int64_t out_stride) {
  RBEE_CHECK(type == KernelType::kF16 || type == KernelType::kF32, "a cache is F16 or F32");
  RBEE_CHECK(scratch.size() >= attention_values_scratch_bytes(type, n_kv, weights.count),
             "scratch too small");
  const KernelTraits& traits = type_traits(type);
  const size_t stride_bytes = size_t(value_stride) * (type == KernelType::kF16 ? 2 : 4);
  const size_t row_stride = weight_row_bytes(traits, n_kv);
  const auto rounded = [&](int64_t i) { return scratch.data() + size_t(i) * row_stride; };
  const auto weight_row = [&](int64_t i) { return weights.data + i * weights.stride; };
  if (traits.matvec != nullptr) {
    const MatvecKernel& matvec = *traits.matvec;
    for (int64_t i = 0; i < weights.count; ++i) matvec.prepare(weight_row(i), rounded(i), n_kv);
    if (matvec.dot_rows_multi != nullptr) {
      matvec.dot_rows_multi(values, stride_bytes, scratch.data(), row_stride, weights.count, out,
                            size_t(out_stride), head_dim, n_kv);
      return;
    }
    for (int64_t i = 0; i < weights.count; ++i) {
      matvec.dot_rows(values, stride_bytes, rounded(i), out + i * out_stride, head_dim, n_kv);
    }
    return;
  }
  const auto* row = static_cast<const std::byte*>(values);
  for (int64_t i = 0; i < weights.count; ++i) {
    traits.quantize_row(weight_row(i), rounded(i), n_kv);
    for (int64_t d = 0; d < head_dim; ++d) {
      out[i * out_stride + d] = traits.vec_dot(row + size_t(d) * stride_bytes, rounded(i), n_kv);
    }
  }
}

}  // namespace rbee::engine::kernels
