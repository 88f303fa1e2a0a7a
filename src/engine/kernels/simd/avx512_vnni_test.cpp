// The AVX-512 VNNI kernels against the AVX2 ones, whose bits they promise (avx512_vnni.hpp),
// on random data. Skips when this CPU (or build) has no AVX-512 VNNI.

#include "engine/kernels/simd/avx512_vnni.hpp"

#include <gtest/gtest.h>

#include <cstddef>
#include <cstring>
#include <vector>

#include "engine/kernels/kernel_table.hpp"
#include "engine/kernels/kernel_test_util.hpp"

namespace rbee::engine::kernels {
namespace {

using testing::random_row;

#define SKIP_WITHOUT_VNNI()                         \
  if (KernelTable::avx512_vnni() == nullptr)        \
  GTEST_SKIP() << "no AVX-512 VNNI on this CPU or " \
                  "build"

// Exactly `bytes` on the heap, so that AddressSanitizer catches a read past the end.
std::vector<std::byte> exact_bytes(size_t bytes) {
  return std::vector<std::byte>(bytes);
}

TEST(KernelAvx512VnniTest, TableIsTheAvx2TableWithBatchKernelsReplaced) {
  SKIP_WITHOUT_VNNI();
  const KernelTable& vnni = *KernelTable::avx512_vnni();
  const KernelTable& avx2 = *KernelTable::avx2();
  EXPECT_STREQ(vnni.name(), "avx512_vnni");
  int replaced = 0;
  for (uint32_t id = 0; id < kKernelTypeIdLimit; ++id) {
    const KernelTraits* a = avx2.find(id);
    const KernelTraits* v = vnni.find(id);
    ASSERT_EQ(a == nullptr, v == nullptr) << id;
    if (a == nullptr) continue;
    EXPECT_EQ(v->vec_dot, a->vec_dot) << v->name;
    EXPECT_EQ(v->quantize_row, a->quantize_row) << v->name;
    EXPECT_EQ(v->dequantize_row, a->dequantize_row) << v->name;
    EXPECT_EQ(v->vec_dot_type, a->vec_dot_type) << v->name;
    if (v->matvec != a->matvec) {
      ++replaced;
      EXPECT_NE(a->matvec, nullptr) << v->name << ": only AVX2 batch kernels are replaced";
    }
  }
  EXPECT_GE(replaced, 4);
}

TEST(KernelAvx512VnniTest, BatchKernelsGiveTheAvx2BitsExactly) {
  // Every path of a replaced kernel (dot_rows from any first row, dot_rows_multi for
  // activation counts on and off the tile width and row ranges on and off tiles) gives
  // each (row, activation) the AVX2 single-row dot's bits, for row lengths with partial
  // groups of blocks. Activations are packed exactly (the last ends where the buffer ends).
  SKIP_WITHOUT_VNNI();
  const KernelTable& vnni = *KernelTable::avx512_vnni();
  const KernelTable& avx2 = *KernelTable::avx2();
  int n_types = 0;
  for (uint32_t id = 0; id < kKernelTypeIdLimit; ++id) {
    const KernelTraits* v = vnni.find(id);
    if (v == nullptr || v->matvec == nullptr || v->matvec == avx2.find(id)->matvec) continue;
    ++n_types;
    const MatvecKernel& k = *v->matvec;
    const KernelTraits& act = avx2.at(v->vec_dot_type);
    for (int64_t blocks : {1, 2, 3, 7, 8, 9, 15, 16, 17, 33, 64, 67}) {
      const int64_t n = v->block_size * blocks;
      constexpr int64_t kRows = 13;
      const size_t stride = row_bytes(*v, n);
      std::vector<std::byte> matrix = exact_bytes(stride * kRows);
      for (int64_t r = 0; r < kRows; ++r) {
        const std::vector<float> w = random_row(n, 40 + static_cast<uint32_t>(r), 0.3f);
        v->quantize_row(w.data(), matrix.data() + r * stride, n);
      }
      constexpr int64_t kMaxActs = 10;
      const size_t act_bytes = k.activation_bytes(n);
      const size_t act_stride = (act_bytes + 63) / 64 * 64;
      std::vector<std::byte> acts = exact_bytes(act_stride * (kMaxActs - 1) + act_bytes);
      std::vector<std::vector<float>> expected;
      for (int64_t j = 0; j < kMaxActs; ++j) {
        const std::vector<float> x = random_row(n, 900 + static_cast<uint32_t>(j));
        std::byte* prepared = acts.data() + j * act_stride;
        k.prepare(x.data(), prepared, n);
        std::vector<std::byte> plain = exact_bytes(row_bytes(act, n));
        act.quantize_row(x.data(), plain.data(), n);
        ASSERT_EQ(std::memcmp(prepared, plain.data(), plain.size()), 0) << v->name << " n " << n;
        std::vector<float> dots(kRows);
        for (int64_t r = 0; r < kRows; ++r) {
          dots[r] = avx2.find(id)->vec_dot(matrix.data() + r * stride, plain.data(), n);
        }
        for (int64_t first = 0; first < kRows; first += 4) {
          std::vector<float> out(kRows - first);
          k.dot_rows(matrix.data() + first * stride, stride, prepared, out.data(), kRows - first,
                     n);
          for (int64_t r = first; r < kRows; ++r) {
            ASSERT_EQ(out[r - first], dots[r]) << v->name << " n " << n << " row " << r;
          }
        }
        expected.push_back(dots);
      }
      for (int64_t n_act = 1; n_act <= kMaxActs; ++n_act) {
        const int64_t first_act = kMaxActs - n_act;
        for (int64_t first = 0; first < kRows; first += 3) {
          for (int64_t count = 0; first + count <= kRows; ++count) {
            const size_t out_stride = static_cast<size_t>(count) + 2;
            std::vector<float> out(out_stride * static_cast<size_t>(n_act), -7.0f);
            k.dot_rows_multi(matrix.data() + first * stride, stride,
                             acts.data() + first_act * act_stride, act_stride, n_act, out.data(),
                             out_stride, count, n);
            for (int64_t j = 0; j < n_act; ++j) {
              for (size_t r = 0; r < out_stride; ++r) {
                const float got = out[size_t(j) * out_stride + r];
                const float want =
                    int64_t(r) < count ? expected[size_t(first_act + j)][first + r] : -7.0f;
                ASSERT_EQ(got, want) << v->name << " n " << n << " rows " << first << "+" << count
                                     << " act " << j << " of " << n_act;
              }
            }
          }
        }
      }
    }
  }
  EXPECT_GE(n_types, 4);
}

TEST(KernelAvx512VnniTest, ActiveTableIsTheVnniOneUnlessCapped) {
  SKIP_WITHOUT_VNNI();
  const char* choice = std::getenv("RBEE_KERNELS");
  if (choice != nullptr) GTEST_SKIP() << "RBEE_KERNELS is set";
  EXPECT_EQ(&KernelTable::active(), KernelTable::avx512_vnni());
}

}  // namespace
}  // namespace rbee::engine::kernels
