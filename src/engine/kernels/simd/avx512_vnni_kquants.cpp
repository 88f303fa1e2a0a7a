// The Q4_K, Q5_K and Q6_K matrix paths with VNNI (see avx512_vnni.hpp): avx2_kquants.cpp's
// super-block sums with the integer work of a pair of groups in three instructions instead
// of six (Q6_K: of a pair of 32-value chunks).
//
// AVX2 multiplies a group's 32 values by the activation with maddubs (int16 sums of pairs),
// then by the group's scale with madd (int32 lane i: scale * the products of values 4i ..
// 4i + 3), then adds: six instructions for groups 2c and 2c + 1. Here vpdpbusd gives each
// group's lane sums p_i of values 4i .. 4i + 3 directly; they fit in 16 bits (|p_i| <= 4 *
// 31 * 127), so one word blend puts group 2c's in the low and group 2c + 1's in the high
// half of each 32-bit lane, and vpdpwssd adds scale_2c * p_i + scale_2c+1 * p'_i to the
// lane sums, the scale pair being the 32-bit word c of the unpacked scales. Each lane ends
// with AVX2's integer (exact, so the order of the additions does not matter), and the float
// work that follows is AVX2's: every result is the AVX2 kernel's bits.

#include "engine/kernels/simd/avx512_vnni.hpp"

#if defined(__x86_64__)

#include <type_traits>

#include "engine/kernels/q4_k.hpp"
#include "engine/kernels/q5_k.hpp"
#include "engine/kernels/q6_k.hpp"
#include "engine/kernels/q8_k.hpp"
#include "engine/kernels/quant_common.hpp"
#include "engine/kernels/simd/avx2.hpp"
#include "engine/kernels/simd/avx2_kquants.hpp"
#include "engine/kernels/simd/avx2_tiles.hpp"
#include "engine/kernels/simd/avx512_vnni_common.hpp"

