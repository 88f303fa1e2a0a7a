#pragma once

// Helpers of the K-quant kernels (simd/avx2_kquants.cpp and the AVX-512 VNNI ones that give
// its bits, avx512_vnni_kquants.cpp only): unpacking a Q4_K or Q5_K super-block's scales,
// minimums and values, and its float terms, and a Q6_K super-block's values. As in avx2_common.hpp,
// every function has the AVX2 target and internal linkage.

#if defined(__x86_64__)

#include <cstddef>
#include <type_traits>

#include "engine/kernels/q4_k.hpp"
#include "engine/kernels/q5_k.hpp"
#include "engine/kernels/q6_k.hpp"
#include "engine/kernels/q8_k.hpp"
#include "engine/kernels/quant_common.hpp"
#include "engine/kernels/simd/avx2_common.hpp"

namespace rbee::engine::kernels::simd {

// Bytes of the K-quant kernels' prepared activation: the plain Q8_K row.
static inline size_t activation_bytes_q8_k(int64_t n) {
  return static_cast<size_t>(detail::n_blocks(n, kQK_K)) * sizeof(BlockQ8_K);
}

RBEE_AVX2 static inline __m256i low_bits(__m256i v, int mask) {
  return _mm256_and_si256(v, _mm256_set1_epi8(static_cast<char>(mask)));
}

// 8 int32 whose sum is sum over the 16 groups of scale[g] * bsums[g] (the offset or minimum
// term of the 16-value-group types); `scales` holds 16 int8.
RBEE_AVX2 static inline __m256i scaled_bsums(const BlockQ8_K& a, __m128i scales) {
  return _mm256_madd_epi16(load256(a.bsums), _mm256_cvtepi8_epi16(scales));
}

// The 8 scales (bytes 0..7) and 8 minimums (bytes 8..15) of Q4_K and Q5_K, unpacked as
// detail::unpack_scale_min_k4 does for one group, for all groups at once on 32-bit words
// w0..w2 of the packed bytes. `head` is the block's first 16 bytes, lanes [d and dmin, w0,
// w1, w2]: scales 0..3 are w0 & 0x3f.., minimums 0..3 w1 & 0x3f.., scales 4..7 the low
// nibbles of w2 with the top 2 bits of w0's bytes above them, minimums 4..7 the high nibbles
// of w2 with those of w1.
RBEE_AVX2 static inline __m128i scales_mins_k4(__m128i head) {
  const __m128i words = _mm_shuffle_epi32(head, _MM_SHUFFLE(3, 2, 3, 1));  // w0 w2 w1 w2
  const __m128i low = _mm_and_si128(_mm_srlv_epi32(words, _mm_setr_epi32(0, 0, 0, 4)),
                                    _mm_setr_epi32(0x3f3f3f3f, 0x0f0f0f0f, 0x3f3f3f3f, 0x0f0f0f0f));
  const __m128i tops = _mm_shuffle_epi32(head, _MM_SHUFFLE(2, 2, 1, 1));  // w0 w0 w1 w1
  const __m128i high =
      _mm_and_si128(_mm_srli_epi32(tops, 2), _mm_setr_epi32(0, 0x30303030, 0, 0x30303030));
  return _mm_or_si128(low, high);
}

// A super-block of a Q4_K or Q5_K row as every activation uses it.
struct ScaleMinK4 {
  __m256i scales;      // the 8 scales as int16 in both 128-bit lanes
  __m128i mins_twice;  // minimum m[g] twice per group: groups of 32 span two bsums of 16
  __m128 d_dmin;       // d and dmin as floats (lanes 0 and 1; 2 and 3 unused)
};

template <typename Block>
RBEE_AVX2 static inline ScaleMinK4 scale_min_k4(const Block& x) {
  // One load for d, dmin and the packed scales, neighbours at the block's start.
  static_assert(offsetof(Block, d) == 0 && offsetof(Block, dmin) == 2 &&
                offsetof(Block, scales) == 4 && sizeof(x.scales) == 12);
  const __m128i head = load128(&x);
  const __m128i scales_mins = scales_mins_k4(head);
  return {_mm256_broadcastsi128_si256(_mm_cvtepu8_epi16(scales_mins)),
          _mm_shuffle_epi8(scales_mins, _mm_setr_epi8(8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13,
                                                      14, 14, 15, 15)),
          _mm_cvtph_ps(head)};  // lanes 0 and 1: d and dmin (2 and 3 are scale bytes, unused)
}

// The values of groups 2c (lo) and 2c + 1 (hi) of a Q4_K or Q5_K super-block, unsigned.
template <typename Block>
RBEE_AVX2 static inline void chunk_k4(const Block& x, int c, __m256i& lo, __m256i& hi) {
  const __m256i packed = load256(x.qs + 32 * c);
  lo = low_bits(packed, 0x0f);
  hi = low_bits(_mm256_srli_epi16(packed, 4), 0x0f);
  if constexpr (std::is_same_v<Block, BlockQ5_K>) {
    // Bit 2c of qh[l] is the 5th bit of group 2c's element l, bit 2c + 1 of group 2c + 1's.
    const __m256i high = _mm256_srli_epi16(load256(x.qh), 2 * c);
    lo = _mm256_or_si256(lo, _mm256_slli_epi16(low_bits(high, 0x01), 4));
    hi = _mm256_or_si256(hi, _mm256_slli_epi16(low_bits(high, 0x02), 3));
  }
}

// Adds a super-block's float terms, given its integer sums against activation block a.
RBEE_AVX2 static inline void finish_k4(__m256i sums, const ScaleMinK4& w, const BlockQ8_K& a,
                                       __m256& acc, __m256& acc_min) {
  const __m128 factors = _mm_mul_ps(w.d_dmin, _mm_set1_ps(a.d));
  acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(sums), _mm256_broadcastss_ps(factors), acc);
  acc_min = _mm256_fmadd_ps(_mm256_cvtepi32_ps(scaled_bsums(a, w.mins_twice)),
                            _mm256_broadcastss_ps(_mm_movehdup_ps(factors)), acc_min);
}

// The values of elements 32k .. 32k + 31 of a Q6_K super-block, q + 32 in [0, 63]: low 4 bits
// from ql[64c + 32(k % 2) + l] (low nibble for k % 4 < 2, high for k % 4 >= 2) with c = k / 4,
// high 2 bits from bits 2(k % 4)..2(k % 4)+1 of qh[32c + l].
RBEE_AVX2 static inline __m256i chunk_q6_k(const BlockQ6_K& x, int chunk) {
  const int c = chunk / 4;
  const int k = chunk % 4;
  __m256i low = load256(x.ql + 64 * c + 32 * (k % 2));
  if (k >= 2) low = _mm256_srli_epi16(low, 4);
  __m256i high = load256(x.qh + 32 * c);
  // Bits 2k..2k+1 to bits 4..5: shifts of 16-bit lanes move no masked bit across bytes.
  if (k == 0) high = _mm256_slli_epi16(high, 4);
  if (k == 1) high = _mm256_slli_epi16(high, 2);
  if (k == 3) high = _mm256_srli_epi16(high, 2);
  return _mm256_or_si256(low_bits(low, 0x0f), low_bits(high, 0x30));
}

}  // namespace rbee::engine::kernels::simd

#endif  // __x86_64__
