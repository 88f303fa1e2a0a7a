#pragma once

// Helpers of the AVX-512 VNNI kernels (simd/avx512_vnni_*.cpp only). As in avx2_common.hpp,
// every function here carries the target attribute of the kernels that inline it and has
// internal linkage. The AVX2 helpers inline into these kernels too (a subset target).

#if defined(__x86_64__)

#include <immintrin.h>

#include <cstdint>

#include "engine/kernels/simd/avx2_common.hpp"

#define RBEE_AVX512_VNNI \
  __attribute__((target("avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni")))

namespace rbee::engine::kernels::simd {

// The mask of the first `count` bytes of a 64-byte load (none for count <= 0): a masked
// load reads no byte outside it, so a partial group of blocks never reads past a row.
RBEE_AVX512_VNNI static inline __mmask64 first_bytes(int64_t count) {
  if (count <= 0) return 0;
  if (count >= 64) return ~__mmask64{0};
  return (__mmask64{1} << count) - 1;
}

// Halves and widening of registers as plain vector shuffles: GCC 12's _mm512_cast* and
// _mm512_extract*/insert* intrinsics pass an "undefined" operand that trips
// -Wmaybe-uninitialized; these compile to the same moves and no-ops.
using Int64x8 = long long __attribute__((vector_size(64)));

RBEE_AVX512_VNNI static inline __m256i low_half(__m512i v) {
  return reinterpret_cast<__m256i>(__builtin_shufflevector(Int64x8(v), Int64x8(v), 0, 1, 2, 3));
}

RBEE_AVX512_VNNI static inline __m256i high_half(__m512i v) {
  return reinterpret_cast<__m256i>(__builtin_shufflevector(Int64x8(v), Int64x8(v), 4, 5, 6, 7));
}

RBEE_AVX512_VNNI static inline __m128i low_quarter(__m512i v) {
  return _mm256_castsi256_si128(low_half(v));
}

}  // namespace rbee::engine::kernels::simd

#endif  // __x86_64__
