// The AVX-512 VNNI kernels against the AVX2 ones, whose bits they promise (avx512_vnni.hpp),
// on random data. Skips when this CPU (or build) has no AVX-512 VNNI.

#include "engine/kernels/simd/avx512_vnni.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <vector>

#include "engine/kernels/kernel_table.hpp"
#include "engine/kernels/kernel_test_util.hpp"
#include "engine/kernels/q6_k.hpp"
#include "engine/kernels/q8_k.hpp"

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
    // Interleaved groups of rows (Q4_Kx8) have no single rows to compare: avx2_test.cpp's
    // RepackedQ4_KGroupsGiveTheScalarBitsOnEveryPath checks them on this table too.
    if (v->row_group > 1) continue;
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

// The K-quant kernels hold each lane's sum of four products in 16 bits before scaling it
// (avx512_vnni_kquants.cpp): with every value and scale at its largest and activations at
// +127 or -127 (the ends of Q8_K), the results are still the AVX2 kernel's bits.
TEST(KernelAvx512VnniTest, KQuantsAtTheEndsOfTheirRangesGiveTheAvx2Bits) {
  SKIP_WITHOUT_VNNI();
  const KernelTable& vnni = *KernelTable::avx512_vnni();
  const KernelTable& avx2 = *KernelTable::avx2();
  constexpr uint16_t kOne = 0x3c00;  // 1.0 in F16
  constexpr int64_t kBlocks = 3;
  constexpr int64_t n = kBlocks * kQK_K;
  for (KernelType type : {KernelType::kQ4_K, KernelType::kQ5_K, KernelType::kQ6_K}) {
    const KernelTraits& v = vnni.at(type);
    ASSERT_NE(v.matvec, avx2.at(type).matvec) << v.name;
    // Every value bit set: the largest value of the type, 6-bit scales and minimums 63.
    std::vector<std::byte> row = exact_bytes(row_bytes(v, n));
    std::memset(row.data(), 0xff, row.size());
    for (int64_t b = 0; b < kBlocks; ++b) {
      std::byte* block = row.data() + b * v.block_bytes;
      if (type == KernelType::kQ6_K) {
        auto* q6 = reinterpret_cast<BlockQ6_K*>(block);
        for (int g = 0; g < kQK_K / 16; ++g)
          q6->scales[g] = static_cast<int8_t>(g % 2 ? 127 : -128);
        q6->d = kOne;
      } else {
        std::memcpy(block, &kOne, sizeof(kOne));      // d
        std::memcpy(block + 2, &kOne, sizeof(kOne));  // dmin
      }
    }
    for (int8_t value : {int8_t{127}, int8_t{-127}}) {
      std::vector<BlockQ8_K> activation(kBlocks);
      for (BlockQ8_K& a : activation) {
        a.d = 1.0f;
        std::fill(std::begin(a.qs), std::end(a.qs), value);
        std::fill(std::begin(a.bsums), std::end(a.bsums), static_cast<int16_t>(16 * value));
      }
      float got = 0.0f;
      v.matvec->dot_rows(row.data(), row.size(), activation.data(), &got, 1, n);
      EXPECT_EQ(got, avx2.at(type).vec_dot(row.data(), activation.data(), n))
          << v.name << " activation " << int{value};
    }
  }
}

TEST(KernelAvx512VnniTest, ActiveTableIsTheVnniOneUnlessCapped) {
  SKIP_WITHOUT_VNNI();
  const char* choice = std::getenv("RBEE_KERNELS");
  if (choice != nullptr) GTEST_SKIP() << "RBEE_KERNELS is set";
  EXPECT_EQ(&KernelTable::active(), KernelTable::avx512_vnni());
}

}  // namespace
}  // namespace rbee::engine::kernels
