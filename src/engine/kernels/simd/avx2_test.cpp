// The AVX2 kernels against the scalar reference table (the oracle), on random data, for
// every type. Skips when this CPU (or build) has no AVX2/FMA/F16C.

#include "engine/kernels/simd/avx2.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <cstddef>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

#include "engine/kernels/float16.hpp"
#include "engine/kernels/kernel_table.hpp"
#include "engine/kernels/kernel_test_util.hpp"
#include "engine/kernels/q2_k.hpp"
#include "engine/kernels/q3_k.hpp"
#include "engine/kernels/q4_0.hpp"
#include "engine/kernels/q4_1.hpp"
#include "engine/kernels/q4_k.hpp"
#include "engine/kernels/q5_0.hpp"
#include "engine/kernels/q5_1.hpp"
#include "engine/kernels/q5_k.hpp"
#include "engine/kernels/q6_k.hpp"
#include "engine/kernels/q8_0.hpp"

namespace rbee::engine::kernels {
namespace {

using testing::random_row;

// Exactly `bytes` on the heap (malloc's alignment suits every block struct), so that under
// AddressSanitizer a kernel reading even one byte past a row's end fails.
class ExactBuffer {
 public:
  explicit ExactBuffer(size_t bytes) : bytes_(bytes) {}
  ExactBuffer(KernelType type, int64_t n)
      : bytes_(row_bytes(KernelTable::reference().at(type), n)) {}
  std::byte* data() { return bytes_.data(); }
  const std::byte* data() const { return bytes_.data(); }

