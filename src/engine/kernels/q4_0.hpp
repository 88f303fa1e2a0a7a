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

}  // namespace rbee::engine::kernels
