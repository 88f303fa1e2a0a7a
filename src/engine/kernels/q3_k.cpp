#include "engine/kernels/q3_k.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "engine/kernels/float16.hpp"
#include "engine/kernels/quant_common.hpp"

namespace rbee::engine::kernels {
namespace {

constexpr int kGroups = kQK_K / 16;

// The 16 group scales, s - 32, in [-32, 31].
void unpack_scales(const BlockQ3_K& block, int* __restrict scales) {
  for (int g = 0; g < kGroups; ++g) {
    const int low = g < 8 ? block.scales[g] & 0xf : block.scales[g - 8] >> 4;
    const int high = (block.scales[8 + g % 4] >> (2 * (g / 4))) & 3;
    scales[g] = (low | (high << 4)) - 32;
  }
}

// The 256 values, in [-4, 3], in element order.
void unpack_values(const BlockQ3_K& block, int8_t* __restrict q) {
  for (int c = 0; c < 2; ++c) {
    for (int j = 0; j < 4; ++j) {
      for (int l = 0; l < 32; ++l) {
        const int low = (block.qs[32 * c + l] >> (2 * j)) & 3;
        const int high = (block.hmask[l] >> (4 * c + j)) & 1;
        q[128 * c + 32 * j + l] = static_cast<int8_t>(low - (high != 0 ? 0 : 4));
      }
    }
  }
}

}  // namespace

void dequantize_row_q3_k(const BlockQ3_K* __restrict x, float* __restrict y, int64_t n) {
  const int64_t nb = detail::n_blocks(n, kQK_K);
  int8_t q[kQK_K];
  int scales[kGroups];
  for (int64_t b = 0; b < nb; ++b) {
    unpack_values(x[b], q);
    unpack_scales(x[b], scales);
    const float d = fp16_to_fp32(x[b].d);
    float* __restrict out = y + b * kQK_K;
    for (int g = 0; g < kGroups; ++g) {
      const float scale = d * static_cast<float>(scales[g]);
      for (int l = 0; l < 16; ++l) out[16 * g + l] = scale * static_cast<float>(q[16 * g + l]);
    }
  }
}

void quantize_row_q3_k(const float* __restrict x, BlockQ3_K* __restrict y, int64_t n) {
  const int64_t nb = detail::n_blocks(n, kQK_K);
  int8_t q[kQK_K];
  float scales[kGroups];
  for (int64_t b = 0; b < nb; ++b) {
    const float* __restrict in = x + b * kQK_K;
    float max_scale = 0.0f;  // the group scale of largest magnitude, signed
    for (int g = 0; g < kGroups; ++g) {
      scales[g] = detail::fit_symmetric(in + 16 * g, 16, 4, q + 16 * g);
      if (std::fabs(scales[g]) > std::fabs(max_scale)) max_scale = scales[g];
    }
    // Group scales to 6 signed bits; the largest lands on -32, the level without a twin.
    const float inverse = max_scale != 0.0f ? -32.0f / max_scale : 0.0f;
    y[b].d = fp32_to_fp16(max_scale != 0.0f ? 1.0f / inverse : 0.0f);
    const float d_stored = fp16_to_fp32(y[b].d);
    std::memset(y[b].scales, 0, sizeof(y[b].scales));
    for (int g = 0; g < kGroups; ++g) {
      const int level = std::clamp(detail::nearest_int(inverse * scales[g]), -32, 31);
      const auto stored = static_cast<uint32_t>(level + 32);
      if (g < 8) {
        y[b].scales[g] |= static_cast<uint8_t>(stored & 0xfu);
      } else {
        y[b].scales[g - 8] |= static_cast<uint8_t>((stored & 0xfu) << 4);
      }
      y[b].scales[8 + g % 4] |= static_cast<uint8_t>((stored >> 4) << (2 * (g / 4)));
      // Requantize the values against the scale actually stored.
      const float scale = d_stored * static_cast<float>(level);
      for (int l = 0; l < 16; ++l) {
        q[16 * g + l] = scale != 0.0f ? static_cast<int8_t>(std::clamp(
                                            detail::nearest_int(in[16 * g + l] / scale), -4, 3))
                                      : int8_t{0};
      }
    }
    std::memset(y[b].qs, 0, sizeof(y[b].qs));
    std::memset(y[b].hmask, 0, sizeof(y[b].hmask));
    for (int c = 0; c < 2; ++c) {
      for (int j = 0; j < 4; ++j) {
        for (int l = 0; l < 32; ++l) {
          const auto stored = static_cast<uint32_t>(q[128 * c + 32 * j + l] + 4);  // 0..7
          y[b].qs[32 * c + l] |= static_cast<uint8_t>((stored & 3u) << (2 * j));
          y[b].hmask[l] |= static_cast<uint8_t>((stored >> 2) << (4 * c + j));
        }
      }
    }
  }
}

float vec_dot_q3_k_q8_k(const BlockQ3_K* __restrict x, const BlockQ8_K* __restrict y, int64_t n) {
  const int64_t nb = detail::n_blocks(n, kQK_K);
  int8_t q[kQK_K];
  int scales[kGroups];
  float sum = 0.0f;
  for (int64_t b = 0; b < nb; ++b) {
    unpack_values(x[b], q);
    unpack_scales(x[b], scales);
    int32_t sumi = 0;
    for (int g = 0; g < kGroups; ++g) {
      int32_t group = 0;
      for (int l = 0; l < 16; ++l) group += int32_t{q[16 * g + l]} * int32_t{y[b].qs[16 * g + l]};
      sumi += scales[g] * group;
    }
    sum += fp16_to_fp32(x[b].d) * y[b].d * static_cast<float>(sumi);
  }
  return sum;
}

}  // namespace rbee::engine::kernels
