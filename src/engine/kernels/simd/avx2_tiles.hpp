#pragma once

// The loop nest of the AVX2 dot_rows_multi kernels (simd/avx2_*.cpp only): a weight block
// times a batch of activations, cut into register tiles of up to kRows rows x kActs
// activations. A tile kernel reads each weight block once for its kActs activations and
// each activation block once for its kRows rows; every (row, activation) pair inside it
// does exactly the single-row kernel's arithmetic, so results are dot_rows' bits.
//
// Rows go in panels of about kPanelBytes: a panel stays in the L2 cache while every
// activation passes over it (the weights come from memory once per product), and the
// kActs activations of a tile stay in L1 while the panel's rows pass over them.

#if defined(__x86_64__)

#include <algorithm>
#include <cstddef>
#include <cstdint>

#include "engine/kernels/simd/avx2_common.hpp"

namespace rbee::engine::kernels::simd {

// Where a tile starts: its first weight row and first activation, and their strides.
struct TileArgs {
  const std::byte* rows;  // row 0 of the tile
  size_t row_stride;
  const std::byte* acts;  // activation 0 of the tile
  size_t act_stride;
  float* out;  // out[j * out_stride + r] for activation j, row r of the tile
  size_t out_stride;
};

// Calls tile.template operator()<nr, na>(args) with nr <= kRows and na <= kActs the
// compile-time forms of n_rows and n_act (each at least 1).
template <int kRows, int kActs, typename Tile>
RBEE_AVX2 inline void run_tile(Tile& tile, int64_t n_rows, int64_t n_act, const TileArgs& args) {
  if constexpr (kRows > 1) {
    if (n_rows < kRows) return run_tile<kRows - 1, kActs>(tile, n_rows, n_act, args);
  }
  if constexpr (kActs > 1) {
    if (n_act < kActs) return run_tile<kRows, kActs - 1>(tile, n_rows, n_act, args);
  }
  tile.template operator()<kRows, kActs>(args);
}

// The n_rows x n_act products of dot_rows_multi through `tile` (see run_tile).
template <int kRows, int kActs, typename Tile>
RBEE_AVX2 inline void for_each_tile(const void* x, size_t row_stride, const void* activations,
                                    size_t activation_stride, int64_t n_act, float* out,
                                    size_t out_stride, int64_t n_rows, Tile tile) {
  constexpr size_t kPanelBytes = 256 * 1024;
  const int64_t panel_rows =
      std::max<int64_t>(kRows, static_cast<int64_t>(kPanelBytes / std::max<size_t>(row_stride, 1)));
  const auto* rows = static_cast<const std::byte*>(x);
  const auto* acts = static_cast<const std::byte*>(activations);
  for (int64_t panel = 0; panel < n_rows; panel += panel_rows) {
    const int64_t panel_end = std::min(n_rows, panel + panel_rows);
    for (int64_t j = 0; j < n_act; j += kActs) {
      for (int64_t r = panel; r < panel_end; r += kRows) {
        const TileArgs args = {rows + static_cast<size_t>(r) * row_stride,
                               row_stride,
                               acts + static_cast<size_t>(j) * activation_stride,
                               activation_stride,
                               out + static_cast<size_t>(j) * out_stride + static_cast<size_t>(r),
                               out_stride};
        run_tile<kRows, kActs>(tile, std::min<int64_t>(kRows, panel_end - r),
                               std::min<int64_t>(kActs, n_act - j), args);
      }
    }
  }
}

}  // namespace rbee::engine::kernels::simd

#endif  // __x86_64__
