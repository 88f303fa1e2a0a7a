#include "engine/model/matmul.hpp"

#include "common/check.hpp"
#include "engine/kernels/kernel_table.hpp"
#include "engine/kernels/matvec.hpp"

namespace rbee::engine {
namespace {

kernels::KernelType kernel_type(const GgufTensor& w) {
  return static_cast<kernels::KernelType>(static_cast<uint32_t>(w.type));
}

int64_t n_cols(const GgufTensor& w) {
  return static_cast<int64_t>(w.dims[0]);
}

}  // namespace

Status check_matmul_type(const GgufTensor& weight) {
  const kernels::KernelTraits* traits =
      kernels::find_type_traits(static_cast<uint32_t>(weight.type));
  if (traits && traits->vec_dot != nullptr) {
    // The activation must split into whole blocks of the dot-product type too.
    const auto& activation = kernels::type_traits(traits->vec_dot_type);
    if (n_cols(weight) % activation.block_size == 0) return ok_status();
    return Error{ErrorCode::kInvalidArgument,
                 "tensor '" + std::string(weight.name) + "' has rows of " +
                     std::to_string(n_cols(weight)) + " elements, not a multiple of " +
                     std::to_string(activation.block_size) + " as " + traits->name + " needs"};
  }
  return Error{ErrorCode::kInvalidArgument, "tensor '" + std::string(weight.name) + "' has type " +
                                                std::string(type_name(weight.type)) +
                                                ", which the engine cannot multiply"};
}

void prepare_activation(const GgufTensor& weight, const float* x, PreparedActivation& out) {
  out.bytes.resize(kernels::activation_bytes(kernel_type(weight), n_cols(weight)));
  kernels::quantize_activation(kernel_type(weight), x, n_cols(weight),
                               std::as_writable_bytes(std::span(out.bytes)));
}

void dot_rows(const GgufTensor& weight, const PreparedActivation& x, float* y, int64_t row_begin,
              int64_t row_end) {
  kernels::matvec_rows(kernel_type(weight), weight.data, n_cols(weight), x.bytes.data(), y,
                       row_begin, row_end);
}

void matvec(const GgufTensor& weight, const float* x, float* y, ThreadPool& pool,
            PreparedActivation& scratch) {
  prepare_activation(weight, x, scratch);
  pool.parallel_for(static_cast<int64_t>(weight.dims[1]),
                    [&](int64_t begin, int64_t end) { dot_rows(weight, scratch, y, begin, end); });
}

void dequantize_row(const GgufTensor& weight, int64_t row, float* out) {
  const kernels::KernelTraits& traits = kernels::type_traits(kernel_type(weight));
  const size_t bytes = kernels::row_bytes(traits, n_cols(weight));
  traits.dequantize_row(weight.data + size_t(row) * bytes, out, n_cols(weight));
}

}  // namespace rbee::engine
