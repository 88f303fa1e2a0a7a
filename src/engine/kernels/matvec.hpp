#pragma once

// Matrix-vector products over the kernel table, computed as llama.cpp's CPU backend does:
// the activation is quantized once to the weight type's vec_dot_type, then each output is
// the type's vec_dot of one weight row with it.
//
// Single-threaded; a caller with a thread pool quantizes once (quantize_activation), then
// gives each thread its own [row_begin, row_end) of matvec_rows. No call allocates.

#include <cstddef>
#include <cstdint>
#include <span>

#include "engine/kernels/kernel_type.hpp"

namespace rbee::engine::kernels {

// Bytes of scratch that holds an activation row of `n_cols` in the vec_dot type of
// `weight_type` (n_cols a multiple of both types' block sizes, else RBEE_CHECK aborts).
size_t activation_bytes(KernelType weight_type, int64_t n_cols);

// Writes x[0..n_cols) in the vec_dot type of `weight_type` into `activation`, which holds
// activation_bytes(weight_type, n_cols) bytes aligned to 4.
void quantize_activation(KernelType weight_type, const float* __restrict x, int64_t n_cols,
                         std::span<std::byte> activation);

// y[r] = dot(row r of `weights`, activation) for r in [row_begin, row_end). `weights` is
// a row-major [n_rows x n_cols] matrix of `weight_type` (each row row_bytes long, as in
// GGUF); `activation` comes from quantize_activation; y has at least row_end elements.
// `weight_type` must be a weight type (not Q8_1 or Q8_K), and for an interleaved layout
// (KernelTraits::row_group > 1) row_begin and row_end multiples of its row_group (else
// RBEE_CHECK aborts).
void matvec_rows(KernelType weight_type, const void* __restrict weights, int64_t n_cols,
                 const void* __restrict activation, float* __restrict y, int64_t row_begin,
                 int64_t row_end);

// quantize_activation then matvec_rows over [row_begin, row_end) (0 <= row_begin <= row_end
// <= n_rows); `scratch` holds activation_bytes(weight_type, n_cols) bytes aligned to 4.
void matvec(KernelType weight_type, const void* __restrict weights, int64_t n_rows, int64_t n_cols,
            const float* __restrict x, float* __restrict y, std::span<std::byte> scratch,
            int64_t row_begin, int64_t row_end);

// Bytes between two prepared activations in a batch for matmul_rows: activation_bytes rounded
// up to a cache line, so that each starts aligned.
size_t activation_stride(KernelType weight_type, int64_t n_cols);

// The matrix product of a weight block with a batch of activations: for every activation j
// in [0, n_act) (prepared by quantize_activation, `activation_stride` bytes apart) and every
// row r in [row_begin, row_end), y[j * y_stride + r] = dot(row r, activation j), bit for bit
// the value matvec_rows gives for that activation alone. So a sequence's results do not
// depend on what else is in its batch. Weights are read from memory once per block of rows
// and reused from cache for every activation. Row ranges as for matvec_rows.
void matmul_rows(KernelType weight_type, const void* __restrict weights, int64_t n_cols,
                 const void* __restrict activations, size_t activation_stride, int64_t n_act,
                 float* __restrict y, size_t y_stride, int64_t row_begin, int64_t row_end);

// matvec over every row.
inline void matvec(KernelType weight_type, const void* __restrict weights, int64_t n_rows,
                   int64_t n_cols, const float* __restrict x, float* __restrict y,
                   std::span<std::byte> scratch) {
  matvec(weight_type, weights, n_rows, n_cols, x, y, scratch, 0, n_rows);
}

}  // namespace rbee::engine::kernels
