#pragma once

// Q4_1: blocks of 32 weights, 4 bits each, with an F16 scale and an F16 minimum (ggml's
// block_q4_1).
//   x[j] = d * (qs[j] & 0xf) + m,  x[j + 16] = d * (qs[j] >> 4) + m,  j < 16
// Dots take the activation quantized to Q8_1, whose s = d_a * sum(a) carries the m term.

#include <cstdint>

#include "engine/kernels/q8_0.hpp"

namespace rbee::engine::kernels {

inline constexpr int64_t kQK4_1 = 32;

struct BlockQ4_1 {
  uint16_t d;              // F16 scale
  uint16_t m;              // F16 minimum (added)
  uint8_t qs[kQK4_1 / 2];  // element j in the low nibble of qs[j], j + 16 in the high one
};
static_assert(sizeof(BlockQ4_1) == 20, "block_q4_1 is 20 bytes in GGUF");

// `n` is the number of elements, a multiple of 32 (else RBEE_CHECK aborts).
void dequantize_row_q4_1(const BlockQ4_1* __restrict x, float* __restrict y, int64_t n);
// ggml's reference quantizer: m = min, d = (max - min) / 15, q = min(15, trunc((x - m) / d
// + 0.5)).
void quantize_row_q4_1(const float* __restrict x, BlockQ4_1* __restrict y, int64_t n);
// Per block: (d_x * d_a) * (int sum of q * a) + m_x * s_a, summed in float.
float vec_dot_q4_1_q8_1(const BlockQ4_1* __restrict x, const BlockQ8_1* __restrict y, int64_t n);

}  // namespace rbee::engine::kernels
