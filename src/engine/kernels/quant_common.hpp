#pragma once

// Helpers shared by the quantized types (namespace detail: not for model code).

#include <bit>
#include <cstdint>

#include "common/check.hpp"

namespace rbee::engine::kernels::detail {

// The number of blocks of `block_size` elements in a row of `n`; a row that is not a
// whole number of blocks is a programmer error (shapes are checked when a model loads).
inline int64_t n_blocks(int64_t n, int64_t block_size) {
  RBEE_CHECK(n >= 0 && n % block_size == 0, "row length must be a multiple of the block size");
  return n / block_size;
}

// `f` rounded to the nearest integer, ties to even, for |f| <= 2^22 (ggml's nearest_int):
// adding 1.5 * 2^23 leaves the rounded integer in the low mantissa bits.
inline int nearest_int(float f) {
  const float shifted = f + 12582912.0f;
  return static_cast<int>(std::bit_cast<uint32_t>(shifted) & 0x7fffffu) - 0x400000;
}

// Fits x[0..n) ~ scale * q with integer q in [-n_negative, n_negative - 1]: tries scales
// around the one that maps the largest magnitude to -n_negative, refits each by least
// squares and keeps the one with the smallest squared error. Writes q and returns the
// scale (0 for an all-zero x). Used by the Q3_K and Q6_K quantizers.
float fit_symmetric(const float* __restrict x, int n, int n_negative, int8_t* __restrict q);

// Fits x[0..n) ~ scale * q - offset with q in [0, q_max], scale >= 0 and offset >= 0 (the
// K-quants store a minimum that is subtracted). Writes q and *offset, returns the scale.
// Used by the Q2_K, Q4_K and Q5_K quantizers.
float fit_with_offset(const float* __restrict x, int n, int q_max, uint8_t* __restrict q,
                      float* __restrict offset);

// Q4_K and Q5_K pack 8 six-bit scales and 8 six-bit minimums into 12 bytes: bytes 0-3 hold
// scales 0-3, bytes 4-7 minimums 0-3 (low 6 bits each); scales and minimums 4-7 keep their
// low 4 bits in bytes 8-11 (scale low nibble, minimum high nibble) and their top 2 bits in
// the top 2 bits of bytes 0-3 (scales) and 4-7 (minimums).
inline void unpack_scale_min_k4(const uint8_t* __restrict packed, int j, uint8_t* scale,
                                uint8_t* min) {
  if (j < 4) {
    *scale = packed[j] & 63u;
    *min = packed[j + 4] & 63u;
  } else {
    *scale = static_cast<uint8_t>((packed[j + 4] & 0xfu) | ((packed[j - 4] >> 6) << 4));
    *min = static_cast<uint8_t>((packed[j + 4] >> 4) | ((packed[j] >> 6) << 4));
  }
}

// The inverse of unpack_scale_min_k4; scales and minimums must be < 64.
void pack_scale_min_k4(const uint8_t* __restrict scales, const uint8_t* __restrict mins,
                       uint8_t* __restrict packed);

// The scale-and-minimum layout Q4_K and Q5_K share: a 256-value block in eight groups of 32,
// each value = d * scale[g] * q - dmin * min[g], with 6-bit scales and minimums packed by
// pack_scale_min_k4. The types differ only in how many bits q has and where they are stored.
//
// `q` holds the 256 unpacked values; `out` receives 256 floats.
void dequantize_scale_min_k4(uint16_t d, uint16_t dmin, const uint8_t* __restrict scales,
                             const uint8_t* __restrict q, float* __restrict out);
// Fits 256 values with values in 0..q_max: stores d, dmin and the packed scales, and writes
// the unpacked values to `q` (requantized against the scales as stored).
void quantize_scale_min_k4(const float* __restrict in, int q_max, uint16_t* d, uint16_t* dmin,
                           uint8_t* __restrict scales, uint8_t* __restrict q);

}  // namespace rbee::engine::kernels::detail
