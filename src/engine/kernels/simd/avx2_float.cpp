// AVX2/FMA/F16C kernels of the float types: F32, F16 and BF16 dots, and the F16 and BF16
// activation conversions. See avx2.hpp.

#include "engine/kernels/simd/avx2.hpp"

#if defined(__x86_64__)

#include "engine/kernels/float16.hpp"
#include "engine/kernels/simd/avx2_common.hpp"
#include "engine/kernels/simd/avx2_f16_tile.hpp"
#include "engine/kernels/simd/avx2_tiles.hpp"

namespace rbee::engine::kernels::simd {
namespace {

RBEE_AVX2 inline __m256 load_f32(const float* p) {
  return _mm256_loadu_ps(p);
}
RBEE_AVX2 inline __m256 load_f16(const uint16_t* p) {
  return _mm256_cvtph_ps(load128(p));
}
RBEE_AVX2 inline __m256 load_bf16(const uint16_t* p) {
  return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(load128(p)), 16));
}

// Sum of x[i] * y[i] over n elements, each side widened to float by Load (8 at a time) or
// ToFloat (the tail): four independent FMA chains of 8 lanes, then the tail in float.
template <typename T, __m256 (*Load)(const T*), float (*ToFloat)(T)>
RBEE_AVX2 inline float dot_float(const T* __restrict x, const T* __restrict y, int64_t n) {
  __m256 acc[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(),
                   _mm256_setzero_ps()};
  int64_t i = 0;
  for (; i + 32 <= n; i += 32) {
    for (int k = 0; k < 4; ++k) {
      acc[k] = _mm256_fmadd_ps(Load(x + i + 8 * k), Load(y + i + 8 * k), acc[k]);
    }
  }
  for (; i + 8 <= n; i += 8) acc[0] = _mm256_fmadd_ps(Load(x + i), Load(y + i), acc[0]);
  float sum = hsum(_mm256_add_ps(_mm256_add_ps(acc[0], acc[1]), _mm256_add_ps(acc[2], acc[3])));
  for (; i < n; ++i) sum += ToFloat(x[i]) * ToFloat(y[i]);
  return sum;
}

float identity(float v) {
  return v;
}

RBEE_AVX2 void dot_rows_multi_f16(const void* __restrict x, size_t row_stride,
                                  const void* __restrict activations, size_t activation_stride,
                                  int64_t n_act, float* __restrict out, size_t out_stride,
                                  int64_t n_rows, int64_t n) {
  // Five rows by two activations: ten accumulators, two activation vectors and a weight
  // vector (7 loads per 10 FMAs); measured ahead of 4 x 3, 3 x 3, 4 x 2 and 3 x 2 on Zen 4
  // (333 ns per 2048-column row for 8 activations in cache, 4 x 3: 436). The rows spread
  // over the panel (see avx2_tiles.hpp): each streams from memory on its own.
  for_each_tile<5, 2, TileRows::kSpread>(
      x, row_stride, activations, activation_stride, n_act, out, out_stride, n_rows,
      [n]<int kRows, int kActs>(const TileArgs& t) RBEE_AVX2 { tile_f16<kRows, kActs>(t, n); });
}

RBEE_AVX2 void dot_rows_f16(const void* __restrict x, size_t row_stride,
                            const void* __restrict activation, float* __restrict out,
                            int64_t n_rows, int64_t n) {
  dot_rows_multi_f16(x, row_stride, activation, 0, 1, out, 1, n_rows, n);
}

}  // namespace

// The prepared F16 activation (see widened_f16 in avx2_f16_tile.hpp), also
// avx512_vnni_f16.cpp's.
size_t activation_bytes_f16_avx2(int64_t n) {
  return extension_offset(static_cast<size_t>(n) * 2) + static_cast<size_t>(n) * 4;
}

RBEE_AVX2 void prepare_f16_avx2(const float* __restrict x, void* __restrict activation, int64_t n) {
  quantize_row_f16_avx2(x, activation, n);
  const auto* half = static_cast<const uint16_t*>(activation);
  auto* wide = const_cast<float*>(widened_f16(static_cast<const std::byte*>(activation), n));
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) _mm256_storeu_ps(wide + i, load_f16(half + i));
  for (; i < n; ++i) wide[i] = fp16_to_fp32(half[i]);
}

