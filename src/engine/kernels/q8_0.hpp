#pragma once

// Q8_0 and Q8_1: blocks of 32 signed 8-bit values with an F16 scale (ggml's block_q8_0 and
// block_q8_1). Q8_0 is a weight type and the activation format (vec_dot type) of Q4_0,
// Q5_0 and Q8_0 weights; Q8_1 is the activation format of Q4_1 and Q5_1 weights.
//
//   Q8_0: x[i] = d * qs[i]
//   Q8_1: x[i] = d * qs[i], and s = d * sum(qs) lets a dot with an offset weight add
//         m * s instead of summing the activation again.

#include <cstdint>

namespace rbee::engine::kernels {

inline constexpr int64_t kQK8_0 = 32;
inline constexpr int64_t kQK8_1 = 32;

struct BlockQ8_0 {
  uint16_t d;         // F16 scale
  int8_t qs[kQK8_0];  // values
};
static_assert(sizeof(BlockQ8_0) == 34, "block_q8_0 is 34 bytes in GGUF");

struct BlockQ8_1 {
  uint16_t d;         // F16 scale
  uint16_t s;         // F16: d * sum(qs)
  int8_t qs[kQK8_1];  // values
};
static_assert(sizeof(BlockQ8_1) == 36, "block_q8_1 is 36 bytes in GGUF");

// All row functions take the number of elements `n`, a multiple of 32 (else RBEE_CHECK
// aborts), and never allocate.

void dequantize_row_q8_0(const BlockQ8_0* __restrict x, float* __restrict y, int64_t n);

// Quantizes as llama.cpp's x86 CPU backend quantizes activations: per block d = amax / 127,
// q = round-half-even(x * (127 / amax)). (ggml's portable reference, used by llama-quantize
// for weights, multiplies by 1 / d and rounds half away from zero instead; the two differ
// only in rare last-bit cases.)
void quantize_row_q8_0(const float* __restrict x, BlockQ8_0* __restrict y, int64_t n);

// Sum over blocks of (int sum of qs products) * (d_x * d_y).
float vec_dot_q8_0_q8_0(const BlockQ8_0* __restrict x, const BlockQ8_0* __restrict y, int64_t n);

void dequantize_row_q8_1(const BlockQ8_1* __restrict x, float* __restrict y, int64_t n);
// As quantize_row_q8_0, and s = F16(d * sum(qs)) with d the unrounded float scale.
void quantize_row_q8_1(const float* __restrict x, BlockQ8_1* __restrict y, int64_t n);

}  // namespace rbee::engine::kernels
