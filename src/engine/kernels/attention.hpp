#pragma once

// The inner loops of attention that are not matrix products with weights: the scores of
// queries against every cached key, the softmax's exponentials, and the weighted sums of
// values. Called once per token and key head, over the whole context, for all the query heads
// that share that key head, so that the cache is read and converted once for them; a call per
// key (a few cycles of work each for small heads) would cost more than the arithmetic. AVX2
// versions are used where the kernel table is the AVX2 one; the scalar ones are the reference.

#include <cstddef>
#include <cstdint>
#include <span>

#include "engine/kernels/kernel_type.hpp"

namespace rbee::engine::kernels {

// `count` rows, row i starting `stride` elements after row 0: the queries of the heads that
// share one key head (grouped-query attention puts them side by side in a token's q), or
// those heads' softmax weights.
template <typename T>
struct HeadRows {
  T* data;
  int64_t stride;
  int64_t count;
};

// scores[i * scores_stride + t] = scale * dot(key t, query i) for t < n_kv and every query.
// Key t starts `key_stride` elements after key t - 1 (keys of one head at every position of a
// cache that holds all heads side by side); keys and queries are `head_dim` elements of
// `type`, which is kF16 or kF32. The queries that share the keys share the call: each key is
// read once for all of them, and each query's scores are the bits it gets alone.
void attention_scores(KernelType type, const void* keys, int64_t key_stride,
                      HeadRows<const void> queries, int64_t head_dim, int64_t n_kv, float scale,
                      float* scores, int64_t scores_stride);

// x[i] = exp(x[i] - shift) for i < n; returns the sum of the results, added in double.
double exp_shifted(float* x, int64_t n, float shift);

// Bytes of scratch attention_values needs for `n_rows` weight rows of n_kv positions.
size_t attention_values_scratch_bytes(KernelType type, int64_t n_kv, int64_t n_rows = 1);

// out[i * out_stride + d] = vec_dot(values row d, weight row i rounded to `type`) for
// d < head_dim and every weight row, bit for bit: values row d starts `value_stride`
// elements after row d - 1 (a transposed V cache keeps one dimension's values over all
// positions side by side), a weight row holds n_kv floats, `type` is kF16 or kF32. Each weight
// row is rounded once for every dimension; where the type has a matrix-vector path the values
// rows go through it in one call for all weight rows (each row of values read once for all
// of them), and each result is still the bits of that weight row alone.
void attention_values(KernelType type, const void* values, int64_t value_stride,
                      HeadRows<const float> weights, int64_t n_kv, int64_t head_dim,
                      std::span<std::byte> scratch, float* out, int64_t out_stride);

}  // namespace rbee::engine::kernels
