#pragma once

// Q8_K: the activation format (vec_dot type) of every K-quant weight type (ggml's
// block_q8_K): super-blocks of 256 signed 8-bit values with a float scale, and the sums of
// each group of 16 values precomputed for the K-quants' minimum terms.
//   x[i] = d * qs[i]

#include <cstdint>

#include "engine/kernels/kernel_type.hpp"

namespace rbee::engine::kernels {

struct BlockQ8_K {
  float d;                    // scale (float, not F16)
  int8_t qs[kQK_K];           // values
  int16_t bsums[kQK_K / 16];  // bsums[g] = sum of qs[16 g .. 16 g + 15]
};
static_assert(sizeof(BlockQ8_K) == 292, "block_q8_K is 292 bytes");

// `n` is the number of elements, a multiple of 256 (else RBEE_CHECK aborts).
void dequantize_row_q8_k(const BlockQ8_K* __restrict x, float* __restrict y, int64_t n);
// As ggml quantizes (quantize_row_q8_K_ref): with max the element of largest magnitude
// (the first one on ties), q = min(127, round-half-even(x * (-127 / max))) and d = 1 /
// (-127 / max); an all-zero block gets d = 0.
void quantize_row_q8_k(const float* __restrict x, BlockQ8_K* __restrict y, int64_t n);

}  // namespace rbee::engine::kernels
