#include "engine/kernels/quant_common.hpp"

#include <algorithm>
#include <cmath>

#include "engine/kernels/float16.hpp"

namespace rbee::engine::kernels::detail {
namespace {

// Candidate steps tried around the first-guess scale (ggml's make_qx_quants and
// make_qkx2_quants search a similar range, 0.1 quantization level apart).
constexpr int kSearchSteps = 9;
constexpr float kSearchStep = 0.1f;

}  // namespace

float fit_symmetric(const float* __restrict x, int n, int n_negative, int8_t* __restrict q) {
  float max_value = 0.0f;  // the element of largest magnitude, with its sign
  float max_abs = 0.0f;
  for (int i = 0; i < n; ++i) {
    const float a = std::fabs(x[i]);
    if (a > max_abs) {
      max_abs = a;
      max_value = x[i];
    }
  }
  if (max_abs == 0.0f) {
    for (int i = 0; i < n; ++i) q[i] = 0;
    return 0.0f;
  }
  float best_scale = 0.0f;
  float best_error = INFINITY;
  int8_t trial[256];
  for (int step = -kSearchSteps; step <= kSearchSteps; ++step) {
    // Negative so that the largest magnitude lands on -n_negative, the one level that has
    // no positive twin.
    const float inverse =
        -(static_cast<float>(n_negative) + kSearchStep * static_cast<float>(step)) / max_value;
    float sum_xq = 0.0f;
    float sum_qq = 0.0f;
    for (int i = 0; i < n; ++i) {
      const int level = std::clamp(nearest_int(inverse * x[i]), -n_negative, n_negative - 1);
      trial[i] = static_cast<int8_t>(level);
      sum_xq += x[i] * static_cast<float>(level);
      sum_qq += static_cast<float>(level * level);
    }
    if (sum_qq == 0.0f) continue;
    const float scale = sum_xq / sum_qq;
    float error = 0.0f;
    for (int i = 0; i < n; ++i) {
      const float diff = x[i] - scale * static_cast<float>(trial[i]);
      error += diff * diff;
    }
    if (error < best_error) {
      best_error = error;
      best_scale = scale;
      std::copy(trial, trial + n, q);
    }
  }
  return best_scale;
}

float fit_with_offset(const float* __restrict x, int n, int q_max, uint8_t* __restrict q,
                      float* __restrict offset) {
  float lo = x[0];
  float hi = x[0];
  for (int i = 1; i < n; ++i) {
    lo = std::min(lo, x[i]);
    hi = std::max(hi, x[i]);
  }
  lo = std::min(lo, 0.0f);  // the stored minimum is subtracted, so the offset is >= 0
  if (hi <= lo) {
    for (int i = 0; i < n; ++i) q[i] = 0;
    *offset = -lo;
    return 0.0f;
  }
  float best_scale = (hi - lo) / static_cast<float>(q_max);
  float best_offset = -lo;
  float best_error = INFINITY;
  uint8_t trial[256];
  for (int step = -kSearchSteps; step <= kSearchSteps; ++step) {
    const float inverse =
        (static_cast<float>(q_max) + kSearchStep * static_cast<float>(step)) / (hi - lo);
    float sum_q = 0.0f;
    float sum_qq = 0.0f;
    float sum_x = 0.0f;
    float sum_xq = 0.0f;
    for (int i = 0; i < n; ++i) {
      const int level = std::clamp(nearest_int(inverse * (x[i] - lo)), 0, q_max);
      trial[i] = static_cast<uint8_t>(level);
      const auto l = static_cast<float>(level);
      sum_q += l;
      sum_qq += l * l;
      sum_x += x[i];
      sum_xq += x[i] * l;
    }
    // Least squares for x ~ scale * q + bias; the bias must stay <= 0 (offset >= 0).
    const auto count = static_cast<float>(n);
    const float det = count * sum_qq - sum_q * sum_q;
    if (det <= 0.0f) continue;
    float scale = (count * sum_xq - sum_q * sum_x) / det;
    float bias = (sum_qq * sum_x - sum_q * sum_xq) / det;
    if (bias > 0.0f) {
      bias = 0.0f;
      scale = sum_xq / sum_qq;
    }
    if (scale <= 0.0f) continue;
    float error = 0.0f;
    for (int i = 0; i < n; ++i) {
      const float diff = x[i] - (scale * static_cast<float>(trial[i]) + bias);
      error += diff * diff;
    }
    if (error < best_error) {
      best_error = error;
      best_scale = scale;
      best_offset = -bias;
      std::copy(trial, trial + n, q);
    }
  }
  if (best_error == INFINITY) {
    // No candidate fitted (cannot happen for hi > lo, kept for safety): plain min/max.
    for (int i = 0; i < n; ++i) {
      q[i] = static_cast<uint8_t>(std::clamp(nearest_int((x[i] - lo) / best_scale), 0, q_max));
    }
  }
  *offset = best_offset;
  return best_scale;
}

void pack_scale_min_k4(const uint8_t* __restrict scales, const uint8_t* __restrict mins,
                       uint8_t* __restrict packed) {
  for (int j = 0; j < 4; ++j) {
    packed[j] = static_cast<uint8_t>(scales[j] | ((scales[j + 4] >> 4) << 6));
    packed[j + 4] = static_cast<uint8_t>(mins[j] | ((mins[j + 4] >> 4) << 6));
    packed[j + 8] = static_cast<uint8_t>((scales[j + 4] & 0xfu) | ((mins[j + 4] & 0xfu) << 4));
  }
}

void dequantize_scale_min_k4(uint16_t d, uint16_t dmin, const uint8_t* __restrict scales,
                             const uint8_t* __restrict q, float* __restrict out) {
  const float d_f = fp16_to_fp32(d);
  const float dmin_f = fp16_to_fp32(dmin);
  for (int g = 0; g < 8; ++g) {
    uint8_t sc = 0;
    uint8_t m = 0;
    unpack_scale_min_k4(scales, g, &sc, &m);
    const float scale = d_f * static_cast<float>(sc);
    const float min = dmin_f * static_cast<float>(m);
    for (int l = 0; l < 32; ++l) out[32 * g + l] = scale * static_cast<float>(q[32 * g + l]) - min;
  }
}

void quantize_scale_min_k4(const float* __restrict in, int q_max, uint16_t* d, uint16_t* dmin,
                           uint8_t* __restrict scales, uint8_t* __restrict q) {
  constexpr int kGroups = 8;
  float group_scales[kGroups];
  float group_mins[kGroups];
  uint8_t scales_q[kGroups];
  uint8_t mins_q[kGroups];
  float max_scale = 0.0f;
  float max_min = 0.0f;
  for (int g = 0; g < kGroups; ++g) {
    group_scales[g] = fit_with_offset(in + 32 * g, 32, q_max, q + 32 * g, &group_mins[g]);
    max_scale = std::max(max_scale, group_scales[g]);
    max_min = std::max(max_min, group_mins[g]);
  }
  const float d_f = max_scale / 63.0f;
  const float dmin_f = max_min / 63.0f;
  *d = fp32_to_fp16(d_f);
  *dmin = fp32_to_fp16(dmin_f);
  const float d_stored = fp16_to_fp32(*d);
  const float dmin_stored = fp16_to_fp32(*dmin);
  for (int g = 0; g < kGroups; ++g) {
    scales_q[g] = static_cast<uint8_t>(
        d_f > 0.0f ? std::clamp(nearest_int(group_scales[g] / d_f), 0, 63) : 0);
    mins_q[g] = static_cast<uint8_t>(
        dmin_f > 0.0f ? std::clamp(nearest_int(group_mins[g] / dmin_f), 0, 63) : 0);
    // Requantize the values against the scale and minimum actually stored.
    const float scale = d_stored * static_cast<float>(scales_q[g]);
    const float min = dmin_stored * static_cast<float>(mins_q[g]);
    for (int l = 0; l < 32; ++l) {
      const float v = in[32 * g + l] + min;
      q[32 * g + l] =
          scale > 0.0f ? static_cast<uint8_t>(std::clamp(nearest_int(v / scale), 0, q_max)) : 0;
    }
  }
  pack_scale_min_k4(scales_q, mins_q, scales);
}

}  // namespace rbee::engine::kernels::detail