 private:
  std::vector<std::byte> bytes_;
};

const KernelTable* fast_table() {
  return KernelTable::avx2();
}

#define SKIP_WITHOUT_AVX2() \
  if (fast_table() == nullptr) GTEST_SKIP() << "no AVX2/FMA/F16C on this CPU or build"

constexpr KernelType kWeightTypes[] = {
    KernelType::kF32,  KernelType::kF16,  KernelType::kBF16, KernelType::kQ4_0,  KernelType::kQ4_1,
    KernelType::kQ5_0, KernelType::kQ5_1, KernelType::kQ8_0, KernelType::kQ2_K,  KernelType::kQ3_K,
    KernelType::kQ4_K, KernelType::kQ5_K, KernelType::kQ6_K, KernelType::kQ4_0x8};

// Row lengths: whole blocks for the block types (1 to 33 blocks: no multiple of the SIMD
// unrolling is assumed), and for the element types odd lengths that leave every tail size.
std::vector<int64_t> row_lengths(KernelType type) {
  const int64_t block = KernelTable::reference().at(type).block_size;
  if (block == 1) return {1, 3, 7, 8, 9, 15, 31, 32, 33, 40, 100, 257, 2048, 2051};
  return {block, 2 * block, 3 * block, 7 * block, 8 * block, 33 * block};
}

// The F16 fields (scales and minimums) of each block type, by byte offset: random bytes
// there would make infinities and NaNs, so the byte-pattern test sets them to sane values.
std::vector<size_t> f16_fields(KernelType type) {
  switch (type) {
    case KernelType::kQ4_0:
      return {offsetof(BlockQ4_0, d)};
    case KernelType::kQ4_0x8: {
      std::vector<size_t> scales;
      for (size_t l = 0; l < 8; ++l) scales.push_back(offsetof(BlockQ4_0x8, d) + 2 * l);
      return scales;
    }
    case KernelType::kQ4_1:
      return {offsetof(BlockQ4_1, d), offsetof(BlockQ4_1, m)};
    case KernelType::kQ5_0:
      return {offsetof(BlockQ5_0, d)};
    case KernelType::kQ5_1:
      return {offsetof(BlockQ5_1, d), offsetof(BlockQ5_1, m)};
    case KernelType::kQ8_0:
      return {offsetof(BlockQ8_0, d)};
    case KernelType::kQ2_K:
      return {offsetof(BlockQ2_K, d), offsetof(BlockQ2_K, dmin)};
    case KernelType::kQ3_K:
      return {offsetof(BlockQ3_K, d)};
    case KernelType::kQ4_K:
      return {offsetof(BlockQ4_K, d), offsetof(BlockQ4_K, dmin)};
    case KernelType::kQ5_K:
      return {offsetof(BlockQ5_K, d), offsetof(BlockQ5_K, dmin)};
    case KernelType::kQ6_K:
      return {offsetof(BlockQ6_K, d)};
    default:
      return {};
  }
}

// The bound on |fast - scalar| for one dot. Both paths form each block's integer sum
// exactly (the quantized types), or each product exactly rounded (the float types); they
// differ in how the float terms are added: the scalar kernels add block terms in float one
// by one (float types: in double), the SIMD kernels in 8 lanes and a final horizontal sum,
// after a float multiply by the block's scale product. Each float addition or multiply
// errs by at most 2^-24 of the magnitude it carries, and no term passes through more than
// `steps` of them (the longer of the two summation chains, plus the scale multiplies and
// the horizontal sum), so |fast - scalar| <= 2 * steps * 2^-24 * sum |w_i a_i|.
double dot_tolerance(KernelType type, int64_t n, double magnitude) {
  const int64_t block = KernelTable::reference().at(type).block_size;
  const int64_t terms = block == 1 ? n : n / block;  // the scalar chain's length
  const auto steps = static_cast<double>(terms + 16);
  return 2.0 * steps * 0x1p-24 * magnitude + 1e-30;
}

// Compares fast and scalar dots of weight bytes `w` (one row of n) with activation `a`.
void expect_dot_close(KernelType type, const void* w, const std::vector<float>& a, int64_t n,
                      const std::string& what) {
  const KernelTraits& ref = KernelTable::reference().at(type);
  const KernelTraits& fast = fast_table()->at(type);
  ASSERT_EQ(fast.vec_dot_type, ref.vec_dot_type);
  const KernelTraits& act = KernelTable::reference().at(ref.vec_dot_type);
  ExactBuffer aq(act.type, n);
  act.quantize_row(a.data(), aq.data(), n);
  // The magnitude of the sum: |w_i a_i| over the dequantized rows.
  std::vector<float> wd(static_cast<size_t>(n));
  std::vector<float> ad(static_cast<size_t>(n));
  ref.dequantize_row(w, wd.data(), n);
  act.dequantize_row(aq.data(), ad.data(), n);
  double magnitude = 0.0;
  for (size_t i = 0; i < wd.size(); ++i) magnitude += std::fabs(double(wd[i]) * double(ad[i]));
  const float expected = ref.vec_dot(w, aq.data(), n);
  const float actual = fast.vec_dot(w, aq.data(), n);
  EXPECT_NEAR(actual, expected, dot_tolerance(type, n, magnitude))
      << ref.name << " n " << n << " " << what << " magnitude " << magnitude;
  // Q4_K and Q5_K add their float terms as the scalar kernels do (finish_k4): the same bits.
  if (type == KernelType::kQ4_K || type == KernelType::kQ5_K) {
    EXPECT_EQ(actual, expected) << ref.name << " n " << n << " " << what;
  }
}

TEST(KernelAvx2Test, EveryWeightTypeHasAFastDot) {
  SKIP_WITHOUT_AVX2();
  EXPECT_STREQ(fast_table()->name(), "avx2");
  EXPECT_STREQ(KernelTable::reference().name(), "scalar");
  for (KernelType type : kWeightTypes) {
    const KernelTraits& fast = fast_table()->at(type);
    const KernelTraits& ref = KernelTable::reference().at(type);
    EXPECT_NE(fast.vec_dot, ref.vec_dot) << ref.name;
    // The geometry and formats are the reference's: the two tables read the same bytes.
    EXPECT_EQ(fast.block_size, ref.block_size);
    EXPECT_EQ(fast.block_bytes, ref.block_bytes);
    EXPECT_EQ(fast.vec_dot_type, ref.vec_dot_type);
    EXPECT_EQ(fast.dequantize_row, ref.dequantize_row);
  }
}

TEST(KernelAvx2Test, DotsMatchScalarOnQuantizedRandomRows) {
  SKIP_WITHOUT_AVX2();
  uint32_t seed = 7;
  for (KernelType type : kWeightTypes) {
    const KernelTraits& ref = KernelTable::reference().at(type);
    for (int64_t n : row_lengths(type)) {
      for (float scale : {0.02f, 1.0f, 300.0f}) {
        const std::vector<float> w = random_row(n, seed++, scale);
        const std::vector<float> a = random_row(n, seed++);
        ExactBuffer wq(type, n);
        ref.quantize_row(w.data(), wq.data(), n);
        expect_dot_close(type, wq.data(), a, n, "scale " + std::to_string(scale));
      }
    }
  }
}

TEST(KernelAvx2Test, DotsMatchScalarOnRandomBlockBytes) {
  // Every bit pattern of the packed values and scales (Q8_0's -128, Q6_K's scale -128,
  // 6-bit scales of 63, ...), with the F16 factors set to finite values.
  SKIP_WITHOUT_AVX2();
  std::mt19937 generator(99);
  std::uniform_int_distribution<int> byte(0, 255);
  std::uniform_real_distribution<float> factor(-0.05f, 0.05f);
  for (KernelType type : kWeightTypes) {
    const KernelTraits& ref = KernelTable::reference().at(type);
    if (ref.block_size == 1) continue;  // the float types: covered above
    for (int64_t n : row_lengths(type)) {
      ExactBuffer wq(type, n);
      auto* bytes = reinterpret_cast<uint8_t*>(wq.data());
      const size_t total = row_bytes(ref, n);
      for (size_t i = 0; i < total; ++i) bytes[i] = static_cast<uint8_t>(byte(generator));
      for (size_t b = 0; b < total / ref.block_bytes; ++b) {
        for (size_t offset : f16_fields(type)) {
          const uint16_t h = fp32_to_fp16(factor(generator));
          std::memcpy(bytes + b * ref.block_bytes + offset, &h, sizeof(h));
        }
      }
      expect_dot_close(type, wq.data(), random_row(n, static_cast<uint32_t>(n), 2.0f), n,
                       "random bytes");
    }
  }
}

TEST(KernelAvx2Test, MatvecAgreesWithTheFastDots) {
  // matvec goes through the active table; with the fast kernels active its rows are the
  // fast dots exactly (one kernel per row, whatever the row range).
  SKIP_WITHOUT_AVX2();
  // The AVX-512 VNNI table keeps the AVX2 dots.
  if (&KernelTable::active() == &KernelTable::reference()) GTEST_SKIP() << "RBEE_KERNELS=scalar";
  for (KernelType type : kWeightTypes) {
    EXPECT_EQ(type_traits(type).vec_dot, fast_table()->at(type).vec_dot);
  }
}

// n_rows random rows of n values quantized to `traits`' type, packed in an exact buffer.
ExactBuffer random_matrix(const KernelTraits& traits, int64_t n_rows, int64_t n, uint32_t seed) {
  const size_t stride = row_bytes(traits, n);
  ExactBuffer matrix(stride * static_cast<size_t>(n_rows));
  for (int64_t r = 0; r < n_rows; ++r) {
    const std::vector<float> w = random_row(n, seed + static_cast<uint32_t>(r), 0.3f);
    traits.quantize_row(w.data(), matrix.data() + r * stride, n);
  }
  return matrix;
}

TEST(KernelAvx2Test, MatvecPathsEqualSingleRowDotsExactly) {
  // A type's matrix-vector path (prepared activation, many rows) gives each row the bits
  // of the single-row dot with the plain activation, from any first row and for any row
  // count: thread splits cannot change results. The prepared activation starts with the
  // plain one.
  SKIP_WITHOUT_AVX2();
  int n_types = 0;
  for (KernelType type : kWeightTypes) {
    const KernelTraits& fast = fast_table()->at(type);
    if (fast.matvec == nullptr) continue;
    ++n_types;
    const KernelTraits& act = fast_table()->at(fast.vec_dot_type);
    for (int64_t blocks : {1, 2, 3, 4, 5, 7, 8, 64, 66, 67}) {
      const int64_t n = fast.block_size * blocks;
      constexpr int64_t kRows = 11;
      const size_t stride = row_bytes(fast, n);
      ExactBuffer matrix = random_matrix(fast, kRows, n, 40);
      std::byte* bytes = matrix.data();
      const std::vector<float> x = random_row(n, 77);
      ExactBuffer plain(act.type, n);
      act.quantize_row(x.data(), plain.data(), n);
      ExactBuffer prepared(fast.matvec->activation_bytes(n));
      fast.matvec->prepare(x.data(), prepared.data(), n);
      ASSERT_EQ(std::memcmp(prepared.data(), plain.data(), row_bytes(act, n)), 0)
          << fast.name << " n " << n;
      std::vector<float> single(kRows);
      for (int64_t r = 0; r < kRows; ++r) {
        single[r] = fast.vec_dot(bytes + r * stride, plain.data(), n);
      }
      for (int64_t first = 0; first < kRows; ++first) {
        for (int64_t count = 0; first + count <= kRows; ++count) {
          std::vector<float> out(static_cast<size_t>(count) + 1, -7.0f);
          fast.matvec->dot_rows(bytes + first * stride, stride, prepared.data(), out.data(), count,
                                n);
          for (int64_t r = 0; r < count; ++r) {
            ASSERT_EQ(out[r], single[first + r])
                << fast.name << " n " << n << " rows " << first << "+" << count << " row " << r;
          }
          EXPECT_EQ(out[count], -7.0f) << "wrote past the rows";
        }
      }
    }
  }
  EXPECT_GE(n_types, 2);  // Q4_0 and Q8_0 at least
}

TEST(KernelAvx2Test, BatchPathsEqualSingleRowPathsExactly) {
  // A type's batch kernel gives each (row, activation) the bits of dot_rows for that
  // activation alone, for row counts and activation counts on and off every tile size, row
  // lengths with partial SIMD groups of blocks, and activations packed exactly (the last one
  // ends where the buffer ends, so AddressSanitizer sees any read past it).
  SKIP_WITHOUT_AVX2();
  int n_types = 0;
  for (KernelType type : kWeightTypes) {
    const KernelTraits& fast = fast_table()->at(type);
    if (fast.matvec == nullptr || fast.matvec->dot_rows_multi == nullptr) continue;
    ++n_types;
    for (int64_t blocks : {1, 3, 8, 9, 17}) {
      const int64_t n = fast.block_size * blocks;
      constexpr int64_t kRows = 13;
      const size_t stride = row_bytes(fast, n);
      ExactBuffer matrix = random_matrix(fast, kRows, n, 60);
      std::byte* bytes = matrix.data();
      const size_t act_bytes = fast.matvec->activation_bytes(n);
      const size_t act_stride = (act_bytes + 63) / 64 * 64;
      constexpr int64_t kMaxActs = 10;
      ExactBuffer acts(act_stride * (kMaxActs - 1) + act_bytes);
      std::vector<std::vector<float>> singles;
      for (int64_t j = 0; j < kMaxActs; ++j) {
        const std::vector<float> x = random_row(n, 900 + static_cast<uint32_t>(j));
        fast.matvec->prepare(x.data(), acts.data() + j * act_stride, n);
        std::vector<float> single(kRows);
        fast.matvec->dot_rows(bytes, stride, acts.data() + j * act_stride, single.data(), kRows, n);
        singles.push_back(single);
      }
      for (int64_t n_act = 1; n_act <= kMaxActs; ++n_act) {
        const std::byte* first_act = acts.data() + (kMaxActs - n_act) * act_stride;
        for (int64_t first = 0; first < kRows; first += 3) {
          for (int64_t count = 0; first + count <= kRows; ++count) {
            const size_t out_stride = static_cast<size_t>(count) + 2;
            std::vector<float> out(out_stride * static_cast<size_t>(n_act), -7.0f);
            fast.matvec->dot_rows_multi(bytes + first * stride, stride, first_act, act_stride,
                                        n_act, out.data(), out_stride, count, n);
            for (int64_t j = 0; j < n_act; ++j) {
              const std::vector<float>& single = singles[size_t(kMaxActs - n_act + j)];
              for (size_t r = 0; r < out_stride; ++r) {
                const float got = out[size_t(j) * out_stride + r];
                if (int64_t(r) < count) {
                  ASSERT_EQ(got, single[size_t(first) + r])
                      << fast.name << " n " << n << " rows " << first << "+" << count << " act "
                      << j << " of " << n_act;
                } else {
                  ASSERT_EQ(got, -7.0f) << fast.name << " wrote past the rows";
                }
              }
            }
          }
        }
      }
    }
  }
  EXPECT_GE(n_types, 1);
}

TEST(KernelAvx2Test, RepackedQ4_0RowsGiveQ4_0BitsOnEveryPath) {
  // A model repacks its Q4_0 matrices at load (Q4_0x8): every dot on the repacked rows must
  // be the bits the Q4_0 kernels give on the file's rows, or a model's logits would change.
  // Checked for this table and for the active one (AVX-512 VNNI where the CPU has it).
  SKIP_WITHOUT_AVX2();
  for (const KernelTable* table : {fast_table(), &KernelTable::active()}) {
    if (table == &KernelTable::reference()) continue;  // RBEE_KERNELS=scalar: no repacking
    const KernelTraits& q4_0 = table->at(KernelType::kQ4_0);
    ASSERT_NE(q4_0.repack_rows, nullptr) << table->name();
    ASSERT_EQ(q4_0.repacked_type, KernelType::kQ4_0x8);
    const KernelTraits& x8 = table->at(KernelType::kQ4_0x8);
    ASSERT_EQ(x8.matvec->prepare, q4_0.matvec->prepare) << "the two share activations";
    for (int64_t octets : {1, 3, 8, 22}) {
      const int64_t n = kQK4_0x8 * octets;
      constexpr int64_t kRows = 9;
      constexpr int64_t kActs = 9;
      const size_t stride = row_bytes(q4_0, n);
      ASSERT_EQ(row_bytes(x8, n), stride);
      ExactBuffer rows = random_matrix(q4_0, kRows, n, 300);
      ExactBuffer repacked(stride * kRows);
      for (int64_t r = 0; r < kRows; ++r) {
        q4_0.repack_rows(rows.data() + r * stride, repacked.data() + r * stride, n);
      }
      const size_t act_stride = (q4_0.matvec->activation_bytes(n) + 63) / 64 * 64;
      ExactBuffer acts(act_stride * kActs);
      for (int64_t j = 0; j < kActs; ++j) {
        const std::vector<float> x = random_row(n, 500 + static_cast<uint32_t>(j));
        q4_0.matvec->prepare(x.data(), acts.data() + j * act_stride, n);
      }
      // Batches of every size up to kActs over every row count up to kRows: whole tiles and
      // partial ones in both directions.
      for (int64_t n_act = 1; n_act <= kActs; ++n_act) {
        for (int64_t n_rows = 1; n_rows <= kRows; ++n_rows) {
          std::vector<float> want(size_t(n_rows * n_act));
          std::vector<float> got(size_t(n_rows * n_act));
          q4_0.matvec->dot_rows_multi(rows.data(), stride, acts.data(), act_stride, n_act,
                                      want.data(), size_t(n_rows), n_rows, n);
          x8.matvec->dot_rows_multi(repacked.data(), stride, acts.data(), act_stride, n_act,
                                    got.data(), size_t(n_rows), n_rows, n);
          ASSERT_EQ(got, want) << table->name() << " n " << n << " rows " << n_rows << " acts "
                               << n_act;
        }
      }
      for (int64_t j = 0; j < kActs; ++j) {
        std::vector<float> want(kRows);
        q4_0.matvec->dot_rows(rows.data(), stride, acts.data() + j * act_stride, want.data(), kRows,
                              n);
        std::vector<float> single(kRows);
        x8.matvec->dot_rows(repacked.data(), stride, acts.data() + j * act_stride, single.data(),
                            kRows, n);
        for (int64_t r = 0; r < kRows; ++r) {
          const float expected = want[r];
          ASSERT_EQ(single[r], expected) << table->name() << " n " << n << " r " << r;
          ASSERT_EQ(x8.vec_dot(repacked.data() + r * stride, acts.data() + j * act_stride, n),
                    q4_0.vec_dot(rows.data() + r * stride, acts.data() + j * act_stride, n))
              << table->name() << " n " << n << " r " << r;
        }
      }
    }
  }
}

TEST(KernelAvx2Test, RepackedQ4_KGroupsGiveTheScalarBitsOnEveryPath) {
  // A model repacks its Q4_K matrices at load into groups of eight interleaved rows
  // (Q4_Kx8). Each row's result on every path (one activation or a batch, from any group,
  // batches on and off the tile widths) must be the scalar Q4_K dot's bits, which the fast
  // Q4_K kernels on the file's rows give too: a model's logits then do not depend on the
  // layout. Checked for this table and the active one (AVX-512 VNNI where the CPU has it),
  // on random rows and on rows with every scale, minimum and value at its largest against
  // activations at the ends of Q8_K's range.
  SKIP_WITHOUT_AVX2();
  const KernelTraits& scalar = KernelTable::reference().at(KernelType::kQ4_K);
  const KernelTraits& q8_k = KernelTable::reference().at(KernelType::kQ8_K);
  for (const KernelTable* table : {fast_table(), &KernelTable::active()}) {
    if (table == &KernelTable::reference()) continue;  // RBEE_KERNELS=scalar: no repacking
    const KernelTraits& q4_k = table->at(KernelType::kQ4_K);
    ASSERT_NE(q4_k.repack_rows, nullptr) << table->name();
    ASSERT_EQ(q4_k.repacked_type, KernelType::kQ4_Kx8);
    const KernelTraits& x8 = table->at(KernelType::kQ4_Kx8);
    ASSERT_EQ(x8.row_group, kQ4_Kx8Rows);
    ASSERT_EQ(x8.vec_dot, nullptr) << "a row alone cannot be read from a group";
    ASSERT_EQ(x8.matvec->prepare, q4_k.matvec->prepare) << "the two share activations";
    for (int64_t blocks : {1, 2, 3, 8, 22}) {
      for (bool extremes : {false, true}) {
        const int64_t n = kQK_K * blocks;
        constexpr int64_t kRows = 3 * kQ4_Kx8Rows;
        constexpr int64_t kActs = 7;
        const size_t stride = row_bytes(q4_k, n);
        ASSERT_EQ(row_bytes(x8, n), stride);
        ExactBuffer rows = random_matrix(q4_k, kRows, n, 700);
        if (extremes) {
          auto* blocks_of = reinterpret_cast<BlockQ4_K*>(rows.data());
          for (int64_t b = 0; b < kRows * blocks; ++b) {
            std::memset(blocks_of[b].scales, 0xff, sizeof(blocks_of[b].scales));
            std::memset(blocks_of[b].qs, 0xff, sizeof(blocks_of[b].qs));
          }
        }
        ExactBuffer repacked(stride * kRows);
        for (int64_t g = 0; g < kRows; g += kQ4_Kx8Rows) {
          q4_k.repack_rows(rows.data() + g * stride, repacked.data() + g * stride, n);
        }
        ExactBuffer unpacked(stride * kRows);
        for (int64_t g = 0; g < kRows; g += kQ4_Kx8Rows) {
          unpack_rows_q4_kx8(reinterpret_cast<const BlockQ4_Kx8*>(repacked.data() + g * stride),
                             reinterpret_cast<BlockQ4_K*>(unpacked.data() + g * stride), n);
        }
        ASSERT_EQ(std::memcmp(unpacked.data(), rows.data(), stride * kRows), 0);

        const size_t act_stride = (q4_k.matvec->activation_bytes(n) + 63) / 64 * 64;
        ExactBuffer acts(act_stride * (kActs - 1) + q4_k.matvec->activation_bytes(n));
        std::vector<float> want(kRows * kActs);
        for (int64_t j = 0; j < kActs; ++j) {
          std::vector<float> x = random_row(n, 800 + static_cast<uint32_t>(j));
          if (extremes) {
            for (size_t i = 0; i < x.size(); ++i) x[i] = (i + size_t(j)) % 3 == 0 ? -1.0f : 1.0f;
          }
          std::byte* prepared = acts.data() + j * act_stride;
          q4_k.matvec->prepare(x.data(), prepared, n);
          ExactBuffer plain(KernelType::kQ8_K, n);
          q8_k.quantize_row(x.data(), plain.data(), n);
          ASSERT_EQ(std::memcmp(prepared, plain.data(), row_bytes(q8_k, n)), 0);
          for (int64_t r = 0; r < kRows; ++r) {
            want[j * kRows + r] = scalar.vec_dot(rows.data() + r * stride, plain.data(), n);
            ASSERT_EQ(q4_k.vec_dot(rows.data() + r * stride, plain.data(), n), want[j * kRows + r])
                << table->name() << " n " << n << " r " << r;
          }
        }
        const auto where = [&](int64_t first, int64_t count, int64_t n_act) {
          return std::string(table->name()) + " n " + std::to_string(n) + " rows " +
                 std::to_string(first) + "+" + std::to_string(count) + " of " +
                 std::to_string(n_act) + " activations" + (extremes ? ", extremes" : "");
        };
        for (int64_t first = 0; first < kRows; first += kQ4_Kx8Rows) {
          for (int64_t count = kQ4_Kx8Rows; first + count <= kRows; count += kQ4_Kx8Rows) {
            for (int64_t n_act = 1; n_act <= kActs; ++n_act) {
              const int64_t first_act = kActs - n_act;
              const size_t out_stride = static_cast<size_t>(count) + 3;
              std::vector<float> out(out_stride * static_cast<size_t>(n_act), -7.0f);
              x8.matvec->dot_rows_multi(repacked.data() + first * stride, stride,
                                        acts.data() + first_act * act_stride, act_stride, n_act,
                                        out.data(), out_stride, count, n);
              for (int64_t j = 0; j < n_act; ++j) {
                for (size_t r = 0; r < out_stride; ++r) {
                  const float expected = int64_t(r) < count
                                             ? want[(first_act + j) * kRows + first + int64_t(r)]
                                             : -7.0f;
                  ASSERT_EQ(out[size_t(j) * out_stride + r], expected)
                      << where(first, count, n_act) << ", activation " << j << " row " << r;
                }
              }
            }
            std::vector<float> single(static_cast<size_t>(count) + 1, -7.0f);
            x8.matvec->dot_rows(repacked.data() + first * stride, stride,
                                acts.data() + (kActs - 1) * act_stride, single.data(), count, n);
            for (int64_t r = 0; r < count; ++r) {
              ASSERT_EQ(single[size_t(r)], want[(kActs - 1) * kRows + first + r])
                  << where(first, count, 1) << " row " << r;
            }
            ASSERT_EQ(single.back(), -7.0f) << where(first, count, 1) << ": wrote past the rows";
          }
        }
      }
    }
  }
}

// The activation quantizers must give the scalar bytes exactly: the same activation then
// feeds both paths, and any result difference is the dot's alone.
void expect_same_bytes(KernelType type, const std::vector<float>& x, const std::string& what) {
  const auto n = static_cast<int64_t>(x.size());
  const KernelTraits& ref = KernelTable::reference().at(type);
  const KernelTraits& fast = fast_table()->at(type);
  ExactBuffer expected(type, n);
  ExactBuffer actual(type, n);
  ref.quantize_row(x.data(), expected.data(), n);
  fast.quantize_row(x.data(), actual.data(), n);
  EXPECT_EQ(std::memcmp(expected.data(), actual.data(), row_bytes(ref, n)), 0)
      << ref.name << " n " << n << " " << what;
}

TEST(KernelAvx2Test, ActivationQuantizersGiveScalarBytes) {
  SKIP_WITHOUT_AVX2();
  uint32_t seed = 500;
  for (KernelType type : {KernelType::kF16, KernelType::kBF16, KernelType::kQ8_0, KernelType::kQ8_1,
                          KernelType::kQ8_K}) {
    EXPECT_NE(fast_table()->at(type).quantize_row, KernelTable::reference().at(type).quantize_row);
    const int64_t block = KernelTable::reference().at(type).block_size;
    const std::vector<int64_t> lengths = block == 1
                                             ? std::vector<int64_t>{1, 8, 15, 16, 17, 33, 1000}
                                             : std::vector<int64_t>{block, 3 * block, 8 * block};
    for (int64_t n : lengths) {
      for (float scale : {1e-6f, 0.3f, 1.0f, 1000.0f}) {
        expect_same_bytes(type, random_row(n, seed++, scale), "scale " + std::to_string(scale));
      }
      // Zeros (an all-zero block has d = 0).
      expect_same_bytes(type, std::vector<float>(static_cast<size_t>(n), 0.0f), "zeros");
    }
  }
}

TEST(KernelAvx2Test, QuantizersAgreeOnEdgeValues) {
  SKIP_WITHOUT_AVX2();
  // Q8_K takes the first element of largest magnitude, with its sign, as the scale.
  std::vector<float> x = random_row(512, 3, 0.1f);
  x[5] = -3.0f;
  x[100] = 3.0f;
  x[256 + 200] = 2.0f;
  x[256 + 250] = -2.0f;
  expect_same_bytes(KernelType::kQ8_K, x, "ties of magnitude");
  // Halfway cases of the 8-bit rounding: x * 127 / amax lands on k + 0.5.
  std::vector<float> halves(256);
  for (size_t i = 0; i < halves.size(); ++i) {
    halves[i] = (static_cast<float>(i % 254) - 126.5f) / 127.0f;
  }
  halves[0] = 1.0f;
  for (KernelType type : {KernelType::kQ8_0, KernelType::kQ8_1, KernelType::kQ8_K}) {
    expect_same_bytes(type, halves, "halves");
  }
  // F16 and BF16: overflow, subnormals, signed zeros, infinities and NaNs.
  const float inf = std::numeric_limits<float>::infinity();
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const std::vector<float> specials = {
      65504.0f,        65519.0f,    65520.0f,   -65520.0f, 1e-5f, 6e-8f, 2.98e-8f,
      -3e-8f,          0.0f,        -0.0f,      inf,       -inf,  nan,   -nan,
      1.0f + 0x1p-11f, 3.0e38f,     -1.17e-38f, 1.0f,      0.1f,  -7.5f, 0x1p-126f,
      0x1p-149f,       1.00390625f, 1.01171875f};
  expect_same_bytes(KernelType::kF16, specials, "specials");
  expect_same_bytes(KernelType::kBF16, specials, "specials");
}

}  // namespace
}  // namespace rbee::engine::kernels
