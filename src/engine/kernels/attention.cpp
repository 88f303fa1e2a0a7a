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

void attention_scores(KernelType type, const void* keys, int64_t key_stride, const void* q,
                      int64_t head_dim, int64_t n_kv, float scale, float* scores) {
  RBEE_CHECK(type == KernelType::kF16 || type == KernelType::kF32, "a cache is F16 or F32");
#if defined(__x86_64__)
  if (use_avx2() && head_dim % 8 == 0) {
    simd::attention_scores_avx2(type == KernelType::kF16, keys, key_stride, q, head_dim, n_kv,
                                scale, scores);
    return;
  }
#endif
  const KernelTraits& traits = type_traits(type);
  const size_t stride_bytes = size_t(key_stride) * (type == KernelType::kF16 ? 2 : 4);
  const auto* key = static_cast<const std::byte*>(keys);
  for (int64_t t = 0; t < n_kv; ++t) {
    scores[t] = traits.vec_dot(key + size_t(t) * stride_bytes, q, head_dim) * scale;
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

size_t attention_values_scratch_bytes(KernelType type, int64_t n_kv) {
  const KernelTraits& traits = type_traits(type);
  return traits.matvec != nullptr ? traits.matvec->activation_bytes(n_kv) : row_bytes(traits, n_kv);
}

void attention_values(KernelType type, const void* values, int64_t value_stride,
                      const float* weights, int64_t n_kv, int64_t head_dim,
                      std::span<std::byte> scratch, float* out) {
  RBEE_CHECK(type == KernelType::kF16 || type == KernelType::kF32, "a cache is F16 or F32");
  RBEE_CHECK(scratch.size() >= attention_values_scratch_bytes(type, n_kv), "scratch too small");
  const KernelTraits& traits = type_traits(type);
  const size_t stride_bytes = size_t(value_stride) * (type == KernelType::kF16 ? 2 : 4);
  if (traits.matvec != nullptr) {
    traits.matvec->prepare(weights, scratch.data(), n_kv);
    traits.matvec->dot_rows(values, stride_bytes, scratch.data(), out, head_dim, n_kv);
    return;
  }
  traits.quantize_row(weights, scratch.data(), n_kv);
  const auto* row = static_cast<const std::byte*>(values);
  for (int64_t d = 0; d < head_dim; ++d) {
    out[d] = traits.vec_dot(row + size_t(d) * stride_bytes, scratch.data(), n_kv);
  }
}

}  // namespace rbee::engine::kernels
