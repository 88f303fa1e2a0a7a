// The Q4_0 matrix-vector and matrix-matrix paths with VNNI (see avx512_vnni.hpp): the AVX2
// kernel's octets (avx2_q4_0.cpp: eight blocks, one 32-bit lane per block, block
// kLaneBlock[l] in lane l), with the integer sums done by vpdpbusd and the row unpacked by
// word permutes.
//
// An octet of a row is 144 contiguous bytes (eight 18-byte blocks). Every packed 4-byte
// group of a block starts at an even offset, so two-source word permutes (vpermt2w) over
// three 64-byte loads gather them straight into lane order: 4 permutes where AVX2 spends
// 8 loads, 4 inserts and 8 unpacks, and one more permute gathers the 8 scales. Per (row,
// activation), 8 vpdpbusd (each adding 4 products per lane into int32) replace 8 maddubs,
// 7 int16 adds and a madd; the sums start at -(8 * the activation's block sums), so each
// lane ends with exactly AVX2's int32 sum. The float work that follows (convert, scale
// product, FMA, and the final horizontal sum) is AVX2's, operation for operation, so every
// result is the AVX2 kernel's bits. Rows repacked at load (Q4_0x8) hold each octet in
// register order: four loads replace the permutes.

#include "engine/kernels/simd/avx512_vnni.hpp"

#if defined(__x86_64__)

#include <type_traits>

#include "engine/kernels/q4_0.hpp"
#include "engine/kernels/q8_0.hpp"
#include "engine/kernels/quant_common.hpp"
#include "engine/kernels/simd/avx2.hpp"
#include "engine/kernels/simd/avx2_tiles.hpp"
#include "engine/kernels/simd/avx512_vnni_common.hpp"

