// The tile loop nest (avx2_tiles.hpp) on its own: whatever the tile shape, row layout, panel
// size and counts, every (row, activation) pair of a product is handed to exactly one tile,
// whose arguments point at that row, that activation and that output.

#include "engine/kernels/simd/avx2_tiles.hpp"

#include <gtest/gtest.h>

#if defined(__x86_64__)

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

#include "engine/kernels/kernel_table.hpp"

namespace rbee::engine::kernels::simd {
namespace {

// Tiles that write, for each of their (row, activation) pairs, the row's and activation's
// numbers (read back from the bytes their arguments point at) into the output slot.
struct RecordingTile {
  int max_rows;
  int max_acts;

  template <int kRows, int kActs>
  void operator()(const TileArgs& t) const {
    static_assert(kRows >= 1 && kActs >= 1);
    EXPECT_LE(kRows, max_rows);
    EXPECT_LE(kActs, max_acts);
    for (int r = 0; r < kRows; ++r) {
      const auto row = static_cast<float>(
          *reinterpret_cast<const int32_t*>(t.rows + static_cast<size_t>(r) * t.row_stride));
      for (int j = 0; j < kActs; ++j) {
        const auto act = static_cast<float>(
            *reinterpret_cast<const int32_t*>(t.acts + static_cast<size_t>(j) * t.act_stride));
        float& slot =
            t.out[static_cast<size_t>(j) * t.out_stride + static_cast<size_t>(r) * t.out_row_step];
        EXPECT_EQ(slot, -1.0f) << "a pair given to two tiles";
        slot = row * 1000.0f + act;
      }
    }
  }
};

template <int kRows, int kActs, TileRows kLayout>
void expect_every_pair_once(size_t row_stride, int64_t n_rows, int64_t n_act) {
  // Row i's bytes start with i, activation j's with j.
  std::vector<std::byte> rows(row_stride * static_cast<size_t>(n_rows) + sizeof(int32_t));
  for (int64_t i = 0; i < n_rows; ++i) {
    const auto value = static_cast<int32_t>(i);
    std::memcpy(rows.data() + static_cast<size_t>(i) * row_stride, &value, sizeof(value));
  }
  constexpr size_t kActStride = 64;
  std::vector<std::byte> acts(kActStride * static_cast<size_t>(n_act) + sizeof(int32_t));
  for (int64_t j = 0; j < n_act; ++j) {
    const auto value = static_cast<int32_t>(j);
    std::memcpy(acts.data() + static_cast<size_t>(j) * kActStride, &value, sizeof(value));
  }
  const size_t out_stride = static_cast<size_t>(n_rows) + 3;
  std::vector<float> out(out_stride * static_cast<size_t>(n_act), -1.0f);
  for_each_tile<kRows, kActs, kLayout>(rows.data(), row_stride, acts.data(), kActStride, n_act,
                                       out.data(), out_stride, n_rows, RecordingTile{kRows, kActs});
  for (int64_t j = 0; j < n_act; ++j) {
    for (size_t i = 0; i < out_stride; ++i) {
      const float want = static_cast<int64_t>(i) < n_rows
                             ? static_cast<float>(i) * 1000.0f + static_cast<float>(j)
                             : -1.0f;
      ASSERT_EQ(out[static_cast<size_t>(j) * out_stride + i], want)
          << "row " << i << " act " << j << " of " << n_rows << " x " << n_act << ", row stride "
          << row_stride;
    }
  }
}

TEST(TileLoopTest, EveryRowAndActivationPairGoesToOneTile) {
  if (KernelTable::avx2() == nullptr) GTEST_SKIP() << "no AVX2/FMA/F16C on this CPU or build";
  // Row strides of a few bytes (one panel) and of 10 KiB (panels of 25 rows).
  for (const size_t row_stride : {size_t{4}, size_t{10 * 1024}}) {
    for (const int64_t n_rows : {0, 1, 3, 4, 5, 7, 8, 13, 24, 25, 26, 99, 103}) {
      for (const int64_t n_act : {1, 2, 3, 4, 5, 8, 9}) {
        expect_every_pair_once<4, 4, TileRows::kSpread>(row_stride, n_rows, n_act);
        expect_every_pair_once<3, 2, TileRows::kSpread>(row_stride, n_rows, n_act);
        expect_every_pair_once<3, 2, TileRows::kAdjacent>(row_stride, n_rows, n_act);
        expect_every_pair_once<1, 8, TileRows::kAdjacent>(row_stride, n_rows, n_act);
      }
    }
  }
}

TEST(TileLoopTest, SpreadRowsLieARunApart) {
  if (KernelTable::avx2() == nullptr) GTEST_SKIP() << "no AVX2/FMA/F16C on this CPU or build";
  // 40 rows in one pass of 4 activations: four runs of 10, so the whole tiles hold rows
  // i, i + 10, i + 20, i + 30.
  constexpr size_t kRowStride = 16;
  std::vector<std::byte> rows(kRowStride * 40);
  std::vector<std::byte> acts(64 * 4);
  std::vector<float> out(40 * 4);
  std::vector<int64_t> first_rows;
  for_each_tile<4, 4, TileRows::kSpread>(
      rows.data(), kRowStride, acts.data(), 64, 4, out.data(), 40, 40,
      [&]<int kRows, int kActs>(const TileArgs& t) {
        EXPECT_EQ(kRows, 4);
        EXPECT_EQ(t.row_stride, 10 * kRowStride);
        EXPECT_EQ(t.out_row_step, 10u);
        first_rows.push_back((t.rows - rows.data()) / static_cast<int64_t>(kRowStride));
      });
  ASSERT_EQ(first_rows.size(), 10u);
  for (int64_t i = 0; i < 10; ++i) EXPECT_EQ(first_rows[size_t(i)], i);
}

}  // namespace
}  // namespace rbee::engine::kernels::simd

#endif  // __x86_64__
