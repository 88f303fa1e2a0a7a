#include "engine/kernels/q6_k.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "engine/kernels/float16.hpp"
#include "engine/kernels/quant_common.hpp"

namespace rbee::engine::kernels {
namespace {

constexpr int kGroups = kQK_K / 16;

// The 256 values minus 32, in [-32, 31], in element order.
void unpack_values(const BlockQ6_K& block, int8_t* __restrict q) {
  for (int c = 0; c < 2; ++c) {
    for (int k = 0; k < 4; ++k) {
      for (int l = 0; l < 32; ++l) {
        const uint8_t packed_low = block.ql[64 * c + 32 * (k % 2) + l];
        const int low = k < 2 ? packed_low & 0xf : packed_low >> 4;
        const int high = (block.qh[32 * c + l] >> (2 * k)) & 3;
        q[128 * c + 32 * k + l] = static_cast<int8_t>((low | (high << 4)) - 32);
      }
    }
  }
}

}  // namespace

void dequantize_row_q6_k(const BlockQ6_K* __restrict x, float* __restrict y, int64_t n) {
  const int64_t nb = detail::n_blocks(n, kQK_K);
  int8_t q[kQK_K];
  for (int64_t b = 0; b < nb; ++b) {
    unpack_values(x[b], q);
    const float d = fp16_to_fp32(x[b].d);
    float* __restrict out = y + b * kQK_K;
    for (int g = 0; g < kGroups; ++g) {
      const float scale = d * static_cast<float>(x[b].scales[g]);
      for (int l = 0; l < 16; ++l) out[16 * g + l] = scale * static_cast<float>(q[16 * g + l]);
    }
  }
}

void quantize_row_q6_k(const float* __restrict x, BlockQ6_K* __restrict y, int64_t n) {
  const int64_t nb = detail::n_blocks(n, kQK_K);
  int8_t q[kQK_K];
  float scales[kGroups];
  for (int64_t b = 0; b < nb; ++b) {
    const float* __restrict in = x + b * kQK_K;
    float max_scale = 0.0f;  // the group scale of largest magnitude, signed
    for (int g = 0; g < kGroups; ++g) {
      scales[g] = detail::fit_symmetric(in + 16 * g, 16, 32, q + 16 * g);
      if (std::fabs(scales[g]) > std::fabs(max_scale)) max_scale = scales[g];
    }
    // Group scales to int8; the largest lands on -128.
    const float inverse = max_scale != 0.0f ? -128.0f / max_scale : 0.0f;
    y[b].d = fp32_to_fp16(max_scale != 0.0f ? 1.0f / inverse : 0.0f);
    const float d_stored = fp16_to_fp32(y[b].d);
    for (int g = 0; g < kGroups; ++g) {
      const int level = std::clamp(detail::nearest_int(inverse * scales[g]), -128, 127);
      y[b].scales[g] = static_cast<int8_t>(level);
      // Requantize the values against the scale actually stored.
      const float scale = d_stored * static_cast<float>(level);
      for (int l = 0; l < 16; ++l) {
        q[16 * g + l] = scale != 0.0f ? static_cast<int8_t>(std::clamp(
                                            detail::nearest_int(in[16 * g + l] / scale), -32, 31))
                                      : int8_t{0};
      }
    }
    std::memset(y[b].ql, 0, sizeof(y[b].ql));
    std::memset(y[b].qh, 0, sizeof(y[b].qh));
    for (int c = 0; c < 2; ++c) {
      for (int k = 0; k < 4; ++k) {
        for (int l = 0; l < 32; ++l) {
          const auto stored = static_cast<uint32_t>(q[128 * c + 32 * k + l] + 32);  // 0..63
          const uint32_t low_shift = k < 2 ? 0 : 4;
          y[b].ql[64 * c + 32 * (k % 2) + l] |= static_cast<uint8_t>((stored & 0xfu) << low_shift);
          y[b].qh[32 * c + l] |= static_cast<uint8_t>((stored >> 4) << (2 * k));
        }
      }
    }
  }
}

float vec_dot_q6_k_q8_k(const BlockQ6_K* __restrict x, const BlockQ8_K* __restrict y, int64_t n) {
  const int64_t nb = detail::n_blocks(n, kQK_K);
  int8_t q[kQK_K];
  float sum = 0.0f;
  for (int64_t b = 0; b < nb; ++b) {
    unpack_values(x[b], q);
    int32_t sumi = 0;
    for (int g = 0; g < kGroups; ++g) {
      int32_t group = 0;
      for (int l = 0; l < 16; ++l) group += int32_t{q[16 * g + l]} * int32_t{y[b].qs[16 * g + l]};
      sumi += x[b].scales[g] * group;
    }
    sum += fp16_to_fp32(x[b].d) * y[b].d * static_cast<float>(sumi);
  }
  return sum;
}

}  // namespace rbee::engine::kernels
