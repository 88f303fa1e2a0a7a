// The AVX2 Q8_0 x Q8_0 dot, and the Q8_0 matrix-vector and matrix-matrix paths with a
// prepared activation (the Q8_0 row, then its block scales as floats). See avx2.hpp.
//
// Per block: the int8 dot in 8 int32 lanes (signs moved onto the activation so that the
// products are unsigned x signed), exact; then times d_x * d_a in float, into one
// accumulator per (row, activation). The single-row dot converts the activation scales
// itself; the arithmetic (add_block) is the same on every path, so a row's result is the
// same bits on each. The matrix paths take a row's block (its magnitudes and scale) once
// for several activations, and several rows' chains side by side.

#include "engine/kernels/simd/avx2.hpp"

#if defined(__x86_64__)

#include "engine/kernels/float16.hpp"
#include "engine/kernels/q8_0.hpp"
#include "engine/kernels/quant_common.hpp"
#include "engine/kernels/simd/avx2_common.hpp"
#include "engine/kernels/simd/avx2_tiles.hpp"

namespace rbee::engine::kernels::simd {
namespace {

// A block of a weight row as every activation uses it.
struct RowBlock {
  __m256i values;
  __m256i magnitudes;
  __m256 d;
};

RBEE_AVX2 inline RowBlock row_block(const BlockQ8_0& x) {
  const __m256i values = load256(x.qs);
  return {values, _mm256_sign_epi8(values, values), _mm256_set1_ps(f16(x.d))};
}

// acc + (the block's int32 sums) * d_x * d_a.
RBEE_AVX2 inline __m256 add_block(const RowBlock& w, const int8_t* a_values, __m256 a_d,
                                  __m256 acc) {
  const __m256i sums = _mm256_madd_epi16(
      _mm256_maddubs_epi16(w.magnitudes, _mm256_sign_epi8(load256(a_values), w.values)),
      _mm256_set1_epi16(1));
  return _mm256_fmadd_ps(_mm256_cvtepi32_ps(sums), _mm256_mul_ps(w.d, a_d), acc);
}

size_t scales_offset(int64_t nb) {
  return extension_offset(static_cast<size_t>(nb) * sizeof(BlockQ8_0));
}

const float* prepared_scales(const void* activation, int64_t nb) {
  return reinterpret_cast<const float*>(static_cast<const std::byte*>(activation) +
                                        scales_offset(nb));
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

template <int kRows, int kActs>
RBEE_AVX2 void tile_q8_0(const TileArgs& t, int64_t nb) {
  const BlockQ8_0* x[kRows];
  for (int r = 0; r < kRows; ++r) {
    x[r] = reinterpret_cast<const BlockQ8_0*>(t.rows + static_cast<size_t>(r) * t.row_stride);
  }
  const BlockQ8_0* y[kActs];
  const float* scales[kActs];
  for (int j = 0; j < kActs; ++j) {
    const std::byte* act = t.acts + static_cast<size_t>(j) * t.act_stride;
    y[j] = reinterpret_cast<const BlockQ8_0*>(act);
    scales[j] = prepared_scales(act, nb);
  }
  __m256 acc[kRows][kActs];
  for (auto& row : acc) {
    for (__m256& a : row) a = _mm256_setzero_ps();
  }
  for (int64_t b = 0; b < nb; ++b) {
    RowBlock w[kRows];
#pragma GCC unroll 8
    for (int r = 0; r < kRows; ++r) w[r] = row_block(x[r][b]);
#pragma GCC unroll 16
    for (int j = 0; j < kActs; ++j) {
#pragma GCC unroll 8
      for (int r = 0; r < kRows; ++r)
        acc[r][j] = add_block(w[r], y[j][b].qs, _mm256_broadcast_ss(scales[j] + b), acc[r][j]);
    }
  }
  for (int r = 0; r < kRows; ++r) {
    for (int j = 0; j < kActs; ++j)
      t.out[static_cast<size_t>(j) * t.out_stride + static_cast<size_t>(r) * t.out_row_step] =
          hsum(acc[r][j]);
  }
}

RBEE_AVX2 void dot_rows_multi_q8_0(const void* __restrict x, size_t row_stride,
                                   const void* __restrict activations, size_t activation_stride,
                                   int64_t n_act, float* __restrict out, size_t out_stride,
                                   int64_t n_rows, int64_t n) {
  const int64_t nb = detail::n_blocks(n, kQK8_0);
  const auto tile = [nb]<int kRows, int kActs>(const TileArgs& t)
                        RBEE_AVX2 { tile_q8_0<kRows, kActs>(t, nb); };
  // Decoding one or two sequences: tiles of three rows spread over the matrix, as the
  // AVX-512 kernel's (avx512_vnni_q8_0.cpp): a row's blocks form one FMA chain, and three
  // independent chains overlap. One activation, 2048 columns on Zen 4: 62.7 against 70.7 ns a
  // row in cache, 78.6 against 98.0 from memory; two or four rows spread were slower from
  // memory (196.6 and 125.3 ns).
  if (n_act <= 2) {
    for_each_tile<3, 2, TileRows::kSpread>(x, row_stride, activations, activation_stride, n_act,
                                           out, out_stride, n_rows, tile);
    return;
  }
  // One row by eight activations, as for Q4_0 (measured best on Zen 4).
  for_each_tile<1, 8>(x, row_stride, activations, activation_stride, n_act, out, out_stride, n_rows,
                      tile);
}

RBEE_AVX2 void dot_rows_q8_0(const void* __restrict x, size_t row_stride,
                             const void* __restrict activation, float* __restrict out,
                             int64_t n_rows, int64_t n) {
  dot_rows_multi_q8_0(x, row_stride, activation, 0, 1, out, 0, n_rows, n);
}

}  // namespace

const MatvecKernel kMatvecQ8_0Avx2 = {activation_bytes_q8_0, prepare_q8_0, dot_rows_q8_0,
                                      dot_rows_multi_q8_0};

RBEE_AVX2 float vec_dot_q8_0_q8_0_avx2(const void* __restrict vx, const void* __restrict vy,
                                       int64_t n) {
  const int64_t nb = detail::n_blocks(n, kQK8_0);
  const auto* x = static_cast<const BlockQ8_0*>(vx);
  const auto* y = static_cast<const BlockQ8_0*>(vy);
  __m256 acc = _mm256_setzero_ps();
  for (int64_t b = 0; b < nb; ++b) {
    acc = add_block(row_block(x[b]), y[b].qs, _mm256_set1_ps(f16(y[b].d)), acc);
  }
  return hsum(acc);
}

}  // namespace rbee::engine::kernels::simd

#endif  // __x86_64__