namespace rbee::engine::kernels::simd {
namespace {

// Adds groups 2c and 2c + 1 of super-block x to the sums of kActs activations (see above);
// the pair is unpacked once for all of them. c is a template argument: it selects the scale
// pair by an immediate.
template <int c, typename Block, int kActs>
RBEE_AVX512_VNNI inline void add_group_pair(const Block& x, const ScaleMinK4& w,
                                            const BlockQ8_K* const* a, __m256i (&sums)[kActs]) {
  const __m256i zero = _mm256_setzero_si256();
  __m256i lo, hi;
  chunk_k4(x, c, lo, hi);
  // (scale 2c, scale 2c + 1) in every 32-bit lane.
  const __m256i scale_pair = _mm256_shuffle_epi32(w.scales, 0x55 * c);
#pragma GCC unroll 16
  for (int j = 0; j < kActs; ++j) {
    const __m256i p_lo = _mm256_dpbusd_epi32(zero, lo, load256(a[j]->qs + 64 * c));
    const __m256i p_hi = _mm256_dpbusd_epi32(zero, hi, load256(a[j]->qs + 64 * c + 32));
    const __m256i pairs = _mm256_blend_epi16(p_lo, _mm256_slli_epi32(p_hi, 16), 0xAA);
    sums[j] = _mm256_dpwssd_epi32(sums[j], pairs, scale_pair);
  }
}

// The integer sums of super-block x against kActs activations (sums_k4 of avx2_kquants.cpp).
template <typename Block, int kActs>
RBEE_AVX512_VNNI inline void sums_k4(const Block& x, const ScaleMinK4& w, const BlockQ8_K* const* a,
                                     __m256i (&sums)[kActs]) {
  for (__m256i& s : sums) s = _mm256_setzero_si256();
  add_group_pair<0>(x, w, a, sums);
  add_group_pair<1>(x, w, a, sums);
  add_group_pair<2>(x, w, a, sums);
  add_group_pair<3>(x, w, a, sums);
}

// out[j * out_stride] = the dot of row x with each of kActs Q8_K rows y[j] (AVX2's
// dot_scale_min_k4 with the sums above).
template <typename Block, int kActs>
RBEE_AVX512_VNNI inline void dot_scale_min_k4(const Block* __restrict x,
                                              const BlockQ8_K* const (&y)[kActs], int64_t nb,
                                              float* out, size_t out_stride) {
  float sum[kActs] = {};
  for (int64_t b = 0; b < nb; ++b) {
    const ScaleMinK4 w = scale_min_k4(x[b]);
    const BlockQ8_K* a[kActs];
    for (int j = 0; j < kActs; ++j) a[j] = y[j] + b;
    __m256i sums[kActs];
    sums_k4(x[b], w, a, sums);
    for (int j = 0; j < kActs; ++j) finish_k4(sums[j], w, *a[j], sum[j]);
  }
  for (int j = 0; j < kActs; ++j) out[static_cast<size_t>(j) * out_stride] = sum[j];
}

// out[j * out_stride + r * out_row_step] = the dot of Q6_K row x[r] with each of kActs Q8_K
// rows y[j] (AVX2's dot_q6_k). Chunk k's 32 values have two 16-value groups, scales 2k and
// 2k + 1 in its low and high 128-bit halves; chunks k and k + 1 pair up as above, with the
// scale words of lane i (scale 2k, scale 2k + 2) in the low half and (2k + 1, 2k + 3) in the
// high half. The values are q + 32 in [0, 63], so |p_i| <= 4 * 63 * 128 fits 16 bits too.
// Each activation chunk is loaded once for all the rows.
template <int kRows, int kActs>
RBEE_AVX512_VNNI inline void dot_q6_k(const BlockQ6_K* const (&x)[kRows],
                                      const BlockQ8_K* const (&y)[kActs], int64_t nb, float* out,
                                      size_t out_stride, size_t out_row_step) {
  const __m256i zero = _mm256_setzero_si256();
  __m256 acc[kRows][kActs];
  for (auto& row : acc) {
    for (__m256& a : row) a = _mm256_setzero_ps();
  }
  // Bytes (g, g + 2) four times: the scale words of a half whose first group is g.
  const auto words = [](int g) { return int64_t{g | (g + 2) << 8} * 0x0001000100010001; };
  for (int64_t b = 0; b < nb; ++b) {
    __m128i scales[kRows];
    for (int r = 0; r < kRows; ++r) scales[r] = load128(x[r][b].scales);
    __m256i sums[kRows][kActs];
    for (auto& row : sums) {
      for (__m256i& s : row) s = _mm256_setzero_si256();
    }
#pragma GCC unroll 4
    for (int k = 0; k < 8; k += 2) {
#pragma GCC unroll 4
      for (int r = 0; r < kRows; ++r) {
        const __m256i values = chunk_q6_k(x[r][b], k);
        const __m256i values_next = chunk_q6_k(x[r][b], k + 1);
        const __m256i scale_words = _mm256_cvtepi8_epi16(
            _mm_shuffle_epi8(scales[r], _mm_set_epi64x(words(2 * k + 1), words(2 * k))));
#pragma GCC unroll 16
        for (int j = 0; j < kActs; ++j) {
          const __m256i p = _mm256_dpbusd_epi32(zero, values, load256(y[j][b].qs + 32 * k));
          const __m256i p_next =
              _mm256_dpbusd_epi32(zero, values_next, load256(y[j][b].qs + 32 * k + 32));
          const __m256i pairs = _mm256_blend_epi16(p, _mm256_slli_epi32(p_next, 16), 0xAA);
          sums[r][j] = _mm256_dpwssd_epi32(sums[r][j], pairs, scale_words);
        }
      }
    }
    for (int r = 0; r < kRows; ++r) {
      const float d = f16(x[r][b].d);
      for (int j = 0; j < kActs; ++j) {
        const __m256i offset = _mm256_slli_epi32(scaled_bsums(y[j][b], scales[r]), 5);
        acc[r][j] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(_mm256_sub_epi32(sums[r][j], offset)),
                                    _mm256_set1_ps(d * y[j][b].d), acc[r][j]);
      }
    }
  }
  for (int r = 0; r < kRows; ++r) {
    for (int j = 0; j < kActs; ++j) {
      out[static_cast<size_t>(j) * out_stride + static_cast<size_t>(r) * out_row_step] =
          hsum(acc[r][j]);
    }
  }
}

// The dot of a row of super-blocks with kActs activations, by the row's type.
template <int kActs, typename Block>
RBEE_AVX512_VNNI inline void dot_super_blocks(const Block* x, const BlockQ8_K* const (&y)[kActs],
                                              int64_t nb, float* out, size_t out_stride) {
  dot_scale_min_k4<Block, kActs>(x, y, nb, out, out_stride);
}

template <int kActs>
RBEE_AVX512_VNNI inline void dot_super_blocks(const BlockQ6_K* x,
                                              const BlockQ8_K* const (&y)[kActs], int64_t nb,
                                              float* out, size_t out_stride) {
  const BlockQ6_K* const rows[1] = {x};
  dot_q6_k<1, kActs>(rows, y, nb, out, out_stride, 1);
}

template <typename Block>
RBEE_AVX512_VNNI void dot_rows_multi_k(const void* __restrict x, size_t row_stride,
                                       const void* __restrict activations, size_t activation_stride,
                                       int64_t n_act, float* __restrict out, size_t out_stride,
                                       int64_t n_rows, int64_t n) {
  const int64_t nb = detail::n_blocks(n, kQK_K);
  // One row by eight activations, as AVX2's: a super-block's values are unpacked once for
  // all eight.
  for_each_tile<1, 8>(x, row_stride, activations, activation_stride, n_act, out, out_stride, n_rows,
                      [nb]<int kRows, int kActs>(const TileArgs& t) RBEE_AVX512_VNNI {
                        const BlockQ8_K* y[kActs];
                        tile_activations(t, y);
                        dot_super_blocks<kActs>(reinterpret_cast<const Block*>(t.rows), y, nb,
                                                t.out, t.out_stride);
                      });
}

// Q6_K decodes with two rows spread over the matrix per tile, as on AVX2 (avx2_kquants.cpp's
// dot_rows_q6_k): each its own stream from memory, every activation load shared.
template <typename Block>
RBEE_AVX512_VNNI void dot_rows_k(const void* __restrict x, size_t row_stride,
                                 const void* __restrict activation, float* __restrict out,
                                 int64_t n_rows, int64_t n) {
  if constexpr (std::is_same_v<Block, BlockQ6_K>) {
    const BlockQ8_K* const y[1] = {static_cast<const BlockQ8_K*>(activation)};
    const int64_t nb = detail::n_blocks(n, kQK_K);
    for_each_tile<2, 1, TileRows::kSpread>(
        x, row_stride, activation, 0, 1, out, 0, n_rows,
        [&]<int kRows, int kActs>(const TileArgs& t) RBEE_AVX512_VNNI {
          const BlockQ6_K* rows[kRows];
          for (int r = 0; r < kRows; ++r) {
            rows[r] =
                reinterpret_cast<const BlockQ6_K*>(t.rows + static_cast<size_t>(r) * t.row_stride);
          }
          dot_q6_k<kRows, 1>(rows, y, nb, t.out, t.out_stride, t.out_row_step);
        });
  } else {
    dot_rows_multi_k<Block>(x, row_stride, activation, 0, 1, out, 0, n_rows, n);
  }
}

// The AVX2 kernel's activation: the plain Q8_K row.
template <typename Block>
constexpr MatvecKernel kquant_matvec() {
  return {activation_bytes_q8_k, quantize_row_q8_k_avx2, dot_rows_k<Block>,
          dot_rows_multi_k<Block>};
}

// AVX2's dot_q4_kx8 (avx2_kquants.cpp) with vpdpbusd: a group's products go straight into
// int32 lanes, one instruction per step and activation, and the group's scale of each row is
// one multiply. The high nibbles are used in place (& 0xf0, 16 times their value), so their
// sums are 16 times too; the exact division by 16 is done once per super-block.
template <int kActs>
RBEE_AVX512_VNNI inline void dot_q4_kx8(const BlockQ4_Kx8* __restrict x,
                                        const BlockQ8_K* const (&y)[kActs], int64_t nb, float* out,
                                        size_t out_stride) {
  __m256 acc[kActs];
  for (__m256& a : acc) a = _mm256_setzero_ps();
  for (int64_t b = 0; b < nb; ++b) {
    if constexpr (kActs == 1) {
      prefetch_lines<sizeof(BlockQ4_Kx8) / 64>(x + b + kQ4_Kx8PrefetchBlocks);
    }
    const ScalesMinsKx8 w = scales_mins_kx8(x[b]);
    __m256i sums[kActs];
    __m256i sums_16[kActs];  // of the high nibbles: at most 16 * 4 * 32 * 15 * 128 * 63
    for (int j = 0; j < kActs; ++j) sums[j] = sums_16[j] = _mm256_setzero_si256();
    const auto add_chunk = [&]<int c>() RBEE_AVX512_VNNI {
      __m256i low[kActs];
      __m256i high[kActs];
      for (int j = 0; j < kActs; ++j) low[j] = high[j] = _mm256_setzero_si256();
#pragma GCC unroll 8
      for (int k = 0; k < 8; ++k) {
        const __m256i packed = load256(x[b].qs[c][k]);
        const __m256i lo = low_bits(packed, 0x0f);
        const __m256i hi = low_bits(packed, 0xf0);
#pragma GCC unroll 8
        for (int j = 0; j < kActs; ++j) {
          const int8_t* a = y[j][b].qs + 64 * c + 4 * k;
          low[j] = _mm256_dpbusd_epi32(low[j], lo, broadcast_4_bytes(a));
          high[j] = _mm256_dpbusd_epi32(high[j], hi, broadcast_4_bytes(a + 32));
        }
      }
      const __m256i scale_lo = group_scale_kx8<2 * c, false>(w);
      const __m256i scale_hi = group_scale_kx8<2 * c + 1, false>(w);
      for (int j = 0; j < kActs; ++j) {
        sums[j] = _mm256_add_epi32(sums[j], _mm256_mullo_epi32(low[j], scale_lo));
        sums_16[j] = _mm256_add_epi32(sums_16[j], _mm256_mullo_epi32(high[j], scale_hi));
      }
    };
    add_chunk.template operator()<0>();
    add_chunk.template operator()<1>();
    add_chunk.template operator()<2>();
    add_chunk.template operator()<3>();
    for (int j = 0; j < kActs; ++j) {
      const __m256i total = _mm256_add_epi32(sums[j], _mm256_srai_epi32(sums_16[j], 4));
      acc[j] = finish_kx8(total, w, y[j][b], acc[j]);
    }
  }
  for (int j = 0; j < kActs; ++j)
    _mm256_storeu_ps(out + static_cast<size_t>(j) * out_stride, acc[j]);
}

// Groups of eight rows by four activations (AVX-512VL's 32 vector registers hold their sums).
RBEE_AVX512_VNNI void dot_rows_multi_q4_kx8(const void* __restrict x, size_t row_stride,
                                            const void* __restrict activations,
                                            size_t activation_stride, int64_t n_act,
                                            float* __restrict out, size_t out_stride,
                                            int64_t n_rows, int64_t n) {
  const int64_t nb = detail::n_blocks(n, kQK_K);
  for_each_tile<1, 4, TileRows::kAdjacent, kQ4_Kx8Rows>(
      x, row_stride * kQ4_Kx8Rows, activations, activation_stride, n_act, out, out_stride,
      n_rows / kQ4_Kx8Rows, [nb]<int kRows, int kActs>(const TileArgs& t) RBEE_AVX512_VNNI {
        const BlockQ8_K* y[kActs];
        tile_activations(t, y);
        dot_q4_kx8<kActs>(reinterpret_cast<const BlockQ4_Kx8*>(t.rows), y, nb, t.out, t.out_stride);
      });
}

RBEE_AVX512_VNNI void dot_rows_q4_kx8(const void* __restrict x, size_t row_stride,
                                      const void* __restrict activation, float* __restrict out,
                                      int64_t n_rows, int64_t n) {
  dot_rows_multi_q4_kx8(x, row_stride, activation, 0, 1, out, 0, n_rows, n);
}

}  // namespace

const MatvecKernel kMatvecQ4_Kx8Avx512Vnni = {activation_bytes_q8_k, quantize_row_q8_k_avx2,
                                              dot_rows_q4_kx8, dot_rows_multi_q4_kx8};
const MatvecKernel kMatvecQ4_KAvx512Vnni = kquant_matvec<BlockQ4_K>();
const MatvecKernel kMatvecQ5_KAvx512Vnni = kquant_matvec<BlockQ5_K>();
const MatvecKernel kMatvecQ6_KAvx512Vnni = kquant_matvec<BlockQ6_K>();

}  // namespace rbee::engine::kernels::simd

#endif  // __x86_64__
