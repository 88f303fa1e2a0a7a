#pragma once

// The inner loops of attention that are not matrix products with weights: the scores of one
// query against every cached key, the softmax's exponentials, and the weighted sum of values.
// Called once per token and head, over the whole context, so a call per key (a few cycles of work
// each for small heads) would cost more than the arithmetic. AVX2 versions are used where the
// kernel table is the AVX2 one; the scalar ones are the reference.

#include <cstddef>
#include <cstdint>
#include <span>

#include "engine/kernels/kernel_type.hpp"

namespace rbee::engine::kernels {

// scores[t] = scale * dot(key t, q) for t < n_kv. Key t starts `key_stride` elements after
// key t - 1 (keys of one head at every position of a cache that holds all heads side by
// side); keys and q are `head_dim` elements of `type`, which is kF16 or kF32.
void attention_scores(KernelType type, const void* keys, int64_t key_stride, const void* q,
                      int64_t head_dim, int64_t n_kv, float scale, float* scores);

// x[i] = exp(x[i] - shift) for i < n; returns the sum of the results, added in double.
double exp_shifted(float* x, int64_t n, float shift);

// Bytes of scratch attention_values needs for n_kv positions.
size_t attention_values_scratch_bytes(KernelType type, int64_t n_kv);

// out[d] = vec_dot(values row d, the weights rounded to `type`) for d < head_dim, bit for
// bit: row d starts `value_stride` elements after row d - 1 (a transposed V cache keeps one
// dimension's values over all positions side by side), `weights` holds n_kv floats, `type`
// is kF16 or kF32. The weights are rounded once for every dimension, and where the type has
// a matrix-vector path its rows go through it in one call.
void attention_values(KernelType type, const void* values, int64_t value_stride,
                      const float* weights, int64_t n_kv, int64_t head_dim,
                      std::span<std::byte> scratch, float* out);

}  // namespace rbee::engine::kernels
