#pragma once

// Matrix products over GGUF tensors of any supported type, computed the way llama.cpp's CPU
// backend does: each activation row is first converted to the weight type's dot-product type
// (F16 for F16 weights, Q8_0/Q8_1/Q8_K for quantized ones), then each weight row is dotted
// with it. A batch of rows (a prompt, or one token of each of several sequences) is prepared
// once and multiplied in one pass over the weights; each result is bit for bit the one the
// row would get alone, so a sequence's logits never depend on what it was batched with.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>

#include "common/result.hpp"
#include "engine/gguf/gguf_reader.hpp"
#include "engine/model/thread_pool.hpp"

namespace rbee::engine {

// kInvalidArgument naming the tensor when the engine cannot compute with its type.
Status check_matmul_type(const GgufTensor& weight);

// Activation rows in a weight's dot-product type, each starting on a cache line. Reused from
// product to product: its memory grows to the largest batch and stays.
class ActivationBatch {
 public:
  // Prepares rows x[i * n_cols ...] for i < n_rows for products with `weight` (n_cols is its
  // row length), split across the pool when there are several.
  void prepare(const GgufTensor& weight, const float* x, int64_t n_rows, ThreadPool& pool);
  // Whether the prepared rows suit `weight` too (same dot-product layout and length): then
  // products with it need no new prepare().
  bool suits(const GgufTensor& weight) const;

  int64_t n_rows() const { return n_rows_; }
  size_t stride() const { return stride_; }
  const std::byte* data() const { return data_; }

 private:
  std::unique_ptr<std::byte[]> storage_;
  size_t capacity_ = 0;
  std::byte* data_ = nullptr;
  size_t stride_ = 0;
  int64_t n_rows_ = 0;
  uintptr_t layout_ = 0;
  int64_t n_cols_ = 0;
};

// ys[k][i * n_out + r] = W_k[r] · x_i for every row r of each weight W_k (n_out rows; up to
// kMaxGroup weights that all suit x, such as Q, K and V) and every prepared row x_i. The rows
// of all the weights are split across the pool at once: one hand-over and one wait, however
// many weights. Small products run on the calling thread alone: waking the others would cost
// more than it saves.
inline constexpr size_t kMaxGroup = 4;
void matmul(std::span<const GgufTensor* const> weights, const ActivationBatch& x,
            std::span<float* const> ys, ThreadPool& pool);

// Row `row` of W as floats (ne0 of them).
void dequantize_row(const GgufTensor& weight, int64_t row, float* out);

}  // namespace rbee::engine
