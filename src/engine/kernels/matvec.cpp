#include "engine/kernels/matvec.hpp"

#include <algorithm>

#include "common/check.hpp"
#include "engine/kernels/kernel_table.hpp"

namespace rbee::engine::kernels {
namespace {

void check_row_range(const KernelTraits& traits, int64_t row_begin, int64_t row_end) {
  RBEE_CHECK(0 <= row_begin && row_begin <= row_end, "bad row range");
  RBEE_CHECK(row_begin % traits.row_group == 0 && row_end % traits.row_group == 0,
             "an interleaved layout's products cover whole groups of rows");
}

}  // namespace

size_t activation_bytes(KernelType weight_type, int64_t n_cols) {
  const KernelTraits& weights = type_traits(weight_type);
  const size_t plain = row_bytes(type_traits(weights.vec_dot_type), n_cols);
  return weights.matvec != nullptr ? weights.matvec->activation_bytes(n_cols) : plain;
}

void quantize_activation(KernelType weight_type, const float* __restrict x, int64_t n_cols,
                         std::span<std::byte> activation) {
  RBEE_CHECK(activation.size() >= activation_bytes(weight_type, n_cols),
             "activation scratch too small");
  const KernelTraits& weights = type_traits(weight_type);
  if (weights.matvec != nullptr) {
    weights.matvec->prepare(x, activation.data(), n_cols);
  } else {
    type_traits(weights.vec_dot_type).quantize_row(x, activation.data(), n_cols);
  }
}

void matvec_rows(KernelType weight_type, const void* __restrict weights, int64_t n_cols,
                 const void* __restrict activation, float* __restrict y, int64_t row_begin,
                 int64_t row_end) {
  const KernelTraits& traits = type_traits(weight_type);
  RBEE_CHECK(traits.vec_dot != nullptr || traits.matvec != nullptr,
             "an activation-only type has no weight dot product");
  check_row_range(traits, row_begin, row_end);
  const size_t stride_bytes = row_bytes(traits, n_cols);
  const auto* base = static_cast<const std::byte*>(weights);
  if (traits.matvec != nullptr) {
    traits.matvec->dot_rows(base + static_cast<size_t>(row_begin) * stride_bytes, stride_bytes,
                            activation, y + row_begin, row_end - row_begin, n_cols);
    return;
  }
  for (int64_t r = row_begin; r < row_end; ++r) {
    y[r] = traits.vec_dot(base + static_cast<size_t>(r) * stride_bytes, activation, n_cols);
  }
}

size_t activation_stride(KernelType weight_type, int64_t n_cols) {
  constexpr size_t kCacheLine = 64;
  return (activation_bytes(weight_type, n_cols) + kCacheLine - 1) / kCacheLine * kCacheLine;
}

void matmul_rows(KernelType weight_type, const void* __restrict weights, int64_t n_cols,
                 const void* __restrict activations, size_t activation_stride, int64_t n_act,
                 float* __restrict y, size_t y_stride, int64_t row_begin, int64_t row_end) {
  check_row_range(type_traits(weight_type), row_begin, row_end);
  RBEE_CHECK(n_act >= 0, "bad activation count");
  // One activation (a decode step): the matrix-vector path streams the weights front to back,
  // which the tiles' panels would only slow down.
  if (n_act == 1) {
    matvec_rows(weight_type, weights, n_cols, activations, y, row_begin, row_end);
    return;
  }
  const KernelTraits& traits = type_traits(weight_type);
  if (traits.matvec != nullptr && traits.matvec->dot_rows_multi != nullptr) {
    const size_t stride_bytes = row_bytes(traits, n_cols);
    const auto* base = static_cast<const std::byte*>(weights);
    traits.matvec->dot_rows_multi(base + static_cast<size_t>(row_begin) * stride_bytes,
                                  stride_bytes, activations, activation_stride, n_act,
                                  y + row_begin, y_stride, row_end - row_begin, n_cols);
    return;
  }
  // Blocks of rows small enough to stay in the L1 cache while every activation passes over
  // them: memory traffic for the weights is that of one matrix-vector product.
  constexpr size_t kTileBytes = 16 * 1024;
  const size_t stride_bytes = row_bytes(traits, n_cols);
  const int64_t tile_rows = std::max<int64_t>(1, int64_t(kTileBytes / stride_bytes));
  const auto* acts = static_cast<const std::byte*>(activations);
  for (int64_t tile = row_begin; tile < row_end; tile += tile_rows) {
    const int64_t tile_end = std::min(row_end, tile + tile_rows);
    for (int64_t j = 0; j < n_act; ++j) {
      matvec_rows(weight_type, weights, n_cols, acts + size_t(j) * activation_stride,
                  y + size_t(j) * y_stride, tile, tile_end);
    }
  }
}

void matvec(KernelType weight_type, const void* __restrict weights, int64_t n_rows, int64_t n_cols,
            const float* __restrict x, float* __restrict y, std::span<std::byte> scratch,
            int64_t row_begin, int64_t row_end) {
  RBEE_CHECK(0 <= row_begin && row_begin <= row_end && row_end <= n_rows, "bad row range");
  quantize_activation(weight_type, x, n_cols, scratch);
  matvec_rows(weight_type, weights, n_cols, scratch.data(), y, row_begin, row_end);
}

}  // namespace rbee::engine::kernels
