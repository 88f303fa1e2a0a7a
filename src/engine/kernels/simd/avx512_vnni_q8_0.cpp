// The Q8_0 matrix-vector and matrix-matrix paths with VNNI (see avx512_vnni.hpp).
//
// vpdpbusd multiplies unsigned by signed bytes. The weights go in offset by 128 (w ^ 0x80
// is w + 128 as an unsigned byte, one operation per row block shared by every activation),
// and each int32 lane starts at -128 * (the activation's 4 values it sums), prepared once:
// then one vpdpbusd gives per lane exactly the int32 sum of the 4 products w * a that
// AVX2's sign/maddubs/madd sequence gives (avx2_q8_0.cpp, the same grouping of 4 bytes
// per lane). The float work that follows is AVX2's operation for operation, so every
// result is the AVX2 kernel's bits.

#include "engine/kernels/simd/avx512_vnni.hpp"

#if defined(__x86_64__)

#include "engine/kernels/float16.hpp"
#include "engine/kernels/q8_0.hpp"
#include "engine/kernels/quant_common.hpp"
#include "engine/kernels/simd/avx2.hpp"
#include "engine/kernels/simd/avx2_tiles.hpp"
#include "engine/kernels/simd/avx512_vnni_common.hpp"

namespace rbee::engine::kernels::simd {
namespace {

// How far ahead of the block in use a row is prefetched (see avx512_vnni_q4_0.cpp).
constexpr size_t kPrefetchBytes = 2048;

// A block of a prepared activation: one cache line.
struct alignas(64) ActBlock {
  int8_t values[32];
  int32_t neg_offset[8];  // -128 * (values 4l .. 4l + 3 summed), by lane l
};
static_assert(sizeof(ActBlock) == 64);

// A block of a weight row as every activation uses it.
struct RowBlock {
  __m256i biased;  // w + 128, unsigned
  __m256 d;
};

RBEE_AVX512_VNNI inline RowBlock row_block(const BlockQ8_0& x) {
  return {_mm256_xor_si256(load256(x.qs), _mm256_set1_epi8(static_cast<char>(0x80))),
          _mm256_set1_ps(f16(x.d))};
}

// acc + (the block's int32 sums) * d_x * d_a, the float operations of avx2_q8_0.cpp's
// add_block.
RBEE_AVX512_VNNI inline __m256 add_block(const RowBlock& w, const ActBlock& a, const float* a_d,
                                         __m256 acc) {
  const __m256i sums = _mm256_dpbusd_epi32(load256(a.neg_offset), w.biased, load256(a.values));
  return _mm256_fmadd_ps(_mm256_cvtepi32_ps(sums), _mm256_mul_ps(w.d, _mm256_broadcast_ss(a_d)),
                         acc);
}

// Where the extension starts: after the Q8_0 row, the blocks, then the scales as floats.
size_t blocks_offset(int64_t nb) {
  return extension_offset(static_cast<size_t>(nb) * sizeof(BlockQ8_0));
}

size_t scales_offset(int64_t nb) {
  return blocks_offset(nb) + static_cast<size_t>(nb) * sizeof(ActBlock);
}

const ActBlock* prepared_blocks(const void* activation, int64_t nb) {
  return reinterpret_cast<const ActBlock*>(static_cast<const std::byte*>(activation) +
                                           blocks_offset(nb));
}

const float* prepared_scales(const void* activation, int64_t nb) {
  return reinterpret_cast<const float*>(static_cast<const std::byte*>(activation) +
                                        scales_offset(nb));
}

size_t activation_bytes_q8_0(int64_t n) {
  const int64_t nb = detail::n_blocks(n, kQK8_0);
  return scales_offset(nb) + static_cast<size_t>(nb) * sizeof(float);
}

RBEE_AVX512_VNNI void prepare_q8_0(const float* __restrict x, void* __restrict activation,
                                   int64_t n) {
  const int64_t nb = detail::n_blocks(n, kQK8_0);
  quantize_row_q8_0_avx2(x, activation, n);
  const auto* y = static_cast<const BlockQ8_0*>(activation);
  auto* blocks =
      reinterpret_cast<ActBlock*>(static_cast<std::byte*>(activation) + blocks_offset(nb));
  auto* scales = reinterpret_cast<float*>(static_cast<std::byte*>(activation) + scales_offset(nb));
  const __m256i ones = _mm256_set1_epi8(1);
  for (int64_t b = 0; b < nb; ++b) {
    const __m256i values = load256(y[b].qs);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(blocks[b].values), values);
    // The lane sums of 4 values, times -128 (exact: at most 4 * 128 * 128).
    const __m256i sums = _mm256_dpbusd_epi32(_mm256_setzero_si256(), ones, values);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(blocks[b].neg_offset),
                        _mm256_mullo_epi32(sums, _mm256_set1_epi32(-128)));
    scales[b] = f16(y[b].d);
  }
}

