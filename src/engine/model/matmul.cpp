#include "engine/model/matmul.hpp"

#include <cstring>

#include "common/check.hpp"
#include "engine/kernels/f32.hpp"
#include "engine/kernels/float16.hpp"

namespace rbee::engine {
namespace {

int64_t row_bytes(const GgufTensor& w) {
  return static_cast<int64_t>(w.dims[0] / block_size(w.type) * type_size(w.type));
}

const uint8_t* row_data(const GgufTensor& w, int64_t row) {
  return w.data + row * row_bytes(w);
}

// F16·F16 as ggml's scalar ggml_vec_dot_f16: products in float, summed in double.
float vec_dot_f16(const uint16_t* x, const uint16_t* y, int64_t n) {
  double sum = 0;
  for (int64_t i = 0; i < n; ++i) {
    sum += static_cast<double>(kernels::fp16_to_fp32(x[i]) * kernels::fp16_to_fp32(y[i]));
  }
  return static_cast<float>(sum);
}

}  // namespace

Status check_matmul_type(const GgufTensor& weight) {
  if (weight.type == GgmlType::kF32 || weight.type == GgmlType::kF16) return ok_status();
  return Error{ErrorCode::kInvalidArgument, "tensor '" + std::string(weight.name) + "' has type " +
                                                std::string(type_name(weight.type)) +
                                                ", which the engine cannot multiply yet"};
}

void prepare_activation(const GgufTensor& weight, const float* x, PreparedActivation& out) {
  auto n = static_cast<int64_t>(weight.dims[0]);
  switch (weight.type) {
    case GgmlType::kF32:
      out.bytes.resize(size_t(n) * sizeof(float));
      std::memcpy(out.bytes.data(), x, out.bytes.size());
      return;
    case GgmlType::kF16: {
      out.bytes.resize(size_t(n) * sizeof(uint16_t));
      auto* y = reinterpret_cast<uint16_t*>(out.bytes.data());
      for (int64_t i = 0; i < n; ++i) y[i] = kernels::fp32_to_fp16(x[i]);
      return;
    }
    default:
      RBEE_CHECK(false, "prepare_activation: unsupported type (check_matmul_type at load)");
  }
}

void dot_rows(const GgufTensor& weight, const PreparedActivation& x, float* y, int64_t row_begin,
              int64_t row_end) {
  auto n = static_cast<int64_t>(weight.dims[0]);
  for (int64_t row = row_begin; row < row_end; ++row) {
    const uint8_t* w = row_data(weight, row);
    switch (weight.type) {
      case GgmlType::kF32:
        y[row] = kernels::vec_dot_f32(reinterpret_cast<const float*>(w),
                                      reinterpret_cast<const float*>(x.bytes.data()), n);
        break;
      case GgmlType::kF16:
        y[row] = vec_dot_f16(reinterpret_cast<const uint16_t*>(w),
                             reinterpret_cast<const uint16_t*>(x.bytes.data()), n);
        break;
      default:
        RBEE_CHECK(false, "dot_rows: unsupported type");
    }
  }
}

void matvec(const GgufTensor& weight, const float* x, float* y, ThreadPool& pool,
            PreparedActivation& scratch) {
  prepare_activation(weight, x, scratch);
  pool.parallel_for(static_cast<int64_t>(weight.dims[1]),
                    [&](int64_t begin, int64_t end) { dot_rows(weight, scratch, y, begin, end); });
}

void dequantize_row(const GgufTensor& weight, int64_t row, float* out) {
  auto n = static_cast<int64_t>(weight.dims[0]);
  const uint8_t* w = row_data(weight, row);
  switch (weight.type) {
    case GgmlType::kF32:
      std::memcpy(out, w, size_t(n) * sizeof(float));
      return;
    case GgmlType::kF16:
      for (int64_t i = 0; i < n; ++i) {
        uint16_t h;
        std::memcpy(&h, w + 2 * i, 2);
        out[i] = kernels::fp16_to_fp32(h);
      }
      return;
    default:
      RBEE_CHECK(false, "dequantize_row: unsupported type");
  }
}

}  // namespace rbee::engine
