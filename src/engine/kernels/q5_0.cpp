#include "engine/kernels/q5_0.hpp"

#include <algorithm>
#include <cmath>

#include "engine/kernels/float16.hpp"
#include "engine/kernels/quant_common.hpp"

namespace rbee::engine::kernels {
namespace {

constexpr int64_t kHalf = kQK5_0 / 2;

uint32_t load_qh(const uint8_t* qh) {
  return uint32_t{qh[0]} | (uint32_t{qh[1]} << 8) | (uint32_t{qh[2]} << 16) |
         (uint32_t{qh[3]} << 24);
}

// Element j's and element j + 16's 5-bit values, j < 16.
inline int q5_lo(const BlockQ5_0& block, uint32_t qh, int64_t j) {
  return static_cast<int>((block.qs[j] & 0xfu) | (((qh >> j) & 1u) << 4));
}
inline int q5_hi(const BlockQ5_0& block, uint32_t qh, int64_t j) {
  return static_cast<int>((block.qs[j] >> 4) | (((qh >> (j + kHalf)) & 1u) << 4));
}

}  // namespace

void dequantize_row_q5_0(const BlockQ5_0* __restrict x, float* __restrict y, int64_t n) {
  const int64_t nb = detail::n_blocks(n, kQK5_0);
  for (int64_t b = 0; b < nb; ++b) {
    const float d = fp16_to_fp32(x[b].d);
    const uint32_t qh = load_qh(x[b].qh);
    float* __restrict out = y + b * kQK5_0;
    for (int64_t j = 0; j < kHalf; ++j) {
      out[j] = d * static_cast<float>(q5_lo(x[b], qh, j) - 16);
      out[j + kHalf] = d * static_cast<float>(q5_hi(x[b], qh, j) - 16);
    }
  }
}

void quantize_row_q5_0(const float* __restrict x, BlockQ5_0* __restrict y, int64_t n) {
  const int64_t nb = detail::n_blocks(n, kQK5_0);
  for (int64_t b = 0; b < nb; ++b) {
    const float* __restrict in = x + b * kQK5_0;
    float amax = 0.0f;
    float max = 0.0f;  // the element of largest magnitude, signed: it maps to level 0 (-16)
    for (int64_t j = 0; j < kQK5_0; ++j) {
      if (std::fabs(in[j]) > amax) {
        amax = std::fabs(in[j]);
        max = in[j];
      }
    }
    const float d = max / -16.0f;
    const float inverse = d != 0.0f ? 1.0f / d : 0.0f;
    y[b].d = fp32_to_fp16(d);
    uint32_t qh = 0;
    for (int64_t j = 0; j < kHalf; ++j) {
      const int lo = std::min(31, static_cast<int>(in[j] * inverse + 16.5f));
      const int hi = std::min(31, static_cast<int>(in[j + kHalf] * inverse + 16.5f));
      y[b].qs[j] = static_cast<uint8_t>((lo & 0xf) | ((hi & 0xf) << 4));
      qh |= static_cast<uint32_t>(lo >> 4) << j;
      qh |= static_cast<uint32_t>(hi >> 4) << (j + kHalf);
    }
    for (int k = 0; k < 4; ++k) y[b].qh[k] = static_cast<uint8_t>(qh >> (8 * k));
  }
}

float vec_dot_q5_0_q8_0(const BlockQ5_0* __restrict x, const BlockQ8_0* __restrict y, int64_t n) {
  const int64_t nb = detail::n_blocks(n, kQK5_0);
  float sum = 0.0f;
  for (int64_t b = 0; b < nb; ++b) {
    const uint32_t qh = load_qh(x[b].qh);
    int32_t sumi_lo = 0;
    int32_t sumi_hi = 0;
    for (int64_t j = 0; j < kHalf; ++j) {
      sumi_lo += (q5_lo(x[b], qh, j) - 16) * int32_t{y[b].qs[j]};
      sumi_hi += (q5_hi(x[b], qh, j) - 16) * int32_t{y[b].qs[j + kHalf]};
    }
    sum += (fp16_to_fp32(x[b].d) * fp16_to_fp32(y[b].d)) * static_cast<float>(sumi_lo + sumi_hi);
  }
  return sum;
}

}  // namespace rbee::engine::kernels
