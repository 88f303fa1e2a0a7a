#pragma once

// Helpers of the AVX2 kernels (simd/avx2_*.cpp only). Every function here carries
// RBEE_AVX2, like the kernels that inline it, and has internal linkage, so no AVX2 code
// can end up in a function the scalar build shares (no ODR merging of inline copies).

#if defined(__x86_64__)

#include <immintrin.h>

#include <cstddef>
#include <cstdint>
#include <cstring>

#define RBEE_AVX2 __attribute__((target("avx2,fma,f16c")))

namespace rbee::engine::kernels::simd {

// The float value of an F16 bit pattern (exact, as fp16_to_fp32).
RBEE_AVX2 static inline float f16(uint16_t h) {
  return _cvtsh_ss(h);
}

// The sum of the 4 floats of v.
RBEE_AVX2 static inline float hsum(__m128 v) {
  const __m128 s = _mm_add_ps(v, _mm_movehl_ps(v, v));
  return _mm_cvtss_f32(_mm_add_ss(s, _mm_movehdup_ps(s)));
}

// The sum of the 8 floats of v.
RBEE_AVX2 static inline float hsum(__m256 v) {
  return hsum(_mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1)));
}

// The sum of the 8 int32 of v.
RBEE_AVX2 static inline int32_t hsum_i32(__m256i v) {
  __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, _MM_SHUFFLE(1, 0, 3, 2)));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, _MM_SHUFFLE(2, 3, 0, 1)));
  return _mm_cvtsi128_si32(s);
}

// The largest of the 8 floats of v.
RBEE_AVX2 static inline float hmax(__m256 v) {
  __m128 m = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  m = _mm_max_ps(m, _mm_movehl_ps(m, m));
  m = _mm_max_ss(m, _mm_movehdup_ps(m));
  return _mm_cvtss_f32(m);
}

// |v| lane by lane (clears the sign bits).
RBEE_AVX2 static inline __m256 abs_ps(__m256 v) {
  return _mm256_andnot_ps(_mm256_set1_ps(-0.0f), v);
}

// Prefetches kLines cache lines from p on into L1 (a prefetch never faults: p may lie past
// the end of the data).
template <int kLines>
RBEE_AVX2 static inline void prefetch_lines(const void* p) {
  for (int line = 0; line < kLines; ++line) {
    _mm_prefetch(static_cast<const char*>(p) + 64 * line, _MM_HINT_T0);
  }
}

RBEE_AVX2 static inline __m256i load256(const void* p) {
  return _mm256_loadu_si256(static_cast<const __m256i*>(p));
}

RBEE_AVX2 static inline __m128i load128(const void* p) {
  return _mm_loadu_si128(static_cast<const __m128i*>(p));
}

// 8 int32: sums of 4 neighbouring products u[i] * s[i], u unsigned (0..255), s signed.
// Exact while each pair of products stays within int16 (|u| * |s| * 2 <= 32767).
RBEE_AVX2 static inline __m256i dot_u8_i8(__m256i u, __m256i s) {
  return _mm256_madd_epi16(_mm256_maddubs_epi16(u, s), _mm256_set1_epi16(1));
}

// As dot_u8_i8 with both sides signed: |a| times b with a's sign moved onto b. Exact for
// a in [-128, 127] and b in [-127, 127] (2 * 128 * 127 fits int16).
RBEE_AVX2 static inline __m256i dot_i8_i8(__m256i a, __m256i b) {
  return dot_u8_i8(_mm256_sign_epi8(a, a), _mm256_sign_epi8(b, a));
}

// The 32 4-bit values of a Q4_0/Q4_1/Q5_x block (16 bytes): low nibbles (elements 0..15)
// in bytes 0..15, high nibbles (elements 16..31) in bytes 16..31.
RBEE_AVX2 static inline __m256i nibbles_32(const uint8_t* qs) {
  const __m128i packed = load128(qs);
  const __m256i both = _mm256_set_m128i(_mm_srli_epi16(packed, 4), packed);
  return _mm256_and_si256(both, _mm256_set1_epi8(0x0f));
}

// Byte i is 0xff when bit i of the little-endian 32-bit word at `bits` is set, else 0.
RBEE_AVX2 static inline __m256i expand_bits_32(const uint8_t* bits) {
  uint32_t word = 0;
  std::memcpy(&word, bits, sizeof(word));
  // Byte i takes word byte i / 8, then keeps bit i % 8.
  const __m256i spread = _mm256_shuffle_epi8(
      _mm256_set1_epi32(static_cast<int>(word)),
      _mm256_set_epi64x(0x0303030303030303, 0x0202020202020202, 0x0101010101010101, 0));
  const __m256i bit = _mm256_set1_epi64x(static_cast<int64_t>(0x8040201008040201));
  return _mm256_cmpeq_epi8(_mm256_and_si256(spread, bit), bit);
}

// 16 int16: scale byte `lo` of `scales` eight times, then scale byte `hi` eight times, sign-
// extended: the per-element factors of a 32-value chunk whose halves have scales lo and hi.
RBEE_AVX2 static inline __m256i scale_pair(__m128i scales, int lo, int hi) {
  constexpr int64_t kEvery = 0x0101010101010101;
  const __m128i index = _mm_set_epi64x(kEvery * hi, kEvery * lo);
  return _mm256_cvtepi8_epi16(_mm_shuffle_epi8(scales, index));
}

// 32 int8 from four vectors of 8 int32 (in [-128, 127]), in element order.
RBEE_AVX2 static inline __m256i pack_i32_to_i8(__m256i a, __m256i b, __m256i c, __m256i d) {
  const __m256i ab = _mm256_packs_epi32(a, b);  // a0-3 b0-3 | a4-7 b4-7
  const __m256i cd = _mm256_packs_epi32(c, d);
  const __m256i abcd = _mm256_packs_epi16(ab, cd);  // a0-3 b0-3 c0-3 d0-3 | a4-7 b4-7 ...
  return _mm256_permutevar8x32_epi32(abcd, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
}

// The F16 scales `d` of blocks first .. first + 3 of x as 4 floats, 0 for blocks at or past
// nb: one conversion for four blocks (the halves gathered in a general register).
template <typename Block>
RBEE_AVX2 static inline __m128 block_scales_4(const Block* __restrict x, int64_t first,
                                              int64_t nb) {
  uint64_t bits = 0;
  for (int k = 0; k < 4; ++k) {
    if (first + k < nb) bits |= uint64_t{x[first + k].d} << (16 * k);
  }
  return _mm_cvtph_ps(_mm_cvtsi64_si128(static_cast<int64_t>(bits)));
}

// Where a prepared activation's extension starts: after its `plain_bytes`, 64-byte aligned
// relative to the activation's start.
static inline size_t extension_offset(size_t plain_bytes) {
  return (plain_bytes + 63) / 64 * 64;
}

// out[r] = dot(row r) for the n_rows rows of Block `row_stride` bytes apart from x.
template <typename Block, typename Dot>
RBEE_AVX2 static inline void for_each_row(const void* x, size_t row_stride, int64_t n_rows,
                                          float* __restrict out, Dot dot) {
  const auto* base = static_cast<const std::byte*>(x);
  for (int64_t r = 0; r < n_rows; ++r) {
    out[r] = dot(reinterpret_cast<const Block*>(base + static_cast<size_t>(r) * row_stride));
  }
}

}  // namespace rbee::engine::kernels::simd

#endif  // __x86_64__
