#pragma once

// Q3_K: super-blocks of 256 weights in 16 groups of 16, 3 bits each, with signed 6-bit group
// scales and one F16 factor (ggml's block_q3_K):
//   x[i] = d * (s[g] - 32) * q[i],  g = i / 16, q in [-4, 3]
// Element i = 128 c + 32 j + l (c < 2, j < 4, l < 32): its low 2 bits are bits 2j..2j+1 of
// qs[32 c + l]; q = low + (bit 4c + j of hmask[l] ? 0 : -4).
// Scale s[g] (6 bits): low 4 bits in scales[g] & 0xf for g < 8, scales[g - 8] >> 4 for
// g >= 8; high 2 bits are bits 2 (g / 4) .. 2 (g / 4) + 1 of scales[8 + g % 4].
// Dots take the activation quantized to Q8_K.

#include <cstdint>

#include "engine/kernels/kernel_type.hpp"
#include "engine/kernels/q8_k.hpp"

namespace rbee::engine::kernels {

struct BlockQ3_K {
  uint8_t hmask[kQK_K / 8];  // high bits of the values
  uint8_t qs[kQK_K / 4];     // low 2 bits of the values, four per byte
  uint8_t scales[12];        // 16 six-bit group scales, packed as described above
  uint16_t d;                // F16 factor of the scales
};
static_assert(sizeof(BlockQ3_K) == 110, "block_q3_K is 110 bytes in GGUF");

// `n` is the number of elements, a multiple of 256 (else RBEE_CHECK aborts).
void dequantize_row_q3_k(const BlockQ3_K* __restrict x, float* __restrict y, int64_t n);
// A least-squares quantizer (not ggml's bit for bit).
void quantize_row_q3_k(const float* __restrict x, BlockQ3_K* __restrict y, int64_t n);
// Per super-block: d * d_a * (int sum over groups of (s - 32) * group sum of q * a).
float vec_dot_q3_k_q8_k(const BlockQ3_K* __restrict x, const BlockQ8_K* __restrict y, int64_t n);

}  // namespace rbee::engine::kernels
