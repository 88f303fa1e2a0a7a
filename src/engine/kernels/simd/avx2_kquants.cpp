// AVX2 kernels of the K-quants: Q2_K, Q3_K, Q4_K, Q5_K and Q6_K dots with Q8_K
// activations, and the Q8_K activation quantizer. See avx2.hpp.
//
// A super-block's integer sums are exact, as in the scalar kernels: products of the values
// and the activation bytes (maddubs, pairs within int16), times the group scales (madd, into
// int32). Signed values are stored with an offset (Q3_K: +4, Q6_K: +32); the offset's share,
// offset * sum over groups of scale * (group sum of the activation), comes from Q8_K's
// bsums, so the products stay unsigned x signed. Minimum terms (Q2_K, Q4_K, Q5_K) also come
// from the bsums.
//
// Q4_K, Q5_K and Q6_K also have matrix paths (the activation prepared as the plain Q8_K row):
// their dots take kActs activations at once, unpacking each chunk of a row's values once for
// all of them, with each (row, activation)'s arithmetic that of the single-row dot (its
// kActs = 1 case), so every path gives the same bits.

#include "engine/kernels/simd/avx2.hpp"

#if defined(__x86_64__)

#include <cstddef>
#include <type_traits>

#include "engine/kernels/float16.hpp"
#include "engine/kernels/q2_k.hpp"
#include "engine/kernels/q3_k.hpp"
#include "engine/kernels/q4_k.hpp"
#include "engine/kernels/q5_k.hpp"
#include "engine/kernels/q6_k.hpp"
#include "engine/kernels/q8_k.hpp"
#include "engine/kernels/quant_common.hpp"
#include "engine/kernels/simd/avx2_common.hpp"
#include "engine/kernels/simd/avx2_kquants.hpp"
#include "engine/kernels/simd/avx2_tiles.hpp"

