#pragma once

// Q5_0: blocks of 32 weights, 5 bits each, with an F16 scale (ggml's block_q5_0). The low 4
// bits sit in nibbles as in Q4_0; bit i of the little-endian 32-bit qh is element i's 5th bit.
//   x[i] = d * (q[i] - 16),  q[i] in [0, 31]
// Dots take the activation quantized to Q8_0.

#include <cstdint>

#include "engine/kernels/q8_0.hpp"

namespace rbee::engine::kernels {

inline constexpr int64_t kQK5_0 = 32;

struct BlockQ5_0 {
  uint16_t d;              // F16 scale
  uint8_t qh[4];           // 5th bits, little-endian uint32, bit i for element i
  uint8_t qs[kQK5_0 / 2];  // low 4 bits: element j low nibble, j + 16 high nibble
};
static_assert(sizeof(BlockQ5_0) == 22, "block_q5_0 is 22 bytes in GGUF");

// `n` is the number of elements, a multiple of 32 (else RBEE_CHECK aborts).
void dequantize_row_q5_0(const BlockQ5_0* __restrict x, float* __restrict y, int64_t n);
// ggml's reference quantizer: d = -max / 16, q = min(31, trunc(x / d + 16.5)).
void quantize_row_q5_0(const float* __restrict x, BlockQ5_0* __restrict y, int64_t n);
// Per block: (d_x * d_a) * (int sum of (q - 16) * a), summed in float.
float vec_dot_q5_0_q8_0(const BlockQ5_0* __restrict x, const BlockQ8_0* __restrict y, int64_t n);

}  // namespace rbee::engine::kernels
