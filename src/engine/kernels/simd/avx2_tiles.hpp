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
//
// A tile's rows are next to each other (TileRows::kAdjacent) or spread over the panel
// (kSpread): cut into kRows runs, the tile takes row i of each run. Each row then streams
// from memory on its own, far from the others; the hardware prefetchers follow a page's
// reads in one direction, and a tile's adjacent rows, read octet by octet, interleave
// within a page (on Zen 4 such reads from memory ran at a third of one stream's speed,
// software prefetches or not).

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
  float* out;  // out[j * out_stride + r * out_row_step] for activation j, row r of the tile
  size_t out_stride;
  size_t out_row_step = 1;
};

// The tile's kActs activations, each a row of Block.
template <typename Block, int kActs>
RBEE_AVX2 inline void tile_activations(const TileArgs& t, const Block* (&y)[kActs]) {
  for (int j = 0; j < kActs; ++j) {
    y[j] = reinterpret_cast<const Block*>(t.acts + static_cast<size_t>(j) * t.act_stride);
  }
}

enum class TileRows { kAdjacent, kSpread };

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

// The n_rows x n_act products of dot_rows_multi through `tile` (see run_tile). A "row" may
// be a group of kOutputsPerRow interleaved rows (Q4_Kx8) whose results are consecutive
// outputs: a tile's outputs then start at out + kOutputsPerRow * (its first row).
template <int kRows, int kActs, TileRows kLayout = TileRows::kAdjacent, int kOutputsPerRow = 1,
          typename Tile>
RBEE_AVX2 inline void for_each_tile(const void* x, size_t row_stride, const void* activations,
                                    size_t activation_stride, int64_t n_act, float* out,
                                    size_t out_stride, int64_t n_rows, Tile tile) {
  constexpr size_t kPanelBytes = 256 * 1024;
  // One pass of the activations reads every row once whatever the panels: spread rows then
  // span the whole range, as far apart as it allows.
  const bool one_pass = n_act <= kActs && kLayout == TileRows::kSpread;
  const int64_t panel_rows =
      one_pass ? n_rows
               : std::max<int64_t>(
                     kRows, static_cast<int64_t>(kPanelBytes / std::max<size_t>(row_stride, 1)));
  const auto* rows = static_cast<const std::byte*>(x);
  const auto* acts = static_cast<const std::byte*>(activations);
  const auto args_at = [&](int64_t r, int64_t j) {
    return TileArgs{
        rows + static_cast<size_t>(r) * row_stride,
        row_stride,
        acts + static_cast<size_t>(j) * activation_stride,
        activation_stride,
        out + static_cast<size_t>(j) * out_stride + static_cast<size_t>(r) * kOutputsPerRow,
        out_stride};
  };
  for (int64_t panel = 0; panel < n_rows; panel += panel_rows) {
    const int64_t panel_end = std::min(n_rows, panel + panel_rows);
    for (int64_t j = 0; j < n_act; j += kActs) {
      const int64_t tile_acts = std::min<int64_t>(kActs, n_act - j);
      if constexpr (kLayout == TileRows::kSpread) {
        const int64_t run = (panel_end - panel) / kRows;
        for (int64_t r = panel; r < panel + run; ++r) {
          TileArgs args = args_at(r, j);
          args.row_stride = static_cast<size_t>(run) * row_stride;
          args.out_row_step = static_cast<size_t>(run) * kOutputsPerRow;
          run_tile<kRows, kActs>(tile, kRows, tile_acts, args);
        }
        // The rows past the last whole run, fewer than kRows, one tile.
        const int64_t rest = panel + run * kRows;
        if (rest < panel_end)
          run_tile<kRows, kActs>(tile, panel_end - rest, tile_acts, args_at(rest, j));
      } else {
        for (int64_t r = panel; r < panel_end; r += kRows) {
          run_tile<kRows, kActs>(tile, std::min<int64_t>(kRows, panel_end - r), tile_acts,
                                 args_at(r, j));
        }
      }
    }
  }
}

}  // namespace rbee::engine::kernels::simd

#endif  // __x86_64__
