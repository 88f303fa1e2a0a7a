#pragma once

// Q4_0: blocks of 32 weights, 4 bits each, with an F16 scale (ggml's block_q4_0).
//   x[j] = d * ((qs[j] & 0xf) - 8),  x[j + 16] = d * ((qs[j] >> 4) - 8),  j < 16
// Dots take the activation quantized to Q8_0 (llama.cpp's vec_dot type for Q4_0).

#include <cstdint>

#include "engine/kernels/q8_0.hpp"

namespace rbee::engine::kernels {

inline constexpr int64_t kQK4_0 = 32;

struct BlockQ4_0 {
  uint16_t d;              // F16 scale
  uint8_t qs[kQK4_0 / 2];  // element j in the low nibble of qs[j], j + 16 in the high one
};
static_assert(sizeof(BlockQ4_0) == 18, "block_q4_0 is 18 bytes in GGUF");

// `n` is the number of elements, a multiple of 32 (else RBEE_CHECK aborts).
void dequantize_row_q4_0(const BlockQ4_0* __restrict x, float* __restrict y, int64_t n);
// ggml's reference quantizer: d = -max / 8 with max the element of largest magnitude,
// q = min(15, trunc(x / d + 8.5)).
void quantize_row_q4_0(const float* __restrict x, BlockQ4_0* __restrict y, int64_t n);
// Per block: (sum of (q - 8) * a as int32) * d_x * d_a, summed in float.
float vec_dot_q4_0_q8_0(const BlockQ4_0* __restrict x, const BlockQ8_0* __restrict y, int64_t n);

// Q4_0x8: eight consecutive Q4_0 blocks of a row (an "octet", 256 weights) in the order the
// SIMD kernels put them in registers (simd/avx2_q4_0.cpp): 32-bit lane l of a 256-bit
// register holds block kQ4_0x8LaneBlock[l]. Those kernels otherwise gather every octet from
// eight 18-byte blocks, a shuffle per register that costs as much as the products when
// decoding; a model repacks its Q4_0 matrices into this layout once at load time (same
// bytes per row) and the gathering is gone. The values are Q4_0's, so every dot is too.
inline constexpr int64_t kQK4_0x8 = 8 * kQK4_0;
inline constexpr int kQ4_0x8LaneBlock[8] = {0, 2, 4, 6, 1, 3, 5, 7};

struct BlockQ4_0x8 {
  uint16_t d[8];      // lane l: the F16 scale of block kQ4_0x8LaneBlock[l]
  uint8_t qs[4][32];  // qs[k][4 * l + i]: byte 4k + i of that block's qs, i < 4
};
static_assert(sizeof(BlockQ4_0x8) == 8 * sizeof(BlockQ4_0), "a repacked row keeps its size");

// Rewrites a Q4_0 row of `n` elements (a multiple of 256, else RBEE_CHECK aborts) as Q4_0x8.
void repack_row_q4_0x8(const BlockQ4_0* __restrict x, BlockQ4_0x8* __restrict y, int64_t n);
// The inverse: the Q4_0 blocks again.
void unpack_row_q4_0x8(const BlockQ4_0x8* __restrict x, BlockQ4_0* __restrict y, int64_t n);
// Q4_0's dequantizer, quantizer and dot over the repacked blocks (the same values, sums and
// order as on the Q4_0 row).
void dequantize_row_q4_0x8(const BlockQ4_0x8* __restrict x, float* __restrict y, int64_t n);
void quantize_row_q4_0x8(const float* __restrict x, BlockQ4_0x8* __restrict y, int64_t n);
float vec_dot_q4_0x8_q8_0(const BlockQ4_0x8* __restrict x, const BlockQ8_0* __restrict y,
                          int64_t n);

}  // namespace rbee::engine::kernels
