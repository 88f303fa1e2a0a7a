#pragma once

// Row kernels of F32 tensors (block size 1): copies, and the dot product the way ggml's
// scalar ggml_vec_dot_f32 computes it (products in float, accumulated in double).

#include <cstdint>

namespace rbee::engine::kernels {

// y[i] = x[i] (the "dequantization" and "quantization" of F32 are copies).
void copy_row_f32(const float* __restrict x, float* __restrict y, int64_t n);
// Sum of x[i] * y[i].
float vec_dot_f32(const float* __restrict x, const float* __restrict y, int64_t n);

}  // namespace rbee::engine::kernels
