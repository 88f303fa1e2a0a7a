#pragma once

// Q5_K: super-blocks of 256 weights in 8 groups of 32, 5 bits each, with 6-bit group scales
// and minimums multiplied by F16 super-block factors (ggml's block_q5_K):
//   x[i] = d * sc[g] * q[i] - dmin * m[g],  g = i / 32, q in [0, 31]
// Element i = 64 c + l (c < 4, l < 64): low 4 bits as in Q4_K (low nibble of qs[32 c + l]
// for l < 32, high nibble of qs[32 c + l - 32] otherwise); the 5th bit is bit 2c of
// qh[l] for l < 32, bit 2c + 1 of qh[l - 32] otherwise. sc and m are packed as in Q4_K.
// Dots take the activation quantized to Q8_K.

#include <cstdint>

#include "engine/kernels/kernel_type.hpp"
#include "engine/kernels/q8_k.hpp"

namespace rbee::engine::kernels {

struct BlockQ5_K {
  uint16_t d;             // F16 factor of the group scales
  uint16_t dmin;          // F16 factor of the group minimums
  uint8_t scales[12];     // 8 scales and 8 minimums, 6 bits each
  uint8_t qh[kQK_K / 8];  // 5th bits
  uint8_t qs[kQK_K / 2];  // low 4 bits
};
static_assert(sizeof(BlockQ5_K) == 176, "block_q5_K is 176 bytes in GGUF");

// `n` is the number of elements, a multiple of 256 (else RBEE_CHECK aborts).
void dequantize_row_q5_k(const BlockQ5_K* __restrict x, float* __restrict y, int64_t n);
// A least-squares quantizer (not ggml's bit for bit).
void quantize_row_q5_k(const float* __restrict x, BlockQ5_K* __restrict y, int64_t n);
// As vec_dot_q4_k_q8_k, with 5-bit values.
float vec_dot_q5_k_q8_k(const BlockQ5_K* __restrict x, const BlockQ8_K* __restrict y, int64_t n);

}  // namespace rbee::engine::kernels