namespace rbee::engine::kernels::simd {
namespace {

constexpr int64_t kOctetBlocks = 8;
constexpr int64_t kOctetBytes = kOctetBlocks * static_cast<int64_t>(sizeof(BlockQ4_0));
// How far ahead of the octet in use a row is prefetched (past its end: into the next row,
// which a tile reads next). A batch's work per weight byte is several times a single
// product's, and the hardware prefetchers alone then leave it waiting on memory between
// bursts of arithmetic; 2 KiB ahead measured best on Zen 4 (1 to 4 KiB tried). The lines go
// to L2 (prefetcht1): into L1 as well, four sequences' decode ran 1.22x slower on Zen 4 and a
// prompt 1.05x. A single product's lines go to L1: on one 2-core Zen 4 VM it kept pace with
// memory without them (and measured slower with them), on another it read a row in 28.2-29.3
// ns with them against 36.1-37.5 without (2048 columns, one thread, from memory), and a
// one-thread decode of the 1.1B shape ran 1.15x faster.
constexpr int64_t kPrefetchBytes = 2048;
// The block of each 32-bit lane of an octet's 256-bit half (as in avx2_q4_0.cpp: the
// results are its bits only with the same lanes).
constexpr const auto& kLaneBlock = kQ4_0x8LaneBlock;

// Register k (0..3) of a row octet holds in lane l packed bytes 4k .. 4k + 3 of block
// kLaneBlock[l]: its low nibbles are elements 4k .. 4k + 3 (value register 2k), its high
// nibbles 16 + 4k .. 16 + 4k + 3 (value register 2k + 1), as in avx2_q4_0.cpp.
//
// The activation of blocks 8o .. 8o + 7 as the kernels read it (blocks past the row: 0),
// values laid out as the row's value registers.
struct alignas(64) Octet {
  int8_t values[8][32];
  int32_t neg_offset[8];  // -8 * (the activation's sum over the block), by lane
  float d[8];             // the block scales, by lane
};
static_assert(sizeof(Octet) == 320);

// Word indices of the permutes, over the octet's words: loads R0 (words 0 .. 31) and R1
// (32 .. 63) hold every block but the last whole; block 7's groups come from R2 (words
// 40 .. 71), in the lanes `kBlock7Words` selects. Permute p gives packed registers 2p (low
// half) and 2p + 1 (high half).
struct alignas(64) Permutes {
  uint16_t packed[2][32];         // from R0:R1
  uint16_t packed_block7[2][32];  // from R2
  uint16_t scales[32];            // from R0:R1, the 8 scales in lanes 0..7
};

constexpr Permutes make_permutes() {
  Permutes p{};
  for (int reg = 0; reg < 2; ++reg) {
    for (int i = 0; i < 16; ++i) {
      const int block = kLaneBlock[i % 8];
      const int k = 2 * reg + i / 8;           // the packed register
      const int word = 9 * block + 1 + 2 * k;  // the block's scale is word 9 * block
      uint16_t* dst = block == 7 ? p.packed_block7[reg] : p.packed[reg];
      dst[2 * i] = static_cast<uint16_t>(block == 7 ? word - 40 : word);
      dst[2 * i + 1] = static_cast<uint16_t>(block == 7 ? word - 39 : word + 1);
    }
  }
  for (int l = 0; l < 8; ++l) p.scales[l] = static_cast<uint16_t>(9 * kLaneBlock[l]);
  return p;
}

constexpr Permutes kPermutes = make_permutes();
// The words of lanes 7 and 15 (block 7).
constexpr __mmask32 kBlock7Words = 0xC000C000u;

// An octet of a weight row, in registers.
struct RowOctet {
  __m256i packed[4];  // the nibbles are split where they are used
  __m256 d;
};

int64_t n_octets(int64_t nb) {
  return (nb + kOctetBlocks - 1) / kOctetBlocks;
}

// Where the octets start in a prepared activation: after the Q8_0 row.
size_t octets_offset(int64_t nb) {
  return extension_offset(static_cast<size_t>(nb) * sizeof(BlockQ8_0));
}

const Octet* prepared_octets(const void* activation, int64_t nb) {
  return reinterpret_cast<const Octet*>(static_cast<const std::byte*>(activation) +
                                        octets_offset(nb));
}

RBEE_AVX512_VNNI inline __m512i load512(const void* p) {
  return _mm512_loadu_si512(p);
}

// Octet o of row x, unpacked; blocks past nb read as zero bytes (values and scale 0).
template <bool kFull>
RBEE_AVX512_VNNI inline RowOctet row_octet(const BlockQ4_0* __restrict x, int64_t nb, int64_t o) {
  const auto* bytes = reinterpret_cast<const uint8_t*>(x) + o * kOctetBytes;
  __m512i r0;
  __m512i r1;
  __m512i r2;
  if constexpr (kFull) {
    r0 = load512(bytes);
    r1 = load512(bytes + 64);
    r2 = load512(bytes + 80);
  } else {
    const int64_t valid = (nb - kOctetBlocks * o) * static_cast<int64_t>(sizeof(BlockQ4_0));
    r0 = _mm512_maskz_loadu_epi8(first_bytes(valid), bytes);
    r1 = _mm512_maskz_loadu_epi8(first_bytes(valid - 64), bytes + 64);
    r2 = _mm512_maskz_loadu_epi8(first_bytes(valid - 80), bytes + 80);
  }
  // As registers: folded into each permute, the loads would be repeated.
  asm("" : "+v"(r1), "+v"(r2));
  RowOctet w;
  for (int reg = 0; reg < 2; ++reg) {
    __m512i both = _mm512_permutex2var_epi16(r0, load512(kPermutes.packed[reg]), r1);
    both = _mm512_mask_permutexvar_epi16(both, kBlock7Words, load512(kPermutes.packed_block7[reg]),
                                         r2);
    w.packed[2 * reg] = low_half(both);
    w.packed[2 * reg + 1] = high_half(both);
  }
  const __m512i scales = _mm512_permutex2var_epi16(r0, load512(kPermutes.scales), r1);
  w.d = _mm256_cvtph_ps(low_quarter(scales));
  return w;
}

// Octet o of a repacked row: already in register order (whole octets only, so kFull is
// never false at run time).
template <bool kFull>
RBEE_AVX512_VNNI inline RowOctet row_octet(const BlockQ4_0x8* __restrict x, int64_t /*nb*/,
                                           int64_t o) {
  RowOctet w;
  for (int k = 0; k < 4; ++k) w.packed[k] = load256(x[o].qs[k]);
  w.d = _mm256_cvtph_ps(load128(x[o].d));
  return w;
}

// Adds octet o of kRows rows to the accumulators of kActs activations: per (row,
// activation), acc + (the octet's int32 sums) * d_x * d_a, the float operations of
// avx2_q4_0.cpp's add_octet. Each row's octet is unpacked once for all activations (its
// nibbles split register by register, as used), each activation register loaded once for
// all rows. vpdpbusd shares its two pipes with the FMAs (Zen 4), which bounds the tile.
template <bool kFull, typename Block, int kRows, int kActs>
RBEE_AVX512_VNNI inline void add_octet_tile(const Block* const (&x)[kRows],
                                            const Octet* const (&octets)[kActs], int64_t nb,
                                            int64_t o, __m256 (&acc)[kRows][kActs]) {
  RowOctet w[kRows];
#pragma GCC unroll 16
  for (int r = 0; r < kRows; ++r) {
    const char* ahead = reinterpret_cast<const char*>(x[r]) + o * kOctetBytes + kPrefetchBytes;
    constexpr auto kHint = kActs > 1 ? _MM_HINT_T1 : _MM_HINT_T0;
    for (int line = 0; line < 3; ++line) _mm_prefetch(ahead + 64 * line, kHint);
    w[r] = row_octet<kFull>(x[r], nb, o);
  }
  __m256i sums[kRows][kActs];
#pragma GCC unroll 16
  for (int j = 0; j < kActs; ++j) {
    const __m256i neg_offset = load256(octets[j][o].neg_offset);
#pragma GCC unroll 16
    for (int r = 0; r < kRows; ++r) {
      sums[r][j] = neg_offset;
    }
  }
  const __m256i mask = _mm256_set1_epi8(0x0f);
#pragma GCC unroll 16
  for (int k = 0; k < 8; ++k) {
    __m256i values[kRows];
#pragma GCC unroll 16
    for (int r = 0; r < kRows; ++r) {
      const __m256i packed = w[r].packed[k / 2];
      values[r] = _mm256_and_si256(k % 2 == 0 ? packed : _mm256_srli_epi16(packed, 4), mask);
    }
#pragma GCC unroll 16
    for (int j = 0; j < kActs; ++j) {
      __m256i a = load256(octets[j][o].values[k]);
      // Loaded once for all the rows (GCC would fold the load into each row's vpdpbusd).
      if constexpr (kRows > 1) asm("" : "+v"(a));
#pragma GCC unroll 16
      for (int r = 0; r < kRows; ++r) {
        sums[r][j] = _mm256_dpbusd_epi32(sums[r][j], values[r], a);
      }
    }
  }
#pragma GCC unroll 16
  for (int j = 0; j < kActs; ++j) {
    const __m256 a_d = _mm256_loadu_ps(octets[j][o].d);
#pragma GCC unroll 16
    for (int r = 0; r < kRows; ++r) {
      acc[r][j] =
          _mm256_fmadd_ps(_mm256_cvtepi32_ps(sums[r][j]), _mm256_mul_ps(w[r].d, a_d), acc[r][j]);
    }
  }
}

template <typename Block, int kRows, int kActs>
RBEE_AVX512_VNNI void tile_q4_0(const TileArgs& t, int64_t nb) {
  const Block* x[kRows];
  for (int r = 0; r < kRows; ++r) {
    x[r] = reinterpret_cast<const Block*>(t.rows + static_cast<size_t>(r) * t.row_stride);
  }
  const Octet* octets[kActs];
  for (int j = 0; j < kActs; ++j) {
    octets[j] = prepared_octets(t.acts + static_cast<size_t>(j) * t.act_stride, nb);
  }
  __m256 acc[kRows][kActs];
  for (auto& row : acc) {
    for (__m256& a : row) a = _mm256_setzero_ps();
  }
  const int64_t full = nb / kOctetBlocks;
  for (int64_t o = 0; o < full; ++o) add_octet_tile<true>(x, octets, nb, o, acc);
  if (full < n_octets(nb)) add_octet_tile<false>(x, octets, nb, full, acc);
  for (int r = 0; r < kRows; ++r) {
    for (int j = 0; j < kActs; ++j)
      t.out[static_cast<size_t>(j) * t.out_stride + static_cast<size_t>(r) * t.out_row_step] =
          hsum(acc[r][j]);
  }
}

// The AVX2 kernel's layout (see prepare_q4_0).
size_t activation_bytes_q4_0(int64_t n) {
  return kMatvecQ4_0Avx2.activation_bytes(n);
}

// The AVX2 kernel's prepared activation (avx2_q4_0.cpp: the same Q8_0 row, then octets with
// the same values, lanes and scales in the same 320 bytes), whose offsets are +8 * (the
// block sums): negated, they are where this kernel's sums start.
RBEE_AVX512_VNNI void prepare_q4_0(const float* __restrict x, void* __restrict activation,
                                   int64_t n) {
  kMatvecQ4_0Avx2.prepare(x, activation, n);
  const int64_t nb = detail::n_blocks(n, kQK4_0);
  auto* octets = reinterpret_cast<Octet*>(static_cast<std::byte*>(activation) + octets_offset(nb));
  for (int64_t o = 0; o < n_octets(nb); ++o) {
    auto* offsets = reinterpret_cast<__m256i*>(octets[o].neg_offset);
    _mm256_storeu_si256(offsets, _mm256_sub_epi32(_mm256_setzero_si256(), load256(offsets)));
  }
}

// dot_rows_multi and dot_rows over rows of Block (BlockQ4_0, or BlockQ4_0x8 when repacked).
template <typename Block>
RBEE_AVX512_VNNI void dot_rows_multi_q4_0(const void* __restrict x, size_t row_stride,
                                          const void* __restrict activations,
                                          size_t activation_stride, int64_t n_act,
                                          float* __restrict out, size_t out_stride, int64_t n_rows,
                                          int64_t n) {
  const int64_t nb = detail::n_blocks(n, kQK4_0);
  const auto tile = [nb]<int kRows, int kActs>(const TileArgs& t)
                        RBEE_AVX512_VNNI { tile_q4_0<Block, kRows, kActs>(t, nb); };
  if constexpr (std::is_same_v<Block, BlockQ4_0x8>) {
    // Four rows by four activations: one row's tile is bound by loading the activations
    // (320 bytes per octet and activation, against 8 vpdpbusd), which four rows share. The
    // rows are spread (avx2_tiles.hpp): adjacent ones read from memory at a third of the
    // speed.
    for_each_tile<4, 4, TileRows::kSpread>(x, row_stride, activations, activation_stride, n_act,
                                           out, out_stride, n_rows, tile);
  } else {
    // The file's rows: their permutes leave no registers for more than one row.
    for_each_tile<1, 8>(x, row_stride, activations, activation_stride, n_act, out, out_stride,
                        n_rows, tile);
  }
}

template <typename Block>
RBEE_AVX512_VNNI void dot_rows_q4_0(const void* __restrict x, size_t row_stride,
                                    const void* __restrict activation, float* __restrict out,
                                    int64_t n_rows, int64_t n) {
  dot_rows_multi_q4_0<Block>(x, row_stride, activation, 0, 1, out, 0, n_rows, n);
}

}  // namespace

const MatvecKernel kMatvecQ4_0Avx512Vnni = {
    activation_bytes_q4_0, prepare_q4_0, dot_rows_q4_0<BlockQ4_0>, dot_rows_multi_q4_0<BlockQ4_0>};
const MatvecKernel kMatvecQ4_0x8Avx512Vnni = {activation_bytes_q4_0, prepare_q4_0,
                                              dot_rows_q4_0<BlockQ4_0x8>,
                                              dot_rows_multi_q4_0<BlockQ4_0x8>};

}  // namespace rbee::engine::kernels::simd

#endif  // __x86_64__
