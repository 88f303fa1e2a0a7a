#include "engine/kernels/q8_0.hpp"

#include <algorithm>
#include <cmath>

#include "engine/kernels/float16.hpp"
#include "engine/kernels/quant_common.hpp"

namespace rbee::engine::kernels {
namespace {

// Quantizes one block of 32; returns the float scale and writes the values.
float quantize_block_8bit(const float* __restrict x, int8_t* __restrict q) {
  float amax = 0.0f;
  for (int64_t j = 0; j < kQK8_0; ++j) amax = std::max(amax, std::fabs(x[j]));
  const float d = amax / 127.0f;
  const float inverse = amax != 0.0f ? 127.0f / amax : 0.0f;
  for (int64_t j = 0; j < kQK8_0; ++j) {
    q[j] = static_cast<int8_t>(std::clamp(detail::nearest_int(x[j] * inverse), -127, 127));
  }
  return d;
}

}  // namespace

void dequantize_row_q8_0(const BlockQ8_0* __restrict x, float* __restrict y, int64_t n) {
  const int64_t nb = detail::n_blocks(n, kQK8_0);
  for (int64_t b = 0; b < nb; ++b) {
    const float d = fp16_to_fp32(x[b].d);
    for (int64_t j = 0; j < kQK8_0; ++j) y[b * kQK8_0 + j] = d * static_cast<float>(x[b].qs[j]);
  }
}

void quantize_row_q8_0(const float* __restrict x, BlockQ8_0* __restrict y, int64_t n) {
  const int64_t nb = detail::n_blocks(n, kQK8_0);
  for (int64_t b = 0; b < nb; ++b) {
    y[b].d = fp32_to_fp16(quantize_block_8bit(x + b * kQK8_0, y[b].qs));
  }
}

float vec_dot_q8_0_q8_0(const BlockQ8_0* __restrict x, const BlockQ8_0* __restrict y, int64_t n) {
  const int64_t nb = detail::n_blocks(n, kQK8_0);
  float sum = 0.0f;
  for (int64_t b = 0; b < nb; ++b) {
    int32_t sumi = 0;
    for (int64_t j = 0; j < kQK8_0; ++j) sumi += int32_t{x[b].qs[j]} * int32_t{y[b].qs[j]};
    sum += static_cast<float>(sumi) * (fp16_to_fp32(x[b].d) * fp16_to_fp32(y[b].d));
  }
  return sum;
}

void dequantize_row_q8_1(const BlockQ8_1* __restrict x, float* __restrict y, int64_t n) {
  const int64_t nb = detail::n_blocks(n, kQK8_1);
  for (int64_t b = 0; b < nb; ++b) {
    const float d = fp16_to_fp32(x[b].d);
    for (int64_t j = 0; j < kQK8_1; ++j) y[b * kQK8_1 + j] = d * static_cast<float>(x[b].qs[j]);
  }
}

void quantize_row_q8_1(const float* __restrict x, BlockQ8_1* __restrict y, int64_t n) {
  const int64_t nb = detail::n_blocks(n, kQK8_1);
  for (int64_t b = 0; b < nb; ++b) {
    const float d = quantize_block_8bit(x + b * kQK8_1, y[b].qs);
    int32_t sum = 0;
    for (int64_t j = 0; j < kQK8_1; ++j) sum += y[b].qs[j];
    y[b].d = fp32_to_fp16(d);
    y[b].s = fp32_to_fp16(d * static_cast<float>(sum));
  }
}

}  // namespace rbee::engine::kernels
