#include "engine/kernels/q8_k.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "engine/kernels/quant_common.hpp"

namespace rbee::engine::kernels {

void dequantize_row_q8_k(const BlockQ8_K* __restrict x, float* __restrict y, int64_t n) {
  const int64_t nb = detail::n_blocks(n, kQK_K);
  for (int64_t b = 0; b < nb; ++b) {
    for (int64_t j = 0; j < kQK_K; ++j) y[b * kQK_K + j] = x[b].d * static_cast<float>(x[b].qs[j]);
  }
}

void quantize_row_q8_k(const float* __restrict x, BlockQ8_K* __restrict y, int64_t n) {
  const int64_t nb = detail::n_blocks(n, kQK_K);
  for (int64_t b = 0; b < nb; ++b) {
    const float* __restrict in = x + b * kQK_K;
    float amax = 0.0f;
    float max = 0.0f;
    for (int64_t j = 0; j < kQK_K; ++j) {
      if (std::fabs(in[j]) > amax) {
        amax = std::fabs(in[j]);
        max = in[j];
      }
    }
    if (amax == 0.0f) {
      y[b].d = 0.0f;
      std::memset(y[b].qs, 0, sizeof(y[b].qs));
      std::memset(y[b].bsums, 0, sizeof(y[b].bsums));
      continue;
    }
    // -127 rather than 127 or -128: ggml's choice, kept so the values match its own.
    const float inverse = -127.0f / max;
    for (int64_t j = 0; j < kQK_K; ++j) {
      y[b].qs[j] = static_cast<int8_t>(std::min(127, detail::nearest_int(inverse * in[j])));
    }
    for (int64_t g = 0; g < kQK_K / 16; ++g) {
      int32_t sum = 0;
      for (int64_t j = 0; j < 16; ++j) sum += y[b].qs[g * 16 + j];
      y[b].bsums[g] = static_cast<int16_t>(sum);
    }
    y[b].d = 1.0f / inverse;
  }
}

}  // namespace rbee::engine::kernels