const MatvecKernel kMatvecF16Avx2 = {activation_bytes_f16_avx2, prepare_f16_avx2, dot_rows_f16,
                                     dot_rows_multi_f16};

RBEE_AVX2 float vec_dot_f32_avx2(const void* __restrict x, const void* __restrict y, int64_t n) {
  return dot_float<float, load_f32, identity>(static_cast<const float*>(x),
                                              static_cast<const float*>(y), n);
}

// One FMA chain, as each pair of the matrix tiles (avx2_f16_tile.hpp), whose bits it gives.
RBEE_AVX2 float vec_dot_f16_avx2(const void* __restrict vx, const void* __restrict vy, int64_t n) {
  const auto* x = static_cast<const uint16_t*>(vx);
  const auto* y = static_cast<const uint16_t*>(vy);
  __m256 acc = _mm256_setzero_ps();
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) acc = _mm256_fmadd_ps(load_f16(x + i), load_f16(y + i), acc);
  float sum = hsum(acc);
  for (; i < n; ++i) sum += fp16_to_fp32(x[i]) * fp16_to_fp32(y[i]);
  return sum;
}

RBEE_AVX2 float vec_dot_bf16_avx2(const void* __restrict x, const void* __restrict y, int64_t n) {
  return dot_float<uint16_t, load_bf16, bf16_to_fp32>(static_cast<const uint16_t*>(x),
                                                      static_cast<const uint16_t*>(y), n);
}

RBEE_AVX2 void quantize_row_f16_avx2(const float* __restrict x, void* __restrict vy, int64_t n) {
  auto* y = static_cast<uint16_t*>(vy);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256 v = _mm256_loadu_ps(x + i);
    if (_mm256_movemask_ps(_mm256_cmp_ps(v, v, _CMP_UNORD_Q)) != 0) {
      // A NaN: F16C keeps its payload, fp32_to_fp16 writes the canonical quiet NaN.
      for (int64_t k = i; k < i + 8; ++k) y[k] = fp32_to_fp16(x[k]);
      continue;
    }
    // Round to nearest even, as fp32_to_fp16 (overflow to infinity, subnormals kept).
    const __m128i h = _mm256_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(y + i), h);
  }
  for (; i < n; ++i) y[i] = fp32_to_fp16(x[i]);
}

RBEE_AVX2 void quantize_row_bf16_avx2(const float* __restrict x, void* __restrict vy, int64_t n) {
  auto* y = static_cast<uint16_t*>(vy);
  int64_t i = 0;
  const __m256i one = _mm256_set1_epi32(1);
  const __m256i round = _mm256_set1_epi32(0x7fff);
  for (; i + 16 <= n; i += 16) {
    __m256i halves[2];
    for (int k = 0; k < 2; ++k) {
      const __m256 v = _mm256_loadu_ps(x + i + 8 * k);
      const __m256i bits = _mm256_castps_si256(v);
      // Ties to even: add 0x7fff plus the lowest kept bit, then drop the low 16 bits.
      const __m256i odd = _mm256_and_si256(_mm256_srli_epi32(bits, 16), one);
      __m256i rounded = _mm256_srli_epi32(_mm256_add_epi32(bits, _mm256_add_epi32(round, odd)), 16);
      // A NaN keeps its top bits and is made quiet (as fp32_to_bf16).
      const __m256i nan = _mm256_castps_si256(_mm256_cmp_ps(v, v, _CMP_UNORD_Q));
      const __m256i quiet = _mm256_or_si256(_mm256_srli_epi32(bits, 16), _mm256_set1_epi32(0x40));
      halves[k] = _mm256_blendv_epi8(rounded, quiet, nan);
    }
    // Values are < 2^16, so the unsigned saturating pack is exact; fix its lane order.
    const __m256i packed = _mm256_packus_epi32(halves[0], halves[1]);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(y + i),
                        _mm256_permute4x64_epi64(packed, _MM_SHUFFLE(3, 1, 2, 0)));
  }
  for (; i < n; ++i) y[i] = fp32_to_bf16(x[i]);
}

}  // namespace rbee::engine::kernels::simd

#endif  // __x86_64__
