#include "engine/kernels/q2_k.hpp"

#include <algorithm>
#include <cstring>

#include "engine/kernels/float16.hpp"
#include "engine/kernels/quant_common.hpp"

namespace rbee::engine::kernels {
namespace {

constexpr int kGroups = kQK_K / 16;

// The 256 2-bit values of a block, in element order.
void unpack_values(const BlockQ2_K& block, uint8_t* __restrict q) {
  for (int c = 0; c < 2; ++c) {
    for (int j = 0; j < 4; ++j) {
      for (int l = 0; l < 32; ++l) q[128 * c + 32 * j + l] = (block.qs[32 * c + l] >> (2 * j)) & 3u;
    }
  }
}

}  // namespace

void dequantize_row_q2_k(const BlockQ2_K* __restrict x, float* __restrict y, int64_t n) {
  const int64_t nb = detail::n_blocks(n, kQK_K);
  uint8_t q[kQK_K];
  for (int64_t b = 0; b < nb; ++b) {
    unpack_values(x[b], q);
    const float d = fp16_to_fp32(x[b].d);
    const float dmin = fp16_to_fp32(x[b].dmin);
    float* __restrict out = y + b * kQK_K;
    for (int g = 0; g < kGroups; ++g) {
      const float scale = d * static_cast<float>(x[b].scales[g] & 0xf);
      const float min = dmin * static_cast<float>(x[b].scales[g] >> 4);
      for (int l = 0; l < 16; ++l)
        out[16 * g + l] = scale * static_cast<float>(q[16 * g + l]) - min;
    }
  }
}

void quantize_row_q2_k(const float* __restrict x, BlockQ2_K* __restrict y, int64_t n) {
  const int64_t nb = detail::n_blocks(n, kQK_K);
  uint8_t q[kQK_K];
  float scales[kGroups];
  float mins[kGroups];
  for (int64_t b = 0; b < nb; ++b) {
    const float* __restrict in = x + b * kQK_K;
    float max_scale = 0.0f;
    float max_min = 0.0f;
    for (int g = 0; g < kGroups; ++g) {
      scales[g] = detail::fit_with_offset(in + 16 * g, 16, 3, q + 16 * g, &mins[g]);
      max_scale = std::max(max_scale, scales[g]);
      max_min = std::max(max_min, mins[g]);
    }
    // Group scales and minimums to 4 bits against the super-block factors.
    const float d = max_scale / 15.0f;
    const float dmin = max_min / 15.0f;
    y[b].d = fp32_to_fp16(d);
    y[b].dmin = fp32_to_fp16(dmin);
    const float d_stored = fp16_to_fp32(y[b].d);
    const float dmin_stored = fp16_to_fp32(y[b].dmin);
    for (int g = 0; g < kGroups; ++g) {
      const int scale_q = d > 0.0f ? std::clamp(detail::nearest_int(scales[g] / d), 0, 15) : 0;
      const int min_q = dmin > 0.0f ? std::clamp(detail::nearest_int(mins[g] / dmin), 0, 15) : 0;
      y[b].scales[g] = static_cast<uint8_t>(scale_q | (min_q << 4));
      // Requantize the values against the scale and minimum actually stored.
      const float scale = d_stored * static_cast<float>(scale_q);
      const float min = dmin_stored * static_cast<float>(min_q);
      for (int l = 0; l < 16; ++l) {
        const float v = in[16 * g + l] + min;
        q[16 * g + l] = scale > 0.0f
                            ? static_cast<uint8_t>(std::clamp(detail::nearest_int(v / scale), 0, 3))
                            : 0;
      }
    }
    std::memset(y[b].qs, 0, sizeof(y[b].qs));
    for (int c = 0; c < 2; ++c) {
      for (int j = 0; j < 4; ++j) {
        for (int l = 0; l < 32; ++l) {
          y[b].qs[32 * c + l] |= static_cast<uint8_t>(q[128 * c + 32 * j + l] << (2 * j));
        }
      }
    }
  }
}

float vec_dot_q2_k_q8_k(const BlockQ2_K* __restrict x, const BlockQ8_K* __restrict y, int64_t n) {
  const int64_t nb = detail::n_blocks(n, kQK_K);
  uint8_t q[kQK_K];
  float sum = 0.0f;
  for (int64_t b = 0; b < nb; ++b) {
    unpack_values(x[b], q);
    int32_t sum_mins = 0;
    for (int g = 0; g < kGroups; ++g) sum_mins += y[b].bsums[g] * (x[b].scales[g] >> 4);
    int32_t sumi = 0;
    for (int g = 0; g < kGroups; ++g) {
      int32_t group = 0;
      for (int l = 0; l < 16; ++l) group += q[16 * g + l] * int32_t{y[b].qs[16 * g + l]};
      sumi += (x[b].scales[g] & 0xf) * group;
    }
    const float d = y[b].d * fp16_to_fp32(x[b].d);
    const float dmin = y[b].d * fp16_to_fp32(x[b].dmin);
    sum += d * static_cast<float>(sumi) - dmin * static_cast<float>(sum_mins);
  }
  return sum;
}

}  // namespace rbee::engine::kernels
