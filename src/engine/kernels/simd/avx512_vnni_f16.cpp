// The F16 matrix-matrix path on AVX-512 CPUs (see avx512_vnni.hpp). Nothing here needs
// VNNI: what AVX-512VL brings is 32 vector registers (ymm16 .. ymm31 under the EVEX
// encoding) for the same 256-bit FMAs.
//
// Every (row, activation) pair keeps avx2_float.cpp's arithmetic exactly (four 8-lane FMA
// chains over 32-element steps, 8-element steps on the first, the horizontal sum of (c0 +
// c1) + (c2 + c3), then the scalar tail), so each result is vec_dot_f16_avx2's bits; only
// the tile is bigger. Four chains per pair make the accumulators the register budget: with
// 16 registers the AVX2 tile is 1 row x 3 activations, 4 loads (a weight vector and three
// activation vectors) per 3 FMAs, bound by Zen 4's two vector loads a cycle at 1.5 of the 2
// FMAs a cycle it can issue. Here a tile is 3 rows x 2 activations: 24 accumulators, three
// weight vectors and an activation vector take 28 of the 32 registers, and 5 loads feed 6
// FMAs, so the FMA pipes become the bound: about 47 multiply-adds per ns on one Zen 4 core
// where AVX2's tile does 27 (2048 columns, weights in cache). 2 x 3 (the same loads per
// FMA) measured 39, and 1 x 4 or 1 x 6 slower than AVX2's 1 x 3: an activation widened to
// float is 8 KiB at 2048 columns, so a tile's activations should stay few to stay in L1.
// Software prefetch of the rows gained nothing from memory and lost up to a third in cache.
//
// The prepared activation is the AVX2 kernel's (the F16 row, then the values widened to
// float), from the same functions.

#include "engine/kernels/simd/avx512_vnni.hpp"

#if defined(__x86_64__)

#include "engine/kernels/float16.hpp"
#include "engine/kernels/simd/avx2.hpp"
#include "engine/kernels/simd/avx2_tiles.hpp"
#include "engine/kernels/simd/avx512_vnni_common.hpp"

namespace rbee::engine::kernels::simd {
namespace {

// The float values of a prepared activation (see prepare_f16_avx2).
const float* widened(const std::byte* activation, int64_t n) {
  return reinterpret_cast<const float*>(activation + extension_offset(static_cast<size_t>(n) * 2));
}

// kRows weight rows by kActs activations, each pair with avx2_float.cpp's arithmetic (its
// tile_f16 and dot_float): each weight vector converted once for the kActs activations, each
// activation vector loaded once for the kRows rows.
template <int kRows, int kActs>
RBEE_AVX512_VNNI inline void tile_f16(const TileArgs& t, int64_t n) {
  const uint16_t* w[kRows];
  for (int r = 0; r < kRows; ++r) {
    w[r] = reinterpret_cast<const uint16_t*>(t.rows + static_cast<size_t>(r) * t.row_stride);
  }
  const float* a[kActs];
  for (int j = 0; j < kActs; ++j) a[j] = widened(t.acts + static_cast<size_t>(j) * t.act_stride, n);
  __m256 acc[kRows][kActs][4];
  for (auto& row : acc) {
    for (auto& chains : row) {
      for (__m256& chain : chains) chain = _mm256_setzero_ps();
    }
  }
  int64_t i = 0;
  for (; i + 32 <= n; i += 32) {
#pragma GCC unroll 4
    for (int k = 0; k < 4; ++k) {
      __m256 wv[kRows];
      for (int r = 0; r < kRows; ++r) wv[r] = _mm256_cvtph_ps(load128(w[r] + i + 8 * k));
      for (int j = 0; j < kActs; ++j) {
        __m256 av = _mm256_loadu_ps(a[j] + i + 8 * k);
        // Loaded once for all the rows (GCC would fold the load into each row's FMA).
        if constexpr (kRows > 1) asm("" : "+v"(av));
        for (int r = 0; r < kRows; ++r) acc[r][j][k] = _mm256_fmadd_ps(wv[r], av, acc[r][j][k]);
      }
    }
  }
  for (; i + 8 <= n; i += 8) {
    __m256 wv[kRows];
    for (int r = 0; r < kRows; ++r) wv[r] = _mm256_cvtph_ps(load128(w[r] + i));
    for (int j = 0; j < kActs; ++j) {
      const __m256 av = _mm256_loadu_ps(a[j] + i);
      for (int r = 0; r < kRows; ++r) acc[r][j][0] = _mm256_fmadd_ps(wv[r], av, acc[r][j][0]);
    }
  }
  for (int r = 0; r < kRows; ++r) {
    for (int j = 0; j < kActs; ++j) {
      const __m256(&c)[4] = acc[r][j];
      float sum = hsum(_mm256_add_ps(_mm256_add_ps(c[0], c[1]), _mm256_add_ps(c[2], c[3])));
      for (int64_t tail = i; tail < n; ++tail) sum += fp16_to_fp32(w[r][tail]) * a[j][tail];
      t.out[static_cast<size_t>(j) * t.out_stride + static_cast<size_t>(r) * t.out_row_step] = sum;
    }
  }
}

RBEE_AVX512_VNNI void dot_rows_multi_f16(const void* __restrict x, size_t row_stride,
                                         const void* __restrict activations,
                                         size_t activation_stride, int64_t n_act,
                                         float* __restrict out, size_t out_stride, int64_t n_rows,
                                         int64_t n) {
  // One or two activations are bound by memory, not arithmetic, and streaming one row at a
  // time (AVX2's tiles) measured faster from memory than three rows at a time (23 against 15
  // multiply-adds per ns for two activations on Zen 4); the bits are the same.
  if (n_act < 3) {
    return kMatvecF16Avx2.dot_rows_multi(x, row_stride, activations, activation_stride, n_act, out,
                                         out_stride, n_rows, n);
  }
  for_each_tile<3, 2>(x, row_stride, activations, activation_stride, n_act, out, out_stride, n_rows,
                      [n]<int kRows, int kActs>(const TileArgs& t)
                          RBEE_AVX512_VNNI { tile_f16<kRows, kActs>(t, n); });
}

// A single activation (decoding) is bound by memory: AVX2's one-row stream is the fastest.
void dot_rows_f16(const void* __restrict x, size_t row_stride, const void* __restrict activation,
                  float* __restrict out, int64_t n_rows, int64_t n) {
  kMatvecF16Avx2.dot_rows(x, row_stride, activation, out, n_rows, n);
}

}  // namespace

const MatvecKernel kMatvecF16Avx512Vnni = {activation_bytes_f16_avx2, prepare_f16_avx2,
                                           dot_rows_f16, dot_rows_multi_f16};

}  // namespace rbee::engine::kernels::simd

#endif  // __x86_64__
