#pragma once

// Q5_1: blocks of 32 weights, 5 bits each, with an F16 scale and an F16 minimum (ggml's
// block_q5_1); bits laid out as in Q5_0.
//   x[i] = d * q[i] + m,  q[i] in [0, 31]
// Dots take the activation quantized to Q8_1.

#include <cstdint>

#include "engine/kernels/q8_0.hpp"

namespace rbee::engine::kernels {

inline constexpr int64_t kQK5_1 = 32;

struct BlockQ5_1 {
  uint16_t d;              // F16 scale
  uint16_t m;              // F16 minimum (added)
  uint8_t qh[4];           // 5th bits, little-endian uint32, bit i for element i
  uint8_t qs[kQK5_1 / 2];  // low 4 bits: element j low nibble, j + 16 high nibble
};
static_assert(sizeof(BlockQ5_1) == 24, "block_q5_1 is 24 bytes in GGUF");

// `n` is the number of elements, a multiple of 32 (else RBEE_CHECK aborts).
void dequantize_row_q5_1(const BlockQ5_1* __restrict x, float* __restrict y, int64_t n);
// ggml's reference quantizer: m = min, d = (max - min) / 31, q = trunc((x - m) / d + 0.5).
void quantize_row_q5_1(const float* __restrict x, BlockQ5_1* __restrict y, int64_t n);
// Per block: (d_x * d_a) * (int sum of q * a) + m_x * s_a, summed in float.
float vec_dot_q5_1_q8_1(const BlockQ5_1* __restrict x, const BlockQ8_1* __restrict y, int64_t n);

}  // namespace rbee::engine::kernels
