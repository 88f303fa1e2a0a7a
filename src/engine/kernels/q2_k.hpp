#pragma once

// Q2_K: super-blocks of 256 weights in 16 groups of 16, 2 bits each (ggml's block_q2_K).
// Each group has a 4-bit scale and a 4-bit minimum, both multiplied by F16 super-block
// factors:
//   x[i] = d * (scales[g] & 0xf) * q[i] - dmin * (scales[g] >> 4),  g = i / 16, q in [0, 3]
// Element i = 128 c + 32 j + l (c < 2, j < 4, l < 32) is bits 2j..2j+1 of qs[32 c + l].
// Dots take the activation quantized to Q8_K.

#include <cstdint>

#include "engine/kernels/kernel_type.hpp"
#include "engine/kernels/q8_k.hpp"

namespace rbee::engine::kernels {

struct BlockQ2_K {
  uint8_t scales[kQK_K / 16];  // per group: scale in the low nibble, minimum in the high
  uint8_t qs[kQK_K / 4];       // 2-bit values, four per byte
  uint16_t d;                  // F16 factor of the scales
  uint16_t dmin;               // F16 factor of the minimums
};
static_assert(sizeof(BlockQ2_K) == 84, "block_q2_K is 84 bytes in GGUF");

// `n` is the number of elements, a multiple of 256 (else RBEE_CHECK aborts).
void dequantize_row_q2_k(const BlockQ2_K* __restrict x, float* __restrict y, int64_t n);
// A least-squares quantizer (not ggml's bit for bit; any valid encoding dequantizes the same).
void quantize_row_q2_k(const float* __restrict x, BlockQ2_K* __restrict y, int64_t n);
// Per super-block: d_a * d * (int sum of scale * q * a) - d_a * dmin * (int sum of minimum *
// group sum of a), as ggml's ggml_vec_dot_q2_K_q8_K.
float vec_dot_q2_k_q8_k(const BlockQ2_K* __restrict x, const BlockQ8_K* __restrict y, int64_t n);

}  // namespace rbee::engine::kernels