template <int kRows, int kActs>
RBEE_AVX512_VNNI void tile_q8_0(const TileArgs& t, int64_t nb) {
  const BlockQ8_0* x[kRows];
  for (int r = 0; r < kRows; ++r) {
    x[r] = reinterpret_cast<const BlockQ8_0*>(t.rows + static_cast<size_t>(r) * t.row_stride);
  }
  const ActBlock* blocks[kActs];
  const float* scales[kActs];
  for (int j = 0; j < kActs; ++j) {
    const std::byte* act = t.acts + static_cast<size_t>(j) * t.act_stride;
    blocks[j] = prepared_blocks(act, nb);
    scales[j] = prepared_scales(act, nb);
  }
  __m256 acc[kRows][kActs];
  for (auto& row : acc) {
    for (__m256& a : row) a = _mm256_setzero_ps();
  }
  for (int64_t b = 0; b < nb; ++b) {
    if constexpr (kRows == 1 && kActs > 1)
      _mm_prefetch(reinterpret_cast<const char*>(x[0] + b) + kPrefetchBytes, _MM_HINT_T0);
    RowBlock w[kRows];
#pragma GCC unroll 8
    for (int r = 0; r < kRows; ++r) w[r] = row_block(x[r][b]);
#pragma GCC unroll 8
    for (int j = 0; j < kActs; ++j) {
#pragma GCC unroll 8
      for (int r = 0; r < kRows; ++r)
        acc[r][j] = add_block(w[r], blocks[j][b], scales[j] + b, acc[r][j]);
    }
  }
  for (int r = 0; r < kRows; ++r) {
    for (int j = 0; j < kActs; ++j)
      t.out[static_cast<size_t>(j) * t.out_stride + static_cast<size_t>(r) * t.out_row_step] =
          hsum(acc[r][j]);
  }
}

RBEE_AVX512_VNNI void dot_rows_multi_q8_0(const void* __restrict x, size_t row_stride,
                                          const void* __restrict activations,
                                          size_t activation_stride, int64_t n_act,
                                          float* __restrict out, size_t out_stride, int64_t n_rows,
                                          int64_t n) {
  const int64_t nb = detail::n_blocks(n, kQK8_0);
  // Decoding one or two sequences: tiles of three rows spread over the matrix, whose
  // independent FMA chains overlap (one activation: 1.45x a single row's stream in cache,
  // 1.3x from memory; two or four rows spread lost from memory where the spacing of the rows
  // was a large power of two). Three or four activations: a row streams front to back with
  // a prefetch ahead (faster from memory than the tiles: 155 against 175 ns a row at four).
  // A batch takes tiles of four rows by four activations, the rows spread: each activation
  // block is loaded once for four rows; 1.39x a tile of one row by eight activations in
  // cache, 1.16x from memory (2048 columns, Zen 4; 3 x 4 the same, 2 x 4, 4 x 2 and 2 x 6
  // slower), prompt processing 1.31x.
  const auto tile = [nb]<int kRows, int kActs>(const TileArgs& t)
                        RBEE_AVX512_VNNI { tile_q8_0<kRows, kActs>(t, nb); };
  if (n_act <= 2) {
    for_each_tile<3, 2, TileRows::kSpread>(x, row_stride, activations, activation_stride, n_act,
                                           out, out_stride, n_rows, tile);
    return;
  }
  if (n_act <= 4) {
    for_each_tile<1, 4>(x, row_stride, activations, activation_stride, n_act, out, out_stride,
                        n_rows, tile);
    return;
  }
  for_each_tile<4, 4, TileRows::kSpread>(x, row_stride, activations, activation_stride, n_act, out,
                                         out_stride, n_rows, tile);
}

RBEE_AVX512_VNNI void dot_rows_q8_0(const void* __restrict x, size_t row_stride,
                                    const void* __restrict activation, float* __restrict out,
                                    int64_t n_rows, int64_t n) {
  dot_rows_multi_q8_0(x, row_stride, activation, 0, 1, out, 0, n_rows, n);
}

}  // namespace

const MatvecKernel kMatvecQ8_0Avx512Vnni = {activation_bytes_q8_0, prepare_q8_0, dot_rows_q8_0,
                                            dot_rows_multi_q8_0};

}  // namespace rbee::engine::kernels::simd

#endif  // __x86_64__
