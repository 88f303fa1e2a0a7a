#include "engine/kernels/q4_k.hpp"

#include <algorithm>
#include <cstring>

#include "engine/kernels/float16.hpp"
#include "engine/kernels/quant_common.hpp"

namespace rbee::engine::kernels {
namespace {

constexpr int kGroups = kQK_K / 32;

// The 256 4-bit values, in element order.
void unpack_values(const BlockQ4_K& block, uint8_t* __restrict q) {
  for (int c = 0; c < 4; ++c) {
    for (int l = 0; l < 32; ++l) {
      q[64 * c + l] = block.qs[32 * c + l] & 0xfu;
      q[64 * c + 32 + l] = block.qs[32 * c + l] >> 4;
    }
  }
}

}  // namespace

void dequantize_row_q4_k(const BlockQ4_K* __restrict x, float* __restrict y, int64_t n) {
  const int64_t nb = detail::n_blocks(n, kQK_K);
  uint8_t q[kQK_K];
  for (int64_t b = 0; b < nb; ++b) {
    unpack_values(x[b], q);
    detail::dequantize_scale_min_k4(x[b].d, x[b].dmin, x[b].scales, q, y + b * kQK_K);
  }
}

void quantize_row_q4_k(const float* __restrict x, BlockQ4_K* __restrict y, int64_t n) {
  const int64_t nb = detail::n_blocks(n, kQK_K);
  uint8_t q[kQK_K];
  for (int64_t b = 0; b < nb; ++b) {
    const float* __restrict in = x + b * kQK_K;
    detail::quantize_scale_min_k4(in, 15, &y[b].d, &y[b].dmin, y[b].scales, q);
    for (int c = 0; c < 4; ++c) {
      for (int l = 0; l < 32; ++l) {
        y[b].qs[32 * c + l] = static_cast<uint8_t>(q[64 * c + l] | (q[64 * c + 32 + l] << 4));
      }
    }
  }
}

float vec_dot_q4_k_q8_k(const BlockQ4_K* __restrict x, const BlockQ8_K* __restrict y, int64_t n) {
  const int64_t nb = detail::n_blocks(n, kQK_K);
  uint8_t q[kQK_K];
  float sum = 0.0f;
  for (int64_t b = 0; b < nb; ++b) {
    unpack_values(x[b], q);
    int32_t sumi = 0;
    int32_t sum_mins = 0;
    for (int g = 0; g < kGroups; ++g) {
      uint8_t sc = 0;
      uint8_t m = 0;
      detail::unpack_scale_min_k4(x[b].scales, g, &sc, &m);
      int32_t group = 0;
      for (int l = 0; l < 32; ++l) group += q[32 * g + l] * int32_t{y[b].qs[32 * g + l]};
      sumi += sc * group;
      // A group of 32 spans two of Q8_K's 16-element sums.
      sum_mins += m * (y[b].bsums[2 * g] + y[b].bsums[2 * g + 1]);
    }
    const float d = fp16_to_fp32(x[b].d) * y[b].d;
    const float dmin = fp16_to_fp32(x[b].dmin) * y[b].d;
    sum += d * static_cast<float>(sumi) - dmin * static_cast<float>(sum_mins);
  }
  return sum;
}

void repack_rows_q4_kx8(const BlockQ4_K* __restrict x, BlockQ4_Kx8* __restrict y, int64_t n) {
  const int64_t nb = detail::n_blocks(n, kQK_K);
  for (int64_t b = 0; b < nb; ++b) {
    for (int r = 0; r < kQ4_Kx8Rows; ++r) {
      const BlockQ4_K& block = x[r * nb + b];
      y[b].d[r] = block.d;
      y[b].dmin[r] = block.dmin;
      for (int w = 0; w < 3; ++w) std::memcpy(&y[b].scales[w][r], block.scales + 4 * w, 4);
      for (int c = 0; c < 4; ++c) {
        for (int k = 0; k < 8; ++k) std::memcpy(y[b].qs[c][k][r], block.qs + 32 * c + 4 * k, 4);
      }
    }
  }
}

void unpack_rows_q4_kx8(const BlockQ4_Kx8* __restrict x, BlockQ4_K* __restrict y, int64_t n) {
  const int64_t nb = detail::n_blocks(n, kQK_K);
  for (int64_t b = 0; b < nb; ++b) {
    for (int r = 0; r < kQ4_Kx8Rows; ++r) {
      BlockQ4_K& block = y[r * nb + b];
      block.d = x[b].d[r];
      block.dmin = x[b].dmin[r];
      for (int w = 0; w < 3; ++w) std::memcpy(block.scales + 4 * w, &x[b].scales[w][r], 4);
      for (int c = 0; c < 4; ++c) {
        for (int k = 0; k < 8; ++k) std::memcpy(block.qs + 32 * c + 4 * k, x[b].qs[c][k][r], 4);
      }
    }
  }
}

}  // namespace rbee::engine::kernels
