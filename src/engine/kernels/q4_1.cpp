#include "engine/kernels/q4_1.hpp"

#include <algorithm>

#include "engine/kernels/float16.hpp"
#include "engine/kernels/quant_common.hpp"

namespace rbee::engine::kernels {

void dequantize_row_q4_1(const BlockQ4_1* __restrict x, float* __restrict y, int64_t n) {
  const int64_t nb = detail::n_blocks(n, kQK4_1);
  constexpr int64_t kHalf = kQK4_1 / 2;
  for (int64_t b = 0; b < nb; ++b) {
    const float d = fp16_to_fp32(x[b].d);
    const float m = fp16_to_fp32(x[b].m);
    float* __restrict out = y + b * kQK4_1;
    for (int64_t j = 0; j < kHalf; ++j) {
      out[j] = d * static_cast<float>(x[b].qs[j] & 0xf) + m;
      out[j + kHalf] = d * static_cast<float>(x[b].qs[j] >> 4) + m;
    }
  }
}

void quantize_row_q4_1(const float* __restrict x, BlockQ4_1* __restrict y, int64_t n) {
  const int64_t nb = detail::n_blocks(n, kQK4_1);
  constexpr int64_t kHalf = kQK4_1 / 2;
  for (int64_t b = 0; b < nb; ++b) {
    const float* __restrict in = x + b * kQK4_1;
    float lo = in[0];
    float hi = in[0];
    for (int64_t j = 1; j < kQK4_1; ++j) {
      lo = std::min(lo, in[j]);
      hi = std::max(hi, in[j]);
    }
    const float d = (hi - lo) / 15.0f;
    const float inverse = d != 0.0f ? 1.0f / d : 0.0f;
    y[b].d = fp32_to_fp16(d);
    y[b].m = fp32_to_fp16(lo);
    for (int64_t j = 0; j < kHalf; ++j) {
      const int q_lo = std::min(15, static_cast<int>((in[j] - lo) * inverse + 0.5f));
      const int q_hi = std::min(15, static_cast<int>((in[j + kHalf] - lo) * inverse + 0.5f));
      y[b].qs[j] = static_cast<uint8_t>(q_lo | (q_hi << 4));
    }
  }
}

float vec_dot_q4_1_q8_1(const BlockQ4_1* __restrict x, const BlockQ8_1* __restrict y, int64_t n) {
  const int64_t nb = detail::n_blocks(n, kQK4_1);
  constexpr int64_t kHalf = kQK4_1 / 2;
  float sum = 0.0f;
  for (int64_t b = 0; b < nb; ++b) {
    int32_t sumi_lo = 0;
    int32_t sumi_hi = 0;
    for (int64_t j = 0; j < kHalf; ++j) {
      sumi_lo += (x[b].qs[j] & 0xf) * int32_t{y[b].qs[j]};
      sumi_hi += (x[b].qs[j] >> 4) * int32_t{y[b].qs[j + kHalf]};
    }
    sum += (fp16_to_fp32(x[b].d) * fp16_to_fp32(y[b].d)) * static_cast<float>(sumi_lo + sumi_hi) +
           fp16_to_fp32(x[b].m) * fp16_to_fp32(y[b].s);
  }
  return sum;
}

}  // namespace rbee::engine::kernels
