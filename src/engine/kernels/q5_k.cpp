#include "engine/kernels/q5_k.hpp"

#include <algorithm>
#include <cstring>

#include "engine/kernels/float16.hpp"
#include "engine/kernels/quant_common.hpp"

namespace rbee::engine::kernels {
namespace {

constexpr int kGroups = kQK_K / 32;

// The 256 5-bit values, in element order.
void unpack_values(const BlockQ5_K& block, uint8_t* __restrict q) {
  for (int c = 0; c < 4; ++c) {
    for (int l = 0; l < 32; ++l) {
      const uint32_t high_lo = (block.qh[l] >> (2 * c)) & 1u;
      const uint32_t high_hi = (block.qh[l] >> (2 * c + 1)) & 1u;
      q[64 * c + l] = static_cast<uint8_t>((block.qs[32 * c + l] & 0xfu) | (high_lo << 4));
      q[64 * c + 32 + l] = static_cast<uint8_t>((block.qs[32 * c + l] >> 4) | (high_hi << 4));
    }
  }
}

}  // namespace

void dequantize_row_q5_k(const BlockQ5_K* __restrict x, float* __restrict y, int64_t n) {
  const int64_t nb = detail::n_blocks(n, kQK_K);
  uint8_t q[kQK_K];
  for (int64_t b = 0; b < nb; ++b) {
    unpack_values(x[b], q);
    detail::dequantize_scale_min_k4(x[b].d, x[b].dmin, x[b].scales, q, y + b * kQK_K);
  }
}

void quantize_row_q5_k(const float* __restrict x, BlockQ5_K* __restrict y, int64_t n) {
  const int64_t nb = detail::n_blocks(n, kQK_K);
  uint8_t q[kQK_K];
  for (int64_t b = 0; b < nb; ++b) {
    const float* __restrict in = x + b * kQK_K;
    detail::quantize_scale_min_k4(in, 31, &y[b].d, &y[b].dmin, y[b].scales, q);
    std::memset(y[b].qh, 0, sizeof(y[b].qh));
    for (int c = 0; c < 4; ++c) {
      for (int l = 0; l < 32; ++l) {
        const uint8_t lo = q[64 * c + l];
        const uint8_t hi = q[64 * c + 32 + l];
        y[b].qs[32 * c + l] = static_cast<uint8_t>((lo & 0xfu) | ((hi & 0xfu) << 4));
        y[b].qh[l] |= static_cast<uint8_t>(((lo >> 4) << (2 * c)) | ((hi >> 4) << (2 * c + 1)));
      }
    }
  }
}

float vec_dot_q5_k_q8_k(const BlockQ5_K* __restrict x, const BlockQ8_K* __restrict y, int64_t n) {
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

}  // namespace rbee::engine::kernels
