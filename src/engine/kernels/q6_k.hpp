#pragma once

// Q6_K: super-blocks of 256 weights in 16 groups of 16, 6 bits each, with signed 8-bit group
// scales and one F16 factor (ggml's block_q6_K):
//   x[i] = d * scales[g] * (q[i] - 32),  g = i / 16, q in [0, 63]
// Element i = 128 c + 32 k + l (c < 2, k < 4, l < 32): its low 4 bits are the low nibble
// (k < 2) or high nibble (k >= 2) of ql[64 c + 32 (k % 2) + l]; its high 2 bits are bits
// 2k..2k+1 of qh[32 c + l]. Dots take the activation quantized to Q8_K.

#include <cstdint>

#include "engine/kernels/kernel_type.hpp"
#include "engine/kernels/q8_k.hpp"

namespace rbee::engine::kernels {

struct BlockQ6_K {
  uint8_t ql[kQK_K / 2];      // low 4 bits of the values
  uint8_t qh[kQK_K / 4];      // high 2 bits of the values
  int8_t scales[kQK_K / 16];  // group scales
  uint16_t d;                 // F16 factor of the scales
};
static_assert(sizeof(BlockQ6_K) == 210, "block_q6_K is 210 bytes in GGUF");

// `n` is the number of elements, a multiple of 256 (else RBEE_CHECK aborts).
void dequantize_row_q6_k(const BlockQ6_K* __restrict x, float* __restrict y, int64_t n);
// A least-squares quantizer (not ggml's bit for bit).
void quantize_row_q6_k(const float* __restrict x, BlockQ6_K* __restrict y, int64_t n);
// Per super-block: d * d_a * (int sum over groups of scale * group sum of (q - 32) * a).
float vec_dot_q6_k_q8_k(const BlockQ6_K* __restrict x, const BlockQ8_K* __restrict y, int64_t n);

}  // namespace rbee::engine::kernels
