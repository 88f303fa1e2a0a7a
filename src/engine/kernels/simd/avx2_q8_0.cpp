// The AVX2 Q8_0 x Q8_0 dot, and the Q8_0 matrix-vector path with a prepared activation
// (the Q8_0 row, then its block scales as floats). See avx2.hpp.
//
// Per block: the int8 dot in 8 int32 lanes (signs moved onto the activation so that the
// products are unsigned x signed), exact; then times d_x * d_a in float, blocks alternating
// between two accumulators. The weight scales of 4 blocks are converted at once. The
// single-row dot converts the activation scales itself; the arithmetic is the same, so a
// row's result is the same bits on either path.

#include "engine/kernels/simd/avx2.hpp"

#if defined(__x86_64__)

#include "engine/kernels/float16.hpp"
#include "engine/kernels/q8_0.hpp"
#include "engine/kernels/quant_common.hpp"
#include "engine/kernels/simd/avx2_common.hpp"

namespace rbee::engine::kernels::simd {
namespace {

// Adds blocks first .. min(first + 4, nb) - 1 of row x to acc; `a_scales` holds the
// activation scales of those blocks.
RBEE_AVX2 inline void add_4_blocks(const BlockQ8_0* __restrict x, const BlockQ8_0* __restrict y,
                                   int64_t first, int64_t nb, __m128 a_scales, __m256* acc) {
  const __m256 scales = _mm256_castps128_ps256(_mm_mul_ps(block_scales_4(x, first, nb), a_scales));
  for (int k = 0; k < 4 && first + k < nb; ++k) {
    const __m256i sums = dot_i8_i8(load256(x[first + k].qs), load256(y[first + k].qs));
    const __m256 scale = _mm256_permutevar8x32_ps(scales, _mm256_set1_epi32(k));
    acc[k & 1] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(sums), scale, acc[k & 1]);
  }
}

// The dot of row x with the Q8_0 row y, whose scales from block `first` on GetScales(first)
// returns (4 floats).
template <typename GetScales>
RBEE_AVX2 inline float row_dot(const BlockQ8_0* __restrict x, const BlockQ8_0* __restrict y,
                               int64_t nb, GetScales get_scales) {
  __m256 acc[2] = {_mm256_setzero_ps(), _mm256_setzero_ps()};
  for (int64_t first = 0; first < nb; first += 4) {
    add_4_blocks(x, y, first, nb, get_scales(first), acc);
  }
  return hsum(_mm256_add_ps(acc[0], acc[1]));
}

size_t scales_offset(int64_t nb) {
  return extension_offset(static_cast<size_t>(nb) * sizeof(BlockQ8_0));
}

size_t activation_bytes_q8_0(int64_t n) {
  const int64_t nb = detail::n_blocks(n, kQK8_0);
  return scales_offset(nb) + static_cast<size_t>((nb + 3) / 4 * 4) * sizeof(float);
}

RBEE_AVX2 void prepare_q8_0(const float* __restrict x, void* __restrict activation, int64_t n) {
  const int64_t nb = detail::n_blocks(n, kQK8_0);
  quantize_row_q8_0_avx2(x, activation, n);
  const auto* y = static_cast<const BlockQ8_0*>(activation);
  auto* scales = reinterpret_cast<float*>(static_cast<std::byte*>(activation) + scales_offset(nb));
  for (int64_t first = 0; first < nb; first += 4) {
    _mm_storeu_ps(scales + first, block_scales_4(y, first, nb));
  }
}

RBEE_AVX2 void dot_rows_q8_0(const void* __restrict x, size_t row_stride,
                             const void* __restrict activation, float* __restrict out,
                             int64_t n_rows, int64_t n) {
  const int64_t nb = detail::n_blocks(n, kQK8_0);
  const auto* y = static_cast<const BlockQ8_0*>(activation);
  const auto* scales =
      reinterpret_cast<const float*>(static_cast<const std::byte*>(activation) + scales_offset(nb));
  for_each_row<BlockQ8_0>(x, row_stride, n_rows, out, [&](const BlockQ8_0* row) RBEE_AVX2 {
    return row_dot(row, y, nb,
                   [&](int64_t first) RBEE_AVX2 { return _mm_loadu_ps(scales + first); });
  });
}

}  // namespace

const MatvecKernel kMatvecQ8_0Avx2 = {activation_bytes_q8_0, prepare_q8_0, dot_rows_q8_0};

RBEE_AVX2 float vec_dot_q8_0_q8_0_avx2(const void* __restrict vx, const void* __restrict vy,
                                       int64_t n) {
  const int64_t nb = detail::n_blocks(n, kQK8_0);
  const auto* y = static_cast<const BlockQ8_0*>(vy);
  return row_dot(static_cast<const BlockQ8_0*>(vx), y, nb,
                 [&](int64_t first) RBEE_AVX2 { return block_scales_4(y, first, nb); });
}

}  // namespace rbee::engine::kernels::simd

#endif  // __x86_64__
