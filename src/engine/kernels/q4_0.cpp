#include "engine/kernels/q4_0.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>

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

namespace {

// Block b's term of vec_dot_q4_0_q8_0: (its int32 sum) * d_x * d_a.
float block_dot(const BlockQ4_0& x, const BlockQ8_0& y) {
  constexpr int64_t kHalf = kQK4_0 / 2;
  int32_t sumi_lo = 0;
  int32_t sumi_hi = 0;
  for (int64_t j = 0; j < kHalf; ++j) {
    sumi_lo += ((x.qs[j] & 0xf) - 8) * int32_t{y.qs[j]};
    sumi_hi += ((x.qs[j] >> 4) - 8) * int32_t{y.qs[j + kHalf]};
  }
  return static_cast<float>(sumi_lo + sumi_hi) * fp16_to_fp32(x.d) * fp16_to_fp32(y.d);
}

// The eight Q4_0 blocks of repacked block x, in row order.
std::array<BlockQ4_0, 8> unpack_octet(const BlockQ4_0x8& x) {
  std::array<BlockQ4_0, 8> blocks{};
  for (int l = 0; l < 8; ++l) {
    BlockQ4_0& block = blocks[size_t(kQ4_0x8LaneBlock[l])];
    block.d = x.d[l];
    for (int k = 0; k < 4; ++k) std::memcpy(block.qs + 4 * k, &x.qs[k][4 * l], 4);
  }
  return blocks;
}

}  // namespace

float vec_dot_q4_0_q8_0(const BlockQ4_0* __restrict x, const BlockQ8_0* __restrict y, int64_t n) {
  const int64_t nb = detail::n_blocks(n, kQK4_0);
  float sum = 0.0f;
  for (int64_t b = 0; b < nb; ++b) sum += block_dot(x[b], y[b]);
  return sum;
}

void repack_row_q4_0x8(const BlockQ4_0* __restrict x, BlockQ4_0x8* __restrict y, int64_t n) {
  const int64_t n_octets = detail::n_blocks(n, kQK4_0x8);
  for (int64_t o = 0; o < n_octets; ++o) {
    for (int l = 0; l < 8; ++l) {
      const BlockQ4_0& block = x[8 * o + kQ4_0x8LaneBlock[l]];
      y[o].d[l] = block.d;
      for (int k = 0; k < 4; ++k) std::memcpy(&y[o].qs[k][4 * l], block.qs + 4 * k, 4);
    }
  }
}

void unpack_row_q4_0x8(const BlockQ4_0x8* __restrict x, BlockQ4_0* __restrict y, int64_t n) {
  const int64_t n_octets = detail::n_blocks(n, kQK4_0x8);
  for (int64_t o = 0; o < n_octets; ++o) {
    const std::array<BlockQ4_0, 8> blocks = unpack_octet(x[o]);
    std::copy(blocks.begin(), blocks.end(), y + 8 * o);
  }
}

void dequantize_row_q4_0x8(const BlockQ4_0x8* __restrict x, float* __restrict y, int64_t n) {
  const int64_t n_octets = detail::n_blocks(n, kQK4_0x8);
  for (int64_t o = 0; o < n_octets; ++o) {
    const std::array<BlockQ4_0, 8> blocks = unpack_octet(x[o]);
    dequantize_row_q4_0(blocks.data(), y + o * kQK4_0x8, kQK4_0x8);
  }
}

void quantize_row_q4_0x8(const float* __restrict x, BlockQ4_0x8* __restrict y, int64_t n) {
  const int64_t n_octets = detail::n_blocks(n, kQK4_0x8);
  for (int64_t o = 0; o < n_octets; ++o) {
    std::array<BlockQ4_0, 8> blocks;
    quantize_row_q4_0(x + o * kQK4_0x8, blocks.data(), kQK4_0x8);
    repack_row_q4_0x8(blocks.data(), y + o, kQK4_0x8);
  }
}

float vec_dot_q4_0x8_q8_0(const BlockQ4_0x8* __restrict x, const BlockQ8_0* __restrict y,
                          int64_t n) {
  const int64_t n_octets = detail::n_blocks(n, kQK4_0x8);
  float sum = 0.0f;
  for (int64_t o = 0; o < n_octets; ++o) {
    const std::array<BlockQ4_0, 8> blocks = unpack_octet(x[o]);
    for (int64_t b = 0; b < 8; ++b) sum += block_dot(blocks[size_t(b)], y[8 * o + b]);
  }
  return sum;
}

}  // namespace rbee::engine::kernels
