// The AVX2 Q4_0 x Q8_0 dot, and the Q4_0 matrix-vector path with a prepared activation:
// decoding with Q4_0 weights is mostly this kernel. See avx2.hpp.
//
// Two neighbouring blocks of a row go through one 256-bit register: block b's 16 packed
// bytes in the low 128-bit lane, block b + 1's in the high lane, so one AND and one shift
// unpack 64 values. The activation is laid out to match (a "quad" per 4 blocks: the low and
// high 16 values of each block pair side by side). The nibbles q in [0, 15] are multiplied
// unsigned; the -8 of (q - 8) comes back as 8 * (the activation's sum over the same
// elements), precomputed per quad. Integer sums are exact; then each block's four int32
// lanes are scaled by its d_x * d_a and added with FMA. A row is read front to back in one
// stream, which the hardware prefetchers follow best (rows read side by side, to share the
// activation's loads, measured slower here: many short streams).
//
// The matrix-vector path prepares the quads once per product; the single-row dot builds
// them on the fly from the plain Q8_0 row. Both feed the same arithmetic, so a row's result
// is the same bits either way.

#include "engine/kernels/simd/avx2.hpp"

#if defined(__x86_64__)

#include "engine/kernels/float16.hpp"
#include "engine/kernels/q4_0.hpp"
#include "engine/kernels/q8_0.hpp"
#include "engine/kernels/quant_common.hpp"
#include "engine/kernels/simd/avx2_common.hpp"

