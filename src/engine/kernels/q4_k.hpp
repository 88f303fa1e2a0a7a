#pragma once

// Q4_K: super-blocks of 256 weights in 8 groups of 32, 4 bits each, with 6-bit group scales
// and minimums multiplied by F16 super-block factors (ggml's block_q4_K):
//   x[i] = d * sc[g] * q[i] - dmin * m[g],  g = i / 32, q in [0, 15]
// Element i = 64 c + l (c < 4, l < 64): low nibble of qs[32 c + l] for l < 32, high nibble
// of qs[32 c + l - 32] otherwise. sc and m are packed in 12 bytes as
// detail::unpack_scale_min_k4 describes. Dots take the activation quantized to Q8_K.

#include <cstdint>

#include "engine/kernels/kernel_type.hpp"
#include "engine/kernels/q8_k.hpp"

namespace rbee::engine::kernels {

struct BlockQ4_K {
  uint16_t d;             // F16 factor of the group scales
  uint16_t dmin;          // F16 factor of the group minimums
  uint8_t scales[12];     // 8 scales and 8 minimums, 6 bits each
  uint8_t qs[kQK_K / 2];  // 4-bit values
};
static_assert(sizeof(BlockQ4_K) == 144, "block_q4_K is 144 bytes in GGUF");

// `n` is the number of elements, a multiple of 256 (else RBEE_CHECK aborts).
void dequantize_row_q4_k(const BlockQ4_K* __restrict x, float* __restrict y, int64_t n);
// A least-squares quantizer (not ggml's bit for bit).
void quantize_row_q4_k(const float* __restrict x, BlockQ4_K* __restrict y, int64_t n);
// Per super-block: d * d_a * (int sum of sc * group sum of q * a) - dmin * d_a * (int sum of
// m * group sums of a, from the Q8_K bsums).
float vec_dot_q4_k_q8_k(const BlockQ4_K* __restrict x, const BlockQ8_K* __restrict y, int64_t n);

// Q4_Kx8: super-block b of eight consecutive rows of a Q4_K matrix, interleaved so that a
// SIMD kernel works on the eight rows at once, one 32-bit lane per row. A row's own kernel
// spends most of its work on per-row overhead: unpacking scales, a horizontal sum, the float
// terms, each for one row; across eight rows each instruction serves all of them, and each
// activation byte is loaded once for the eight. A matrix of 8k rows becomes k groups, each
// its eight rows' bytes (the same size), holding the groups' super-blocks in order.
inline constexpr int64_t kQ4_Kx8Rows = 8;

struct BlockQ4_Kx8 {
  uint16_t d[kQ4_Kx8Rows];     // d of row r
  uint16_t dmin[kQ4_Kx8Rows];  // dmin of row r
  // scales[w][r]: 32-bit word w of row r's 12 packed scale bytes (little-endian).
  uint32_t scales[3][kQ4_Kx8Rows];
  // qs[c][k][r][i]: row r's qs[32 c + 4 k + i]: the low nibbles are elements 64 c + 4 k + i
  // (group 2c), the high nibbles elements 64 c + 32 + 4 k + i (group 2c + 1).
  uint8_t qs[4][8][kQ4_Kx8Rows][4];
};
static_assert(sizeof(BlockQ4_Kx8) == kQ4_Kx8Rows * sizeof(BlockQ4_K),
              "a repacked group keeps its rows' size");

// Rewrites the eight Q4_K rows of `n` elements each (a multiple of 256, else RBEE_CHECK
// aborts) starting at x, one after another, as one Q4_Kx8 group.
void repack_rows_q4_kx8(const BlockQ4_K* __restrict x, BlockQ4_Kx8* __restrict y, int64_t n);
// The inverse: the eight Q4_K rows again.
void unpack_rows_q4_kx8(const BlockQ4_Kx8* __restrict x, BlockQ4_K* __restrict y, int64_t n);

}  // namespace rbee::engine::kernels
