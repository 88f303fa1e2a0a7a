#include "engine/kernels/f32.hpp"

namespace rbee::engine::kernels {

void copy_row_f32(const float* __restrict x, float* __restrict y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = x[i];
}

float vec_dot_f32(const float* __restrict x, const float* __restrict y, int64_t n) {
  double sum = 0.0;
  for (int64_t i = 0; i < n; ++i) sum += static_cast<double>(x[i] * y[i]);
  return static_cast<float>(sum);
}

}  // namespace rbee::engine::kernels