namespace rbee::engine::kernels::simd {
namespace {

constexpr int64_t kQuadBlocks = 4;

// The activation of blocks 4q .. 4q + 3 as the kernel reads it (blocks past the row: 0).
struct Quad {
  int8_t lo[2][32];      // pair p: elements 0..15 of block 4q + 2p, then of block 4q + 2p + 1
  int8_t hi[2][32];      // elements 16..31 of the same two blocks
  int32_t offset[2][8];  // 8 * (sum of the activation over the elements of each int32 lane)
  float d[4];            // the four blocks' scales
};
static_assert(sizeof(Quad) == 208);

struct QuadVectors {
  __m256i lo[2];
  __m256i hi[2];
  __m256i offset[2];
  __m128 d;
};

int64_t n_quads(int64_t nb) {
  return (nb + kQuadBlocks - 1) / kQuadBlocks;
}

// Where the quads start in a prepared activation: after the Q8_0 row.
size_t quads_offset(int64_t nb) {
  return extension_offset(static_cast<size_t>(nb) * sizeof(BlockQ8_0));
}

// Quad q of the plain Q8_0 row y of nb blocks.
RBEE_AVX2 inline QuadVectors build_quad(const BlockQ8_0* y, int64_t nb, int64_t q) {
  QuadVectors v;
  for (int p = 0; p < 2; ++p) {
    const int64_t b = kQuadBlocks * q + 2 * p;
    __m128i lo[2] = {_mm_setzero_si128(), _mm_setzero_si128()};
    __m128i hi[2] = {_mm_setzero_si128(), _mm_setzero_si128()};
    for (int k = 0; k < 2; ++k) {
      if (b + k >= nb) break;
      lo[k] = load128(y[b + k].qs);
      hi[k] = load128(y[b + k].qs + 16);
    }
    v.lo[p] = _mm256_set_m128i(lo[1], lo[0]);
    v.hi[p] = _mm256_set_m128i(hi[1], hi[0]);
    const __m256i eight = _mm256_set1_epi8(8);
    v.offset[p] = _mm256_madd_epi16(_mm256_add_epi16(_mm256_maddubs_epi16(eight, v.lo[p]),
                                                     _mm256_maddubs_epi16(eight, v.hi[p])),
                                    _mm256_set1_epi16(1));
  }
  v.d = block_scales_4(y, kQuadBlocks * q, nb);
  return v;
}

RBEE_AVX2 inline QuadVectors load_quad(const Quad& quad) {
  QuadVectors v;
  for (int p = 0; p < 2; ++p) {
    v.lo[p] = load256(quad.lo[p]);
    v.hi[p] = load256(quad.hi[p]);
    v.offset[p] = load256(quad.offset[p]);
  }
  v.d = _mm_loadu_ps(quad.d);
  return v;
}

// Adds blocks 4q .. min(4q + 4, nb) - 1 of row x against quad `a` to acc[0] (first pair)
// and acc[1] (second pair). A missing block adds exactly nothing: zero values, zero scale.
template <bool kFull>
RBEE_AVX2 inline void add_quad(const BlockQ4_0* __restrict x, int64_t nb, int64_t q,
                               const QuadVectors& a, __m256* acc) {
  const int64_t first = kQuadBlocks * q;
  uint64_t scale_bits = 0;
  for (int k = 0; k < kQuadBlocks; ++k) {
    if (kFull || first + k < nb) scale_bits |= uint64_t{x[first + k].d} << (16 * k);
  }
  const __m128 scales =
      _mm_mul_ps(_mm_cvtph_ps(_mm_cvtsi64_si128(static_cast<int64_t>(scale_bits))), a.d);
  const __m256i mask = _mm256_set1_epi8(0x0f);
  for (int p = 0; p < 2; ++p) {
    const int64_t b = first + 2 * p;
    __m256i packed;
    if (kFull) {
      packed = _mm256_inserti128_si256(_mm256_castsi128_si256(load128(x[b].qs)),
                                       load128(x[b + 1].qs), 1);
    } else {
      const __m128i lo = b < nb ? load128(x[b].qs) : _mm_setzero_si128();
      const __m128i hi = b + 1 < nb ? load128(x[b + 1].qs) : _mm_setzero_si128();
      packed = _mm256_set_m128i(hi, lo);
    }
    const __m256i lo = _mm256_and_si256(packed, mask);
    const __m256i hi = _mm256_and_si256(_mm256_srli_epi16(packed, 4), mask);
    // Each int16: two products of at most 15 * 127, twice: no saturation.
    const __m256i products =
        _mm256_add_epi16(_mm256_maddubs_epi16(lo, a.lo[p]), _mm256_maddubs_epi16(hi, a.hi[p]));
    const __m256i sums =
        _mm256_sub_epi32(_mm256_madd_epi16(products, _mm256_set1_epi16(1)), a.offset[p]);
    // Lanes 0..3 take block b's scale, lanes 4..7 block b + 1's.
    const __m256 scale = _mm256_permutevar8x32_ps(
        _mm256_castps128_ps256(scales),
        _mm256_setr_epi32(2 * p, 2 * p, 2 * p, 2 * p, 2 * p + 1, 2 * p + 1, 2 * p + 1, 2 * p + 1));
    acc[p] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(sums), scale, acc[p]);
  }
}

// The dot of row x with the activation whose quad q GetQuad(q) returns.
template <typename GetQuad>
RBEE_AVX2 inline float row_dot(const BlockQ4_0* __restrict x, int64_t nb, GetQuad get_quad) {
  __m256 acc[2] = {_mm256_setzero_ps(), _mm256_setzero_ps()};
  const int64_t full = nb / kQuadBlocks;
  for (int64_t q = 0; q < full; ++q) add_quad<true>(x, nb, q, get_quad(q), acc);
  if (full < n_quads(nb)) add_quad<false>(x, nb, full, get_quad(full), acc);
  return hsum(_mm256_add_ps(acc[0], acc[1]));
}

size_t activation_bytes_q4_0(int64_t n) {
  const int64_t nb = detail::n_blocks(n, kQK4_0);
  return quads_offset(nb) + static_cast<size_t>(n_quads(nb)) * sizeof(Quad);
}

RBEE_AVX2 void prepare_q4_0(const float* __restrict x, void* __restrict activation, int64_t n) {
  const int64_t nb = detail::n_blocks(n, kQK4_0);
  quantize_row_q8_0_avx2(x, activation, n);
  const auto* y = static_cast<const BlockQ8_0*>(activation);
  auto* quads = reinterpret_cast<Quad*>(static_cast<std::byte*>(activation) + quads_offset(nb));
  for (int64_t q = 0; q < n_quads(nb); ++q) {
    const QuadVectors v = build_quad(y, nb, q);
    for (int p = 0; p < 2; ++p) {
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(quads[q].lo[p]), v.lo[p]);
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(quads[q].hi[p]), v.hi[p]);
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(quads[q].offset[p]), v.offset[p]);
    }
    _mm_storeu_ps(quads[q].d, v.d);
  }
}

RBEE_AVX2 void dot_rows_q4_0(const void* __restrict x, size_t row_stride,
                             const void* __restrict activation, float* __restrict out,
                             int64_t n_rows, int64_t n) {
  const int64_t nb = detail::n_blocks(n, kQK4_0);
  const auto* quads =
      reinterpret_cast<const Quad*>(static_cast<const std::byte*>(activation) + quads_offset(nb));
  for_each_row<BlockQ4_0>(x, row_stride, n_rows, out, [&](const BlockQ4_0* row) RBEE_AVX2 {
    return row_dot(row, nb, [&](int64_t q) RBEE_AVX2 { return load_quad(quads[q]); });
  });
}

}  // namespace

const MatvecKernel kMatvecQ4_0Avx2 = {activation_bytes_q4_0, prepare_q4_0, dot_rows_q4_0};

RBEE_AVX2 float vec_dot_q4_0_q8_0_avx2(const void* __restrict vx, const void* __restrict vy,
                                       int64_t n) {
  const int64_t nb = detail::n_blocks(n, kQK4_0);
  const auto* y = static_cast<const BlockQ8_0*>(vy);
  return row_dot(static_cast<const BlockQ4_0*>(vx), nb,
                 [&](int64_t q) RBEE_AVX2 { return build_quad(y, nb, q); });
}

}  // namespace rbee::engine::kernels::simd

#endif  // __x86_64__
