// AVX2 kernels of the 32-value block types: Q4_1, Q5_0 and Q5_1 dots, and the Q8_0 and Q8_1
// activation quantizers (Q4_0 and Q8_0 have their own files). See avx2.hpp.
//
// Each dot forms one block's integer sum exactly (in 8 int32 lanes), scales it by the
// product of the two block scales in float and accumulates with FMA; blocks of an offset
// type (Q4_1, Q5_1) add m_x * s_y as the scalar kernels do.

#include "engine/kernels/simd/avx2.hpp"

#if defined(__x86_64__)

#include "engine/kernels/float16.hpp"
#include "engine/kernels/q4_1.hpp"
#include "engine/kernels/q5_0.hpp"
#include "engine/kernels/q5_1.hpp"
#include "engine/kernels/q8_0.hpp"
#include "engine/kernels/quant_common.hpp"
#include "engine/kernels/simd/avx2_common.hpp"

namespace rbee::engine::kernels::simd {
namespace {

// The 32 values of a block as bytes, in element order.
RBEE_AVX2 inline __m256i values(const BlockQ4_1& b) {  // q, in [0, 15]
  return nibbles_32(b.qs);
}
RBEE_AVX2 inline __m256i values(const BlockQ5_0& b) {  // q - 16, in [-16, 15]
  const __m256i high = _mm256_andnot_si256(expand_bits_32(b.qh), _mm256_set1_epi8(0x10));
  return _mm256_sub_epi8(nibbles_32(b.qs), high);
}
RBEE_AVX2 inline __m256i values(const BlockQ5_1& b) {  // q, in [0, 31]
  const __m256i high = _mm256_and_si256(expand_bits_32(b.qh), _mm256_set1_epi8(0x10));
  return _mm256_or_si256(nibbles_32(b.qs), high);
}

// One block's term: (int dot of the block) * d_x * d_y in 8 lanes, added to acc; offset
// types (Q4_1, Q5_1) add m_x * s_y to *offsets.
template <bool kSigned, bool kOffset, typename Block, typename Activation>
RBEE_AVX2 inline __m256 add_block(const Block& x, const Activation& y, __m256 acc, float* offsets) {
  const __m256i a = load256(y.qs);
  const __m256i sums = kSigned ? dot_i8_i8(values(x), a) : dot_u8_i8(values(x), a);
  if constexpr (kOffset) *offsets += f16(x.m) * f16(y.s);
  return _mm256_fmadd_ps(_mm256_cvtepi32_ps(sums), _mm256_set1_ps(f16(x.d) * f16(y.d)), acc);
}

// Sum over blocks of (int dot of block b) * d_x * d_y (+ m_x * s_y for offset types).
// Two accumulators in registers, so that consecutive blocks' FMAs do not wait on each other.
template <typename Block, typename Activation, bool kSigned, bool kOffset>
RBEE_AVX2 inline float dot_blocks(const void* vx, const void* vy, int64_t n) {
  const auto* __restrict x = static_cast<const Block*>(vx);
  const auto* __restrict y = static_cast<const Activation*>(vy);
  const int64_t nb = detail::n_blocks(n, 32);
  __m256 acc0 = _mm256_setzero_ps();
  __m256 acc1 = _mm256_setzero_ps();
  float offsets = 0.0f;
  int64_t b = 0;
  for (; b + 2 <= nb; b += 2) {
    acc0 = add_block<kSigned, kOffset>(x[b], y[b], acc0, &offsets);
    acc1 = add_block<kSigned, kOffset>(x[b + 1], y[b + 1], acc1, &offsets);
  }
  if (b < nb) acc0 = add_block<kSigned, kOffset>(x[b], y[b], acc0, &offsets);
  return hsum(_mm256_add_ps(acc0, acc1)) + offsets;
}

// Quantizes 32 floats as quantize_block_8bit in q8_0.cpp: q = round-half-even(x * 127 /
// amax), clamped to [-127, 127]; returns d = amax / 127, writes the 32 values to q and
// returns them in *bytes too.
// _mm256_cvtps_epi32 rounds to nearest even (the default MXCSR mode), as nearest_int does;
// the two differ only for NaN or infinite input.
RBEE_AVX2 inline float quantize_block_8bit(const float* __restrict x, int8_t* __restrict q,
                                           __m256i* bytes) {
  __m256 v[4];
  __m256 amax = _mm256_setzero_ps();
  for (int k = 0; k < 4; ++k) {
    v[k] = _mm256_loadu_ps(x + 8 * k);
    amax = _mm256_max_ps(amax, abs_ps(v[k]));
  }
  const float max = hmax(amax);
  const __m256 inverse = _mm256_set1_ps(max != 0.0f ? 127.0f / max : 0.0f);
  __m256i i32[4];
  for (int k = 0; k < 4; ++k) i32[k] = _mm256_cvtps_epi32(_mm256_mul_ps(v[k], inverse));
  *bytes = _mm256_max_epi8(pack_i32_to_i8(i32[0], i32[1], i32[2], i32[3]), _mm256_set1_epi8(-127));
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(q), *bytes);
  return max / 127.0f;
}

}  // namespace

RBEE_AVX2 float vec_dot_q4_1_q8_1_avx2(const void* __restrict x, const void* __restrict y,
                                       int64_t n) {
  return dot_blocks<BlockQ4_1, BlockQ8_1, false, true>(x, y, n);
}

RBEE_AVX2 float vec_dot_q5_0_q8_0_avx2(const void* __restrict x, const void* __restrict y,
                                       int64_t n) {
  return dot_blocks<BlockQ5_0, BlockQ8_0, true, false>(x, y, n);
}

RBEE_AVX2 float vec_dot_q5_1_q8_1_avx2(const void* __restrict x, const void* __restrict y,
                                       int64_t n) {
  return dot_blocks<BlockQ5_1, BlockQ8_1, false, true>(x, y, n);
}

RBEE_AVX2 void quantize_row_q8_0_avx2(const float* __restrict x, void* __restrict vy, int64_t n) {
  auto* y = static_cast<BlockQ8_0*>(vy);
  const int64_t nb = detail::n_blocks(n, kQK8_0);
  for (int64_t b = 0; b < nb; ++b) {
    __m256i bytes;
    y[b].d = fp32_to_fp16(quantize_block_8bit(x + b * kQK8_0, y[b].qs, &bytes));
  }
}

RBEE_AVX2 void quantize_row_q8_1_avx2(const float* __restrict x, void* __restrict vy, int64_t n) {
  auto* y = static_cast<BlockQ8_1*>(vy);
  const int64_t nb = detail::n_blocks(n, kQK8_1);
  for (int64_t b = 0; b < nb; ++b) {
    __m256i bytes;
    const float d = quantize_block_8bit(x + b * kQK8_1, y[b].qs, &bytes);
    const int32_t sum = hsum_i32(dot_u8_i8(_mm256_set1_epi8(1), bytes));
    y[b].d = fp32_to_fp16(d);
    y[b].s = fp32_to_fp16(d * static_cast<float>(sum));
  }
}

}  // namespace rbee::engine::kernels::simd

#endif  // __x86_64__
