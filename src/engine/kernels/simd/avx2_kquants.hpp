#pragma once

// Helpers of the K-quant kernels (simd/avx2_kquants.cpp and the AVX-512 VNNI ones that give
// its bits, avx512_vnni_kquants.cpp only): unpacking a Q4_K or Q5_K super-block's scales,
// minimums and values, and its float terms, and a Q6_K super-block's values. As in avx2_common.hpp,
// every function has the AVX2 target and internal linkage.

#if defined(__x86_64__)

#include <cstddef>
#include <cstring>
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

// Adds a super-block's float terms to `sum`, given its integer sums against activation block
// a, in the scalar kernel's operations and order (q4_k.cpp, q5_k.cpp): every path, the
// interleaved Q4_Kx8 kernels included, then gives that kernel's bits.
RBEE_AVX2 static inline void finish_k4(__m256i sums, const ScaleMinK4& w, const BlockQ8_K& a,
                                       float& sum) {
  // Both integer totals at once: [sums, minimum terms, sums, minimum terms] after the adds.
  const __m256i pairs = _mm256_hadd_epi32(sums, scaled_bsums(a, w.mins_twice));
  __m128i totals = _mm_add_epi32(_mm256_castsi256_si128(pairs), _mm256_extracti128_si256(pairs, 1));
  totals = _mm_hadd_epi32(totals, totals);
  const float d = _mm_cvtss_f32(w.d_dmin) * a.d;
  const float dmin = _mm_cvtss_f32(_mm_movehdup_ps(w.d_dmin)) * a.d;
  sum += d * static_cast<float>(_mm_cvtsi128_si32(totals)) -
         dmin * static_cast<float>(_mm_extract_epi32(totals, 1));
}

// Super-block b of a Q4_Kx8 group (q4_k.hpp) as every activation uses it: row r in 32-bit
// lane r of each register.
struct ScalesMinsKx8 {
  __m256i scales[2];     // bytes 0..3 of lane r: scales 4i .. 4i + 3 of row r, in scales[i]
  __m256i min_words[4];  // int16 pairs of row r's minimums: (0, 2), (1, 3), (4, 6), (5, 7)
  __m256 d;              // d of row r
  __m256 dmin;           // dmin of row r
};

// scales_mins_k4's unpacking, on the words of eight rows at once.
RBEE_AVX2 static inline ScalesMinsKx8 scales_mins_kx8(const BlockQ4_Kx8& x) {
  const __m256i w0 = load256(x.scales[0]);
  const __m256i w1 = load256(x.scales[1]);
  const __m256i w2 = load256(x.scales[2]);
  const __m256i tops_0 = _mm256_and_si256(_mm256_srli_epi32(w0, 2), _mm256_set1_epi8(0x30));
  const __m256i tops_1 = _mm256_and_si256(_mm256_srli_epi32(w1, 2), _mm256_set1_epi8(0x30));
  const __m256i mins_low = low_bits(w1, 0x3f);
  const __m256i mins_high = _mm256_or_si256(low_bits(_mm256_srli_epi32(w2, 4), 0x0f), tops_1);
  const __m256i even_bytes = _mm256_set1_epi16(0x00ff);
  return {{low_bits(w0, 0x3f), _mm256_or_si256(low_bits(w2, 0x0f), tops_0)},
          {_mm256_and_si256(mins_low, even_bytes), _mm256_srli_epi16(mins_low, 8),
           _mm256_and_si256(mins_high, even_bytes), _mm256_srli_epi16(mins_high, 8)},
          _mm256_cvtph_ps(load128(x.d)),
          _mm256_cvtph_ps(load128(x.dmin))};
}

// Group g's scale of each row, as int32 (kWords false) or twice as int16 (kWords true).
template <int g, bool kWords>
RBEE_AVX2 static inline __m256i group_scale_kx8(const ScalesMinsKx8& w) {
  constexpr int i = g % 4;
  const auto lane = [](int at) {
    return static_cast<int>(kWords ? (0x80008000u | (at + i) << 16 | (at + i))
                                   : (0x80808000u | (at + i)));
  };
  const __m256i pick =
      _mm256_setr_epi32(lane(0), lane(4), lane(8), lane(12), lane(0), lane(4), lane(8), lane(12));
  return _mm256_shuffle_epi8(w.scales[g / 4], pick);
}

// Per row: the sum over groups g of minimum m[g] times activation a's sum over group g
// (bsums 2g and 2g + 1).
RBEE_AVX2 static inline __m256i minimum_terms_kx8(const ScalesMinsKx8& w, const BlockQ8_K& a) {
  const __m256i group_sums = _mm256_madd_epi16(load256(a.bsums), _mm256_set1_epi16(1));
  // int16 (|sum| <= 32 * 128): the pairs (0, 2), (1, 3), (4, 6), (5, 7) in words 0..3.
  const __m128i packed =
      _mm_packs_epi32(_mm256_castsi256_si128(group_sums), _mm256_extracti128_si256(group_sums, 1));
  const __m256i pairs = _mm256_broadcastsi128_si256(_mm_shuffle_epi8(
      packed, _mm_setr_epi8(0, 1, 4, 5, 2, 3, 6, 7, 8, 9, 12, 13, 10, 11, 14, 15)));
  const __m256i t0 = _mm256_madd_epi16(w.min_words[0], _mm256_shuffle_epi32(pairs, 0x00));
  const __m256i t1 = _mm256_madd_epi16(w.min_words[1], _mm256_shuffle_epi32(pairs, 0x55));
  const __m256i t2 = _mm256_madd_epi16(w.min_words[2], _mm256_shuffle_epi32(pairs, 0xaa));
  const __m256i t3 = _mm256_madd_epi16(w.min_words[3], _mm256_shuffle_epi32(pairs, 0xff));
  return _mm256_add_epi32(_mm256_add_epi32(t0, t1), _mm256_add_epi32(t2, t3));
}

// acc plus each row's float terms of a super-block, as finish_k4 (the scalar kernel's
// operations) given the integer sums against activation block a.
RBEE_AVX2 static inline __m256 finish_kx8(__m256i sums, const ScalesMinsKx8& w, const BlockQ8_K& a,
                                          __m256 acc) {
  const __m256 a_d = _mm256_set1_ps(a.d);
  const __m256 terms = _mm256_mul_ps(_mm256_mul_ps(w.d, a_d), _mm256_cvtepi32_ps(sums));
  const __m256 min_terms =
      _mm256_mul_ps(_mm256_mul_ps(w.dmin, a_d), _mm256_cvtepi32_ps(minimum_terms_kx8(w, a)));
  return _mm256_add_ps(acc, _mm256_sub_ps(terms, min_terms));
}

// How many Q4_Kx8 super-blocks (1152 bytes each) ahead of the one in use a decode reads its
// group of rows into L1 with software prefetches. On a 2-core Zen 4 VM the hardware
// prefetchers alone left the single-activation kernel at 36.0 ns a row from memory (2048
// columns, one thread); 4, 8 and 16 blocks ahead gave 30.3-31.2, 29.0-29.2 and 30.1-30.3.
// Batches need none: their panels are read from L2.
inline constexpr int64_t kQ4_Kx8PrefetchBlocks = 8;

// The four activation bytes at p in every 32-bit lane.
RBEE_AVX2 static inline __m256i broadcast_4_bytes(const int8_t* p) {
  int32_t word;
  std::memcpy(&word, p, sizeof(word));
  return _mm256_set1_epi32(word);
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
