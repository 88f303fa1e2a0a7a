#pragma once

// IEEE half precision (F16) and bfloat16 (BF16): bit patterns held in uint16_t, scalar
// conversions to and from float, and the row kernels of F16 and BF16 tensors.
//
// float -> F16 and float -> BF16 round to nearest, ties to even, like ggml's scalar
// conversions; a NaN stays a NaN (quiet, sign kept). F16/BF16 -> float is exact.
// The conversions are inline: every quantized block's scale goes through fp16_to_fp32.

#include <bit>
#include <cstdint>

namespace rbee::engine::kernels {

// The float value of the F16 bit pattern `h` (exact; subnormals, infinities and NaNs kept).
inline float fp16_to_fp32(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  const uint32_t exponent = (h >> 10) & 0x1fu;
  const uint32_t mantissa = h & 0x3ffu;
  if (exponent == 0x1f) return std::bit_cast<float>(sign | 0x7f800000u | (mantissa << 13));
  if (exponent == 0) {
    // Zero or subnormal: mantissa * 2^-24, exact in float.
    const float magnitude = static_cast<float>(mantissa) * 0x1p-24f;
    return sign != 0 ? -magnitude : magnitude;
  }
  return std::bit_cast<float>(sign | ((exponent + 112u) << 23) | (mantissa << 13));
}

// The F16 bit pattern nearest to `f` (ties to even). Values from 65520 up become infinity;
// values at or below 2^-25 in magnitude become a signed zero. NaN becomes 0x7e00 | sign.
inline uint16_t fp32_to_fp16(float f) {
  const uint32_t bits = std::bit_cast<uint32_t>(f);
  const auto sign = static_cast<uint16_t>((bits >> 16) & 0x8000u);
  const uint32_t magnitude = bits & 0x7fffffffu;
  if (magnitude > 0x7f800000u) return static_cast<uint16_t>(sign | 0x7e00u);   // NaN
  if (magnitude >= 0x477ff000u) return static_cast<uint16_t>(sign | 0x7c00u);  // >= 65520
  if (magnitude < 0x38800000u) {
    // Below the smallest normal F16 (2^-14): a subnormal in units of 2^-24, or zero.
    if (magnitude <= 0x33000000u) return sign;  // <= 2^-25: the tie at 2^-25 goes to even 0
    const uint32_t exponent = magnitude >> 23;  // 102..112
    const uint32_t mantissa = (magnitude & 0x7fffffu) | 0x800000u;
    const uint32_t shift = 126 - exponent;  // 14..24
    uint32_t q = mantissa >> shift;
    const uint32_t rest = mantissa & ((1u << shift) - 1);
    const uint32_t half = 1u << (shift - 1);
    if (rest > half || (rest == half && (q & 1u) != 0)) ++q;  // may carry into 0x400: fine
    return static_cast<uint16_t>(sign | q);
  }
  uint32_t h = (((magnitude >> 23) - 112u) << 10) | ((magnitude >> 13) & 0x3ffu);
  const uint32_t rest = magnitude & 0x1fffu;
  if (rest > 0x1000u || (rest == 0x1000u && (h & 1u) != 0)) ++h;  // a carry bumps the exponent
  return static_cast<uint16_t>(sign | h);
}

// The float value of the BF16 bit pattern `h` (exact).
inline float bf16_to_fp32(uint16_t h) {
  return std::bit_cast<float>(static_cast<uint32_t>(h) << 16);
}

// The BF16 bit pattern nearest to `f` (ties to even; subnormals kept, not flushed).
// NaN keeps its sign and top payload bits and is made quiet.
inline uint16_t fp32_to_bf16(float f) {
  const uint32_t bits = std::bit_cast<uint32_t>(f);
  if ((bits & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((bits >> 16) | 0x40u);
  return static_cast<uint16_t>((bits + 0x7fffu + ((bits >> 16) & 1u)) >> 16);
}

// Row kernels. `n` is the number of elements; any n >= 0 is allowed (block size 1).

// y[i] = x[i] as float.
void dequantize_row_f16(const uint16_t* __restrict x, float* __restrict y, int64_t n);
// y[i] = x[i] as F16, rounded to nearest even.
void quantize_row_f16(const float* __restrict x, uint16_t* __restrict y, int64_t n);
// Sum of x[i] * y[i], each converted to float, the products accumulated in double (ggml's
// scalar ggml_vec_dot_f16), rounded to float at the end.
float vec_dot_f16(const uint16_t* __restrict x, const uint16_t* __restrict y, int64_t n);

void dequantize_row_bf16(const uint16_t* __restrict x, float* __restrict y, int64_t n);
void quantize_row_bf16(const float* __restrict x, uint16_t* __restrict y, int64_t n);
float vec_dot_bf16(const uint16_t* __restrict x, const uint16_t* __restrict y, int64_t n);

}  // namespace rbee::engine::kernels