namespace rbee::engine::kernels::simd {
namespace {

// 8 int32: the products of a chunk of 32 values (unsigned bytes) with 32 activation bytes,
// the first 16 times the scale of int16 lanes 0..7 of `scales`, the last 16 times lanes 8..15.
RBEE_AVX2 inline __m256i scaled_chunk(__m256i values, const int8_t* a, __m256i scales) {
  return _mm256_madd_epi16(_mm256_maddubs_epi16(values, load256(a)), scales);
}

// 16 int16, all int16 lane g of `lanes` (g < 8; both 128-bit lanes of `lanes` alike).
RBEE_AVX2 inline __m256i broadcast_i16(__m256i lanes, int g) {
  const auto lo = static_cast<char>(2 * g);
  const auto hi = static_cast<char>(2 * g + 1);
  return _mm256_shuffle_epi8(
      lanes, _mm256_setr_epi8(lo, hi, lo, hi, lo, hi, lo, hi, lo, hi, lo, hi, lo, hi, lo, hi, lo,
                              hi, lo, hi, lo, hi, lo, hi, lo, hi, lo, hi, lo, hi, lo, hi));
}

// The 16 group scales of Q3_K minus 32, in [-32, 31], as q3_k.cpp's unpack_scales.
RBEE_AVX2 inline __m128i scales_q3_k(const uint8_t* packed) {
  uint32_t w[3];
  std::memcpy(w, packed, sizeof(w));
  auto high = [&](int shift) { return ((w[2] >> shift) & 0x03030303u) << 4; };
  const __m128i biased = _mm_setr_epi32(static_cast<int>((w[0] & 0x0f0f0f0fu) | high(0)),
                                        static_cast<int>((w[1] & 0x0f0f0f0fu) | high(2)),
                                        static_cast<int>(((w[0] >> 4) & 0x0f0f0f0fu) | high(4)),
                                        static_cast<int>(((w[1] >> 4) & 0x0f0f0f0fu) | high(6)));
  return _mm_sub_epi8(biased, _mm_set1_epi8(32));
}

// The integer sums of super-block b of row x (Q4_K or Q5_K) against kActs activations at
// once: each group's values are unpacked once for all of them.
template <typename Block, int kActs>
RBEE_AVX2 inline void sums_k4(const Block& x, const ScaleMinK4& w, const BlockQ8_K* const* a,
                              __m256i (&sums)[kActs]) {
  for (__m256i& s : sums) s = _mm256_setzero_si256();
#pragma GCC unroll 4
  for (int c = 0; c < 4; ++c) {
    __m256i lo, hi;
    chunk_k4(x, c, lo, hi);
    const __m256i scale_lo = broadcast_i16(w.scales, 2 * c);
    const __m256i scale_hi = broadcast_i16(w.scales, 2 * c + 1);
#pragma GCC unroll 16
    for (int j = 0; j < kActs; ++j) {
      sums[j] = _mm256_add_epi32(sums[j], scaled_chunk(lo, a[j]->qs + 64 * c, scale_lo));
      sums[j] = _mm256_add_epi32(sums[j], scaled_chunk(hi, a[j]->qs + 64 * c + 32, scale_hi));
    }
  }
}

// out[j * out_stride] = the dot of row x (Q4_K or Q5_K) with each of kActs Q8_K rows y[j].
template <typename Block, int kActs>
RBEE_AVX2 inline void dot_scale_min_k4(const Block* __restrict x,
                                       const BlockQ8_K* const (&y)[kActs], int64_t nb, float* out,
                                       size_t out_stride) {
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

template <typename Block>
RBEE_AVX2 inline float dot_scale_min_k4(const void* vx, const void* vy, int64_t n) {
  const BlockQ8_K* const y[1] = {static_cast<const BlockQ8_K*>(vy)};
  float out = 0.0f;
  dot_scale_min_k4<Block, 1>(static_cast<const Block*>(vx), y, detail::n_blocks(n, kQK_K), &out, 1);
  return out;
}

// Adds the 8 chunks of 32 values of a 16-value-group super-block (Q2_K, Q3_K, Q6_K):
// chunk(k) gives the values of elements 32k..32k+31 as unsigned bytes.
template <typename Chunk>
RBEE_AVX2 inline __m256i sum_group16_chunks(const BlockQ8_K& a, __m128i scales, Chunk chunk) {
  __m256i sums = _mm256_setzero_si256();
  for (int k = 0; k < 8; ++k) {
    sums = _mm256_add_epi32(
        sums, scaled_chunk(chunk(k), a.qs + 32 * k, scale_pair(scales, 2 * k, 2 * k + 1)));
  }
  return sums;
}

// out[j * out_stride + r * out_row_step] = the dot of Q6_K row x[r] with each of kActs Q8_K
// rows y[j]: a chunk's values are unpacked once for all the activations, and each activation
// chunk is loaded once for all the rows. Every (row, activation) pair has its own sums, in
// the order a single pair's are added.
template <int kRows, int kActs>
RBEE_AVX2 inline void dot_q6_k(const BlockQ6_K* const (&x)[kRows],
                               const BlockQ8_K* const (&y)[kActs], int64_t nb, float* out,
                               size_t out_stride, size_t out_row_step) {
  __m256 acc[kRows][kActs];
  for (auto& row : acc) {
    for (__m256& a : row) a = _mm256_setzero_ps();
  }
  for (int64_t b = 0; b < nb; ++b) {
    __m128i scales[kRows];
    for (int r = 0; r < kRows; ++r) scales[r] = load128(x[r][b].scales);
    __m256i sums[kRows][kActs];
    for (auto& row : sums) {
      for (__m256i& s : row) s = _mm256_setzero_si256();
    }
#pragma GCC unroll 8
    for (int k = 0; k < 8; ++k) {
#pragma GCC unroll 4
      for (int r = 0; r < kRows; ++r) {
        const __m256i values = chunk_q6_k(x[r][b], k);
        const __m256i pair = scale_pair(scales[r], 2 * k, 2 * k + 1);
#pragma GCC unroll 16
        for (int j = 0; j < kActs; ++j) {
          sums[r][j] =
              _mm256_add_epi32(sums[r][j], scaled_chunk(values, y[j][b].qs + 32 * k, pair));
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

}  // namespace

RBEE_AVX2 float vec_dot_q2_k_q8_k_avx2(const void* __restrict vx, const void* __restrict vy,
                                       int64_t n) {
  const auto* __restrict x = static_cast<const BlockQ2_K*>(vx);
  const auto* __restrict y = static_cast<const BlockQ8_K*>(vy);
  const int64_t nb = detail::n_blocks(n, kQK_K);
  __m256 acc = _mm256_setzero_ps();
  __m256 acc_min = _mm256_setzero_ps();
  for (int64_t b = 0; b < nb; ++b) {
    const __m128i packed = load128(x[b].scales);
    const __m128i scales = _mm_and_si128(packed, _mm_set1_epi8(0x0f));
    const __m128i mins = _mm_and_si128(_mm_srli_epi16(packed, 4), _mm_set1_epi8(0x0f));
    __m256i qs[2] = {load256(x[b].qs), load256(x[b].qs + 32)};
    // Element 128c + 32j + l is bits 2j..2j+1 of qs[32c + l].
    const __m256i sums = sum_group16_chunks(y[b], scales, [&](int k) RBEE_AVX2 {
      const __m256i v = low_bits(qs[k / 4], 0x03);
      qs[k / 4] = _mm256_srli_epi16(qs[k / 4], 2);
      return v;
    });
    acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(sums), _mm256_set1_ps(f16(x[b].d) * y[b].d), acc);
    acc_min = _mm256_fmadd_ps(_mm256_cvtepi32_ps(scaled_bsums(y[b], mins)),
                              _mm256_set1_ps(f16(x[b].dmin) * y[b].d), acc_min);
  }
  return hsum(_mm256_sub_ps(acc, acc_min));
}

RBEE_AVX2 float vec_dot_q3_k_q8_k_avx2(const void* __restrict vx, const void* __restrict vy,
                                       int64_t n) {
  const auto* __restrict x = static_cast<const BlockQ3_K*>(vx);
  const auto* __restrict y = static_cast<const BlockQ8_K*>(vy);
  const int64_t nb = detail::n_blocks(n, kQK_K);
  __m256 acc = _mm256_setzero_ps();
  for (int64_t b = 0; b < nb; ++b) {
    const __m128i scales = scales_q3_k(x[b].scales);
    __m256i qs[2] = {load256(x[b].qs), load256(x[b].qs + 32)};
    __m256i hmask = load256(x[b].hmask);
    // Element 128c + 32j + l: q + 4 = (bits 2j..2j+1 of qs[32c + l]) + 4 * (bit 4c + j of
    // hmask[l]), in [0, 7].
    __m256i sums = sum_group16_chunks(y[b], scales, [&](int k) RBEE_AVX2 {
      const __m256i low = low_bits(qs[k / 4], 0x03);
      const __m256i high = _mm256_slli_epi16(low_bits(hmask, 0x01), 2);
      qs[k / 4] = _mm256_srli_epi16(qs[k / 4], 2);
      hmask = _mm256_srli_epi16(hmask, 1);
      return _mm256_or_si256(low, high);
    });
    sums = _mm256_sub_epi32(sums, _mm256_slli_epi32(scaled_bsums(y[b], scales), 2));
    acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(sums), _mm256_set1_ps(f16(x[b].d) * y[b].d), acc);
  }
  return hsum(acc);
}

RBEE_AVX2 float vec_dot_q4_k_q8_k_avx2(const void* __restrict x, const void* __restrict y,
                                       int64_t n) {
  return dot_scale_min_k4<BlockQ4_K>(x, y, n);
}

RBEE_AVX2 float vec_dot_q5_k_q8_k_avx2(const void* __restrict x, const void* __restrict y,
                                       int64_t n) {
  return dot_scale_min_k4<BlockQ5_K>(x, y, n);
}

RBEE_AVX2 float vec_dot_q6_k_q8_k_avx2(const void* __restrict vx, const void* __restrict vy,
                                       int64_t n) {
  const BlockQ8_K* const y[1] = {static_cast<const BlockQ8_K*>(vy)};
  float out = 0.0f;
  const BlockQ6_K* const x[1] = {static_cast<const BlockQ6_K*>(vx)};
  dot_q6_k<1, 1>(x, y, detail::n_blocks(n, kQK_K), &out, 1, 1);
  return out;
}

namespace {

// The batch kernels of a K-quant weight type: Kernel::run<kActs>(row, activations, nb, out,
// out_stride) dots one row with kActs Q8_K rows; dot_rows and the single-row dot are its
// one-activation case, so every path gives the same bits.
template <typename Kernel>
RBEE_AVX2 void dot_rows_k(const void* __restrict x, size_t row_stride,
                          const void* __restrict activation, float* __restrict out, int64_t n_rows,
                          int64_t n) {
  const BlockQ8_K* const y[1] = {static_cast<const BlockQ8_K*>(activation)};
  const int64_t nb = detail::n_blocks(n, kQK_K);
  const auto* rows = static_cast<const std::byte*>(x);
  for (int64_t r = 0; r < n_rows; ++r) {
    Kernel::template run<1>(rows + static_cast<size_t>(r) * row_stride, y, nb, out + r, 1);
  }
}

template <typename Kernel>
RBEE_AVX2 void dot_rows_multi_k(const void* __restrict x, size_t row_stride,
                                const void* __restrict activations, size_t activation_stride,
                                int64_t n_act, float* __restrict out, size_t out_stride,
                                int64_t n_rows, int64_t n) {
  const int64_t nb = detail::n_blocks(n, kQK_K);
  // One row by eight activations: a super-block's values are unpacked once for all eight.
  for_each_tile<1, 8>(x, row_stride, activations, activation_stride, n_act, out, out_stride, n_rows,
                      [nb]<int kRows, int kActs>(const TileArgs& t) RBEE_AVX2 {
                        const BlockQ8_K* y[kActs];
                        tile_activations(t, y);
                        Kernel::template run<kActs>(t.rows, y, nb, t.out, t.out_stride);
                      });
}

template <typename Block>
struct ScaleMinK4Kernel {
  template <int kActs>
  RBEE_AVX2 static void run(const void* x, const BlockQ8_K* const (&y)[kActs], int64_t nb,
                            float* out, size_t out_stride) {
    dot_scale_min_k4<Block, kActs>(static_cast<const Block*>(x), y, nb, out, out_stride);
  }
};

struct Q6KKernel {
  template <int kActs>
  RBEE_AVX2 static void run(const void* x, const BlockQ8_K* const (&y)[kActs], int64_t nb,
                            float* out, size_t out_stride) {
    const BlockQ6_K* const rows[1] = {static_cast<const BlockQ6_K*>(x)};
    dot_q6_k<1, kActs>(rows, y, nb, out, out_stride, 1);
  }
};

// Decoding: two rows spread over the matrix per tile, each its own stream from memory, share
// every activation load (as the repacked Q4_0 kernel's tiles do). One thread from memory,
// 5632 columns on Zen 4: 34.1 against 28.0 GB/s (three rows: 33.5); Q4_K_M decoding at two
// threads while the host gave 72 GB/s: 79 against 77 % of the interleaved ceiling.
RBEE_AVX2 void dot_rows_q6_k(const void* __restrict x, size_t row_stride,
                             const void* __restrict activation, float* __restrict out,
                             int64_t n_rows, int64_t n) {
  const BlockQ8_K* const y[1] = {static_cast<const BlockQ8_K*>(activation)};
  const int64_t nb = detail::n_blocks(n, kQK_K);
  for_each_tile<2, 1, TileRows::kSpread>(
      x, row_stride, activation, 0, 1, out, 0, n_rows,
      [&]<int kRows, int kActs>(const TileArgs& t) RBEE_AVX2 {
        const BlockQ6_K* rows[kRows];
        for (int r = 0; r < kRows; ++r) {
          rows[r] =
              reinterpret_cast<const BlockQ6_K*>(t.rows + static_cast<size_t>(r) * t.row_stride);
        }
        dot_q6_k<kRows, 1>(rows, y, nb, t.out, t.out_stride, t.out_row_step);
      });
}

template <typename Kernel>
constexpr MatvecKernel kquant_matvec() {
  return {activation_bytes_q8_k, quantize_row_q8_k_avx2, dot_rows_k<Kernel>,
          dot_rows_multi_k<Kernel>};
}

// out[j * out_stride + r] = the dot of row r of a Q4_Kx8 group with each of kActs Q8_K rows
// y[j]. A 32-bit lane per row: a lane's bytes are four neighbouring values of its row, and
// the same four activation bytes go to every lane. The pair products of a group's eight
// steps add up in int16 (at most 8 * 2 * 15 * 128 = 30720), then madd applies the group's
// scale of each row.
template <int kActs>
RBEE_AVX2 inline void dot_q4_kx8(const BlockQ4_Kx8* __restrict x,
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
    for (__m256i& s : sums) s = _mm256_setzero_si256();
    const auto add_chunk = [&]<int c>() RBEE_AVX2 {
      __m256i low[kActs];
      __m256i high[kActs];
      for (int j = 0; j < kActs; ++j) low[j] = high[j] = _mm256_setzero_si256();
#pragma GCC unroll 8
      for (int k = 0; k < 8; ++k) {
        const __m256i packed = load256(x[b].qs[c][k]);
        const __m256i lo = low_bits(packed, 0x0f);
        const __m256i hi = low_bits(_mm256_srli_epi16(packed, 4), 0x0f);
#pragma GCC unroll 8
        for (int j = 0; j < kActs; ++j) {
          const int8_t* a = y[j][b].qs + 64 * c + 4 * k;
          low[j] = _mm256_add_epi16(low[j], _mm256_maddubs_epi16(lo, broadcast_4_bytes(a)));
          high[j] = _mm256_add_epi16(high[j], _mm256_maddubs_epi16(hi, broadcast_4_bytes(a + 32)));
        }
      }
      const __m256i scale_lo = group_scale_kx8<2 * c, true>(w);
      const __m256i scale_hi = group_scale_kx8<2 * c + 1, true>(w);
      for (int j = 0; j < kActs; ++j) {
        sums[j] = _mm256_add_epi32(sums[j], _mm256_add_epi32(_mm256_madd_epi16(low[j], scale_lo),
                                                             _mm256_madd_epi16(high[j], scale_hi)));
      }
    };
    add_chunk.template operator()<0>();
    add_chunk.template operator()<1>();
    add_chunk.template operator()<2>();
    add_chunk.template operator()<3>();
    for (int j = 0; j < kActs; ++j) acc[j] = finish_kx8(sums[j], w, y[j][b], acc[j]);
  }
  for (int j = 0; j < kActs; ++j)
    _mm256_storeu_ps(out + static_cast<size_t>(j) * out_stride, acc[j]);
}

// Groups of eight rows by four activations (the registers spill a little, AVX2 having 16,
// but reading each group's values once for four measured faster than for two: 191 vs 203
// ns a row at eight activations in cache).
RBEE_AVX2 void dot_rows_multi_q4_kx8(const void* __restrict x, size_t row_stride,
                                     const void* __restrict activations, size_t activation_stride,
                                     int64_t n_act, float* __restrict out, size_t out_stride,
                                     int64_t n_rows, int64_t n) {
  const int64_t nb = detail::n_blocks(n, kQK_K);
  for_each_tile<1, 4, TileRows::kAdjacent, kQ4_Kx8Rows>(
      x, row_stride * kQ4_Kx8Rows, activations, activation_stride, n_act, out, out_stride,
      n_rows / kQ4_Kx8Rows, [nb]<int kRows, int kActs>(const TileArgs& t) RBEE_AVX2 {
        const BlockQ8_K* y[kActs];
        tile_activations(t, y);
        dot_q4_kx8<kActs>(reinterpret_cast<const BlockQ4_Kx8*>(t.rows), y, nb, t.out, t.out_stride);
      });
}

RBEE_AVX2 void dot_rows_q4_kx8(const void* __restrict x, size_t row_stride,
                               const void* __restrict activation, float* __restrict out,
                               int64_t n_rows, int64_t n) {
  dot_rows_multi_q4_kx8(x, row_stride, activation, 0, 1, out, 0, n_rows, n);
}

}  // namespace

const MatvecKernel kMatvecQ4_Kx8Avx2 = {activation_bytes_q8_k, quantize_row_q8_k_avx2,
                                        dot_rows_q4_kx8, dot_rows_multi_q4_kx8};
const MatvecKernel kMatvecQ4_KAvx2 = kquant_matvec<ScaleMinK4Kernel<BlockQ4_K>>();
const MatvecKernel kMatvecQ5_KAvx2 = kquant_matvec<ScaleMinK4Kernel<BlockQ5_K>>();
const MatvecKernel kMatvecQ6_KAvx2 = {activation_bytes_q8_k, quantize_row_q8_k_avx2, dot_rows_q6_k,
                                      dot_rows_multi_k<Q6KKernel>};

RBEE_AVX2 void quantize_row_q8_k_avx2(const float* __restrict x, void* __restrict vy, int64_t n) {
  auto* y = static_cast<BlockQ8_K*>(vy);
  const int64_t nb = detail::n_blocks(n, kQK_K);
  constexpr int kVectors = kQK_K / 8;
  for (int64_t b = 0; b < nb; ++b) {
    const float* __restrict in = x + b * kQK_K;
    __m256 amax = _mm256_setzero_ps();
    for (int k = 0; k < kVectors; ++k)
      amax = _mm256_max_ps(amax, abs_ps(_mm256_loadu_ps(in + 8 * k)));
    const float max_abs = hmax(amax);
    if (max_abs == 0.0f) {
      y[b].d = 0.0f;
      std::memset(y[b].qs, 0, sizeof(y[b].qs));
      std::memset(y[b].bsums, 0, sizeof(y[b].bsums));
      continue;
    }
    // The first element of largest magnitude, with its sign (the scalar loop's pick).
    float max = 0.0f;
    const __m256 target = _mm256_set1_ps(max_abs);
    for (int k = 0; k < kVectors; ++k) {
      const int hits = _mm256_movemask_ps(
          _mm256_cmp_ps(abs_ps(_mm256_loadu_ps(in + 8 * k)), target, _CMP_EQ_OQ));
      if (hits != 0) {
        max = in[8 * k + __builtin_ctz(static_cast<unsigned>(hits))];
        break;
      }
    }
    const float inverse = -127.0f / max;
    const __m256 scale = _mm256_set1_ps(inverse);
    for (int k = 0; k < kVectors; k += 4) {
      __m256i i32[4];
      for (int j = 0; j < 4; ++j) {
        i32[j] = _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(in + 8 * (k + j)), scale));
      }
      // The pack saturates at 127 as the scalar min(127, ...) does; values never reach -128.
      const __m256i bytes = pack_i32_to_i8(i32[0], i32[1], i32[2], i32[3]);
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(y[b].qs + 8 * k), bytes);
      // Sums of 16: bytes 0..15 and 16..31 of this chunk of 32.
      const __m256i quads = dot_u8_i8(_mm256_set1_epi8(1), bytes);  // sums of 4
      const __m256i pairs = _mm256_hadd_epi32(quads, quads);        // lane: s01 s23 s01 s23
      const __m256i sums = _mm256_hadd_epi32(pairs, pairs);         // lane: s0123 x4
      y[b].bsums[k / 2] = static_cast<int16_t>(_mm256_extract_epi32(sums, 0));
      y[b].bsums[k / 2 + 1] = static_cast<int16_t>(_mm256_extract_epi32(sums, 4));
    }
    y[b].d = 1.0f / inverse;
  }
}

}  // namespace rbee::engine::kernels::simd

#endif  // __x86_64__
