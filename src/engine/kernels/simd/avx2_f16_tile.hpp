#pragma once

// The F16 matrix tile (simd/avx2_float.cpp and simd/avx512_vnni_f16.cpp only): kRows weight
// rows by kActs prepared activations, one 8-lane FMA chain per (row, activation) pair over
// 8-element steps, the horizontal sum, then the scalar tail. That is vec_dot_f16_avx2's
// arithmetic, so every path gives a pair the same bits.
//
// Why one chain per pair: with several chains per pair (for a single dot's latency), the
// accumulators fill the registers at one row by three activations, and each FMA then needs
// its own activation load; a tile of 4 x 3 shares each activation vector between 4 rows and
// each converted weight vector between 3 activations (7 loads per 12 FMAs, against 16), and
// ran twice as fast on Zen 4 with AVX2's 16 registers. The rows' own chains keep a single
// activation's FMAs independent. Included by the AVX-512 kernel, the same code gets 32
// registers (the callee's target is a subset of the caller's, so it inlines).

#if defined(__x86_64__)

#include <cstddef>
#include <cstdint>

#include "engine/kernels/float16.hpp"
#include "engine/kernels/simd/avx2_common.hpp"
#include "engine/kernels/simd/avx2_tiles.hpp"

namespace rbee::engine::kernels::simd {

// The float values of a prepared F16 activation: the F16 row (what vec_dot reads), then the
// same values widened to float (exactly), so that a product converts only the weights.
static inline const float* widened_f16(const std::byte* activation, int64_t n) {
  return reinterpret_cast<const float*>(activation + extension_offset(static_cast<size_t>(n) * 2));
}

template <int kRows, int kActs>
RBEE_AVX2 static inline __attribute__((always_inline)) void tile_f16(const TileArgs& t, int64_t n) {
  const uint16_t* w[kRows];
  for (int r = 0; r < kRows; ++r) {
    w[r] = reinterpret_cast<const uint16_t*>(t.rows + static_cast<size_t>(r) * t.row_stride);
  }
  const float* a[kActs];
  for (int j = 0; j < kActs; ++j) {
    a[j] = widened_f16(t.acts + static_cast<size_t>(j) * t.act_stride, n);
  }
  __m256 acc[kRows][kActs];
  for (auto& row : acc) {
    for (__m256& chain : row) chain = _mm256_setzero_ps();
  }
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    __m256 av[kActs];
#pragma GCC unroll 8
    for (int j = 0; j < kActs; ++j) av[j] = _mm256_loadu_ps(a[j] + i);
#pragma GCC unroll 8
    for (int r = 0; r < kRows; ++r) {
      const __m256 wv = _mm256_cvtph_ps(load128(w[r] + i));
#pragma GCC unroll 8
      for (int j = 0; j < kActs; ++j) acc[r][j] = _mm256_fmadd_ps(wv, av[j], acc[r][j]);
    }
  }
  for (int r = 0; r < kRows; ++r) {
    for (int j = 0; j < kActs; ++j) {
      float sum = hsum(acc[r][j]);
      for (int64_t tail = i; tail < n; ++tail) sum += fp16_to_fp32(w[r][tail]) * a[j][tail];
      t.out[static_cast<size_t>(j) * t.out_stride + static_cast<size_t>(r) * t.out_row_step] = sum;
    }
  }
}

}  // namespace rbee::engine::kernels::simd

#endif  // __x86_64__
