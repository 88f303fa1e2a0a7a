#pragma once

// Test helpers for the kernels: random rows from a fixed seed, and the round-trip and dot
// measurements every type's tests share.

#include <gtest/gtest.h>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <random>
#include <vector>

#include "engine/kernels/kernel_table.hpp"

namespace rbee::engine::kernels::testing {

// `n` values drawn from N(0, scale^2), the same for the same seed.
inline std::vector<float> random_row(int64_t n, uint32_t seed, float scale = 1.0f) {
  std::mt19937 generator(seed);
  std::normal_distribution<float> normal(0.0f, scale);
  std::vector<float> row(static_cast<size_t>(n));
  for (float& v : row) v = normal(generator);
  return row;
}

// Raw bytes for a row of `n` elements of `type`, aligned for any block struct.
class RowBuffer {
 public:
  RowBuffer(KernelType type, int64_t n)
      : words_((row_bytes(type_traits(type), n) + 7) / 8 + 1, 0) {}
  void* data() { return words_.data(); }
  const void* data() const { return words_.data(); }

 private:
  std::vector<uint64_t> words_;
};

// x quantized to `type`, then dequantized.
inline std::vector<float> round_trip(KernelType type, const std::vector<float>& x) {
  const KernelTraits& traits = type_traits(type);
  const auto n = static_cast<int64_t>(x.size());
  RowBuffer blocks(type, n);
  traits.quantize_row(x.data(), blocks.data(), n);
  std::vector<float> y(x.size());
  traits.dequantize_row(blocks.data(), y.data(), n);
  return y;
}

// sqrt(mean((a - b)^2)) / sqrt(mean(a^2)): the round-trip error relative to the signal.
inline double relative_rms_error(const std::vector<float>& a, const std::vector<float>& b) {
  double error = 0.0;
  double signal = 0.0;
  for (size_t i = 0; i < a.size(); ++i) {
    const double diff = static_cast<double>(a[i]) - static_cast<double>(b[i]);
    error += diff * diff;
    signal += static_cast<double>(a[i]) * static_cast<double>(a[i]);
  }
  return signal > 0.0 ? std::sqrt(error / signal) : std::sqrt(error);
}

// The mean relative RMS round-trip error of `type` over `n_rows` random rows of `n`.
inline double mean_round_trip_error(KernelType type, int64_t n, int n_rows) {
  double sum = 0.0;
  for (int r = 0; r < n_rows; ++r) {
    const std::vector<float> x = random_row(n, 1000u + static_cast<uint32_t>(r));
    sum += relative_rms_error(x, round_trip(type, x));
  }
  return sum / n_rows;
}

struct DotCheck {
  double kernel = 0.0;     // traits.vec_dot on the quantized rows
  double reference = 0.0;  // the double dot of the dequantized weight and activation rows
  double magnitude = 0.0;  // sum of |w_i * a_i|: the scale of float rounding in the dot
};

// Quantizes w to `type` and a to its vec_dot type, then computes the kernel dot and the
// reference dot of the two dequantized rows.
inline DotCheck check_dot(KernelType type, const std::vector<float>& w,
                          const std::vector<float>& a) {
  const KernelTraits& weights = type_traits(type);
  const KernelTraits& activation = type_traits(weights.vec_dot_type);
  const auto n = static_cast<int64_t>(w.size());
  RowBuffer wq(type, n);
  RowBuffer aq(activation.type, n);
  weights.quantize_row(w.data(), wq.data(), n);
  activation.quantize_row(a.data(), aq.data(), n);
  std::vector<float> wd(w.size());
  std::vector<float> ad(a.size());
  weights.dequantize_row(wq.data(), wd.data(), n);
  activation.dequantize_row(aq.data(), ad.data(), n);
  DotCheck check;
  check.kernel = weights.vec_dot(wq.data(), aq.data(), n);
  for (size_t i = 0; i < w.size(); ++i) {
    const double product = static_cast<double>(wd[i]) * static_cast<double>(ad[i]);
    check.reference += product;
    check.magnitude += std::fabs(product);
  }
  return check;
}

// The table entry of `type` has this geometry and vec_dot type.
inline void expect_traits(KernelType type, const char* name, int64_t block_size, size_t block_bytes,
                          KernelType vec_dot_type) {
  const KernelTraits& traits = type_traits(type);
  EXPECT_EQ(traits.type, type);
  EXPECT_STREQ(traits.name, name);
  EXPECT_EQ(traits.block_size, block_size);
  EXPECT_EQ(traits.block_bytes, block_bytes);
  EXPECT_EQ(traits.vec_dot_type, vec_dot_type);
  EXPECT_NE(traits.dequantize_row, nullptr);
  EXPECT_NE(traits.quantize_row, nullptr);
}

// Random rows of 1, 2, 5 and 16 blocks round-trip within `bound` (relative RMS error) taken
// together, and each row within 1.5 * bound (a single block varies more).
inline void expect_round_trip_within(KernelType type, double bound) {
  const int64_t block = type_traits(type).block_size;
  uint32_t seed = 1;
  std::vector<float> all_x;
  std::vector<float> all_y;
  for (int64_t n_blocks : {1, 2, 5, 16}) {
    for (int r = 0; r < 8; ++r) {
      // Scales from 0.05 to 2.5: the error is relative, so any scale should do.
      const float scale = 0.05f * static_cast<float>(1 + r * r);
      const std::vector<float> x = random_row(n_blocks * block, seed++, scale);
      const std::vector<float> y = round_trip(type, x);
      EXPECT_LT(relative_rms_error(x, y), 1.5 * bound)
          << type_traits(type).name << " blocks " << n_blocks << " row " << r;
      // Pooled unscaled, so every row weighs the same.
      for (size_t i = 0; i < x.size(); ++i) {
        all_x.push_back(x[i] / scale);
        all_y.push_back(y[i] / scale);
      }
    }
  }
  EXPECT_LT(relative_rms_error(all_x, all_y), bound) << type_traits(type).name;
  // A zero row stays exactly zero.
  const std::vector<float> zeros(static_cast<size_t>(4 * block), 0.0f);
  for (float v : round_trip(type, zeros)) EXPECT_EQ(v, 0.0f);
}

// vec_dot equals the dot of the dequantized rows to within `tolerance` * sum |w_i a_i|.
inline void expect_dot_matches_dequantized(KernelType type, double tolerance) {
  const int64_t block = type_traits(type).block_size;
  uint32_t seed = 100;
  for (int64_t n_blocks : {1, 3, 8}) {
    for (int r = 0; r < 4; ++r) {
      const int64_t n = n_blocks * block;
      const DotCheck dot = check_dot(type, random_row(n, seed, 0.1f), random_row(n, seed + 1));
      seed += 2;
      EXPECT_NEAR(dot.kernel, dot.reference, tolerance * dot.magnitude)
          << type_traits(type).name << " blocks " << n_blocks << " row " << r;
    }
  }
}

}  // namespace rbee::engine::kernels::testing
