#include "engine/kernels/q4_0.hpp"

#include <algorithm>
#include <cmath>

#include "engine/kernels/float16.hpp"
#include "engine/kernels/quant_common.hpp"

namespace rbee::engine::kernels {

void dequantize_row_q4_0(const BlockQ4_0* __restrict x, float* __restrict y, int64_t n) {
  const int64_t nb = detail::n_blocks(n, kQK4_0);
  constexpr int64_t kHalf = kQK4_0 / 2;
  for (int64_t b = 0; b < nb; ++b) {
    const float d = fp16_to_fp32(x[b].d);
    float* __restrict out = y + b * kQK4_0;
    for (int64_t j = 0; j < kHalf; ++j) {
      out[j] = d * static_cast<float>((x[b].qs[j] & 0xf) - 8);
      out[j + kHalf] = d * static_cast<float>((x[b].qs[j] >> 4) - 8);
    }
  }
}

void quantize_row_q4_0(const float* __restrict x, BlockQ4_0* __restrict y, int64_t n) {
  const int64_t nb = detail::n_blocks(n, kQK4_0);
  constexpr int64_t kHalf = kQK4_0 / 2;
  for (int64_t b = 0; b < nb; ++b) {
    const float* __restrict in = x + b * kQK4_0;
    float amax = 0.0f;
    float max = 0.0f;  // the element of largest magnitude, signed: it maps to level 0 (-8)
    for (int64_t j = 0; j < kQK4_0; ++j) {
      if (std::fabs(in[j]) > amax) {
        amax = std::fabs(in[j]);
        max = in[j];
      }
    }
    const float d = max / -8.0f;
    const float inverse = d != 0.0f ? 1.0f / d : 0.0f;
    y[b].d = fp32_to_fp16(d);
    for (int64_t j = 0; j < kHalf; ++j) {
      // Truncation of a value >= 0 after adding 8.5 rounds half up.
      const int lo = std::min(15, static_cast<int>(in[j] * inverse + 8.5f));
      const int hi = std::min(15, static_cast<int>(in[j + kHalf] * inverse + 8.5f));
      y[b].qs[j] = static_cast<uint8_t>(lo | (hi << 4));
    }
  }
}

float vec_dot_q4_0_q8_0(const BlockQ4_0* __restrict x, const BlockQ8_0* __restrict y, int64_t n) {
  const int64_t nb = detail::n_blocks(n, kQK4_0);
  constexpr int64_t kHalf = kQK4_0 / 2;
  float sum = 0.0f;
  for (int64_t b = 0; b < nb; ++b) {
    int32_t sumi_lo = 0;
    int32_t sumi_hi = 0;
    for (int64_t j = 0; j < kHalf; ++j) {
      sumi_lo += ((x[b].qs[j] & 0xf) - 8) * int32_t{y[b].qs[j]};
      sumi_hi += ((x[b].qs[j] >> 4) - 8) * int32_t{y[b].qs[j + kHalf]};
    }
    sum += static_cast<float>(sumi_lo + sumi_hi) * fp16_to_fp32(x[b].d) * fp16_to_fp32(y[b].d);
  }
  return sum;
}

}  // namespace rbee::engine::kernels
