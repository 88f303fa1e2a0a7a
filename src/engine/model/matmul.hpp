#pragma once

// Matrix-vector products over GGUF tensors of any supported type, computed the way
// llama.cpp's CPU backend does: the activation row is first converted to the weight type's
// dot-product type (F16 for F16 weights, Q8_0/Q8_1/Q8_K for quantized ones), then each weight
// row is dotted with it.

#include <cstdint>
#include <vector>

#include "common/result.hpp"
#include "engine/gguf/gguf_reader.hpp"
#include "engine/model/thread_pool.hpp"

namespace rbee::engine {

// kInvalidArgument naming the tensor when the engine cannot compute with its type.
Status check_matmul_type(const GgufTensor& weight);

// The activation in the weight's dot-product type, made once per product.
struct PreparedActivation {
  std::vector<uint8_t> bytes;
};
void prepare_activation(const GgufTensor& weight, const float* x, PreparedActivation& out);

// y[r] = W[r] · x for r in [row_begin, row_end); x was prepared for this weight's type.
void dot_rows(const GgufTensor& weight, const PreparedActivation& x, float* y, int64_t row_begin,
              int64_t row_end);

// y = W · x for every row, split across the pool.
void matvec(const GgufTensor& weight, const float* x, float* y, ThreadPool& pool,
            PreparedActivation& scratch);

// Row `row` of W as floats (ne0 of them).
void dequantize_row(const GgufTensor& weight, int64_t row, float* out);

}  // namespace rbee::engine
