// The AVX2 Q4_0 x Q8_0 dot, and the Q4_0 matrix-vector and matrix-matrix paths with a
// prepared activation: decoding and prompt processing with Q4_0 weights are mostly these
// kernels. See avx2.hpp.
//
// Eight neighbouring blocks of a row (an "octet", 256 values) go through eight 256-bit
// registers, each holding four values of every block: 32-bit lane l holds block
// kLaneBlock[l] (the order that in-lane 32- and 64-bit interleaves give). Products with the
// activation, laid out alike, then add up as int16 lane by lane without mixing blocks:
// sixteen products of at most 15 * 128 each, no overflow. One madd widens them to one int32
// lane per block, so the float work (convert, scale product, FMA) is done once per octet
// rather than once per block: on CPUs where integer multiplies and FMAs share two pipes
// (AMD Zen 4), those pipes are what bounds a batch. The nibbles q in [0, 15] are
// multiplied unsigned; the -8 of (q - 8) comes back as 8 * (the activation's block sum),
// precomputed per octet. Integer sums are exact; then each block's lane is scaled by its
// d_x * d_a and added with FMA into one accumulator per (row, activation). A row is read
// front to back in one stream, which the hardware prefetchers follow best.
//
// The single-row dot builds the activation's octets on the fly from the plain Q8_0 row, the
// matrix paths read them prepared; all feed add_octet, in the same order, so a row's result
// is the same bits on every path. The batch path unpacks an octet of a row once for every
// activation of its tile, and reads an activation's octet once for every row of the tile.
//
// Gathering a row's octet from its eight blocks (load_transposed) is most of a decode's
// work; rows repacked at load (Q4_0x8, q4_0.hpp) hold each octet already in register order,
// and the kernels for them only load and split nibbles. Same registers, same results.

#include "engine/kernels/simd/avx2.hpp"

#if defined(__x86_64__)

#include <type_traits>

#include "engine/kernels/float16.hpp"
#include "engine/kernels/q4_0.hpp"
#include "engine/kernels/q8_0.hpp"
#include "engine/kernels/quant_common.hpp"
#include "engine/kernels/simd/avx2_common.hpp"
#include "engine/kernels/simd/avx2_tiles.hpp"

namespace rbee::engine::kernels::simd {
namespace {

constexpr int64_t kOctetBlocks = 8;
// The block of each 32-bit lane of an octet register (the Q4_0x8 layout's order).
constexpr const auto& kLaneBlock = kQ4_0x8LaneBlock;

// Register 2k of an octet holds elements 4k .. 4k + 3 of each block, register 2k + 1
// elements 16 + 4k .. 16 + 4k + 3 (the low and high nibbles of packed bytes 4k .. 4k + 3).
//
// The activation of blocks 8o .. 8o + 7 as the kernels read it (blocks past the row: 0).
struct Octet {
  int8_t values[8][32];
  int32_t offset[8];  // 8 * (the activation's sum over the block), by lane
  float d[8];         // the block scales, by lane
};
static_assert(sizeof(Octet) == 320);

// An octet of an activation or of a weight row, in registers.
struct OctetVectors {
  __m256i values[8];
  __m256 d;
};

int64_t n_octets(int64_t nb) {
  return (nb + kOctetBlocks - 1) / kOctetBlocks;
}

// Where the octets start in a prepared activation: after the Q8_0 row.
size_t octets_offset(int64_t nb) {
  return extension_offset(static_cast<size_t>(nb) * sizeof(BlockQ8_0));
}

// The F16 scales `d` of blocks first .. first + 7 of x as floats in lane order (0 for blocks
// at or past nb).
template <bool kFull, typename Block>
RBEE_AVX2 inline __m256 octet_scales(const Block* __restrict x, int64_t first, int64_t nb) {
  uint64_t bits[2] = {0, 0};
  for (int l = 0; l < 8; ++l) {
    const int64_t b = first + kLaneBlock[l];
    if (kFull || b < nb) bits[l / 4] |= uint64_t{x[b].d} << (16 * (l % 4));
  }
  return _mm256_cvtph_ps(
      _mm_set_epi64x(static_cast<int64_t>(bits[1]), static_cast<int64_t>(bits[0])));
}

// Bytes `from` .. `from` + 15 of `field` of blocks first .. first + 7, transposed: dword k of
// the result holds bytes from + 4k .. from + 4k + 3 of every block, block kLaneBlock[l] in
// 32-bit lane l (a block past nb: zeros).
template <bool kFull, typename Block, typename Field>
RBEE_AVX2 inline void load_transposed(const Block* __restrict x, int64_t first, int64_t nb,
                                      Field field, int from, __m256i (&dwords)[4]) {
  __m128i part[8];
  for (int k = 0; k < 8; ++k) {
    part[k] = kFull || first + k < nb ? load128((x[first + k].*field) + from) : _mm_setzero_si128();
  }
  __m256i pairs[4];  // blocks 2i (low 128-bit lane) and 2i + 1 (high)
  for (int i = 0; i < 4; ++i) {
    pairs[i] = _mm256_inserti128_si256(_mm256_castsi128_si256(part[2 * i]), part[2 * i + 1], 1);
  }
  const __m256i t0 = _mm256_unpacklo_epi32(pairs[0], pairs[1]);
  const __m256i t1 = _mm256_unpackhi_epi32(pairs[0], pairs[1]);
  const __m256i t2 = _mm256_unpacklo_epi32(pairs[2], pairs[3]);
  const __m256i t3 = _mm256_unpackhi_epi32(pairs[2], pairs[3]);
  dwords[0] = _mm256_unpacklo_epi64(t0, t2);
  dwords[1] = _mm256_unpackhi_epi64(t0, t2);
  dwords[2] = _mm256_unpacklo_epi64(t1, t3);
  dwords[3] = _mm256_unpackhi_epi64(t1, t3);
}

// Octet o of the plain Q8_0 row y of nb blocks, with its offsets.
template <bool kFull>
RBEE_AVX2 inline OctetVectors build_octet(const BlockQ8_0* __restrict y, int64_t nb, int64_t o,
                                          __m256i& offset) {
  const int64_t first = kOctetBlocks * o;
  __m256i lo[4];
  __m256i hi[4];
  load_transposed<kFull>(y, first, nb, &BlockQ8_0::qs, 0, lo);
  load_transposed<kFull>(y, first, nb, &BlockQ8_0::qs, 16, hi);
  OctetVectors a;
  const __m256i eight = _mm256_set1_epi8(8);
  __m256i sum = _mm256_setzero_si256();
  for (int k = 0; k < 4; ++k) {
    a.values[2 * k] = lo[k];
    a.values[2 * k + 1] = hi[k];
    sum = _mm256_add_epi16(sum, _mm256_add_epi16(_mm256_maddubs_epi16(eight, lo[k]),
                                                 _mm256_maddubs_epi16(eight, hi[k])));
  }
  offset = _mm256_madd_epi16(sum, _mm256_set1_epi16(1));
  a.d = octet_scales<kFull>(y, first, nb);
  return a;
}

// The low (k even) or high (k odd) nibbles of packed register k / 2 of an octet: value
// register k.
RBEE_AVX2 inline __m256i nibbles(__m256i packed, int k) {
  const __m256i mask = _mm256_set1_epi8(0x0f);
  return _mm256_and_si256(k % 2 == 0 ? packed : _mm256_srli_epi16(packed, 4), mask);
}

// An octet of weights as loaded: packed register k holds value registers 2k (low nibbles)
// and 2k + 1 (high), with the blocks' scales d.
struct PackedOctet {
  __m256i packed[4];
  __m256 d;
};

RBEE_AVX2 inline OctetVectors split_nibbles(const PackedOctet& p) {
  OctetVectors w;
  for (int k = 0; k < 8; ++k) w.values[k] = nibbles(p.packed[k / 2], k);
  w.d = p.d;
  return w;
}

// Octet o of row x as loaded; a block past nb has zero values and scale 0.
template <bool kFull>
RBEE_AVX2 inline PackedOctet packed_octet(const BlockQ4_0* __restrict x, int64_t nb, int64_t o) {
  const int64_t first = kOctetBlocks * o;
  PackedOctet p;
  load_transposed<kFull>(x, first, nb, &BlockQ4_0::qs, 0, p.packed);
  p.d = octet_scales<kFull>(x, first, nb);
  return p;
}

// Octet o of a repacked row: already in register order (a repacked row has whole octets,
// so kFull is never false at run time).
template <bool kFull>
RBEE_AVX2 inline PackedOctet packed_octet(const BlockQ4_0x8* __restrict x, int64_t /*nb*/,
                                          int64_t o) {
  return {{load256(x[o].qs[0]), load256(x[o].qs[1]), load256(x[o].qs[2]), load256(x[o].qs[3])},
          _mm256_cvtph_ps(load128(x[o].d))};
}

template <bool kFull, typename Block>
RBEE_AVX2 inline OctetVectors row_octet(const Block* __restrict x, int64_t nb, int64_t o) {
  return split_nibbles(packed_octet<kFull>(x, nb, o));
}

// acc + (an octet's int16 pair sums of products, per block lane) * d_x * d_a: the float
// work of one octet of one (row, activation), the same on every path.
RBEE_AVX2 inline __m256 finish_octet(__m256i products, __m256i a_offset, __m256 w_d, __m256 a_d,
                                     __m256 acc) {
  const __m256i sums =
      _mm256_sub_epi32(_mm256_madd_epi16(products, _mm256_set1_epi16(1)), a_offset);
  return _mm256_fmadd_ps(_mm256_cvtepi32_ps(sums), _mm256_mul_ps(w_d, a_d), acc);
}

// acc + (the octet's int32 sums) * d_x * d_a for one (row, activation). A missing block adds
// exactly nothing: zero values, zero scale. `a_values` may point at memory (the loads fold
// into the multiplies).
RBEE_AVX2 inline __m256 add_octet(const OctetVectors& w, const __m256i* a_values, __m256i a_offset,
                                  __m256 a_d, __m256 acc) {
  // One chain of int16 adds keeps few registers live beside the row's eight (the adds wrap
  // modulo 2^16 and the total fits, so any order gives the same sums).
  __m256i products = _mm256_maddubs_epi16(w.values[0], a_values[0]);
  for (int k = 1; k < 8; ++k) {
    products = _mm256_add_epi16(products, _mm256_maddubs_epi16(w.values[k], a_values[k]));
  }
  return finish_octet(products, a_offset, w.d, a_d, acc);
}

RBEE_AVX2 inline __m256 add_octet(const OctetVectors& w, const Octet& a, __m256 acc) {
  return add_octet(w, reinterpret_cast<const __m256i*>(a.values), load256(a.offset),
                   _mm256_loadu_ps(a.d), acc);
}

// The dot of row x with an activation: add.template operator()<kFull>(w, o, acc) adds the
// products of the row's octet o (w) with the activation's.
template <typename Block, typename AddOctet>
RBEE_AVX2 inline float row_dot(const Block* __restrict x, int64_t nb, AddOctet add) {
  __m256 acc = _mm256_setzero_ps();
  const int64_t full = nb / kOctetBlocks;
  for (int64_t o = 0; o < full; ++o)
    acc = add.template operator()<true>(row_octet<true>(x, nb, o), o, acc);
  if (full < n_octets(nb)) {
    acc = add.template operator()<false>(row_octet<false>(x, nb, full), full, acc);
  }
  return hsum(acc);
}

const Octet* prepared_octets(const void* activation, int64_t nb) {
  return reinterpret_cast<const Octet*>(static_cast<const std::byte*>(activation) +
                                        octets_offset(nb));
}

// Adds octet o of kRows rows to the accumulators of kActs activations, a row at a time: the
// row's octet is unpacked once (eight registers) for all the activations.
template <bool kFull, typename Block, int kRows, int kActs>
RBEE_AVX2 inline void add_octet_tile(const Block* const (&x)[kRows],
                                     const Octet* const (&octets)[kActs], int64_t nb, int64_t o,
                                     __m256 (&acc)[kRows][kActs]) {
#pragma GCC unroll 16
  for (int r = 0; r < kRows; ++r) {
    const OctetVectors w = row_octet<kFull>(x[r], nb, o);
#pragma GCC unroll 16
    for (int j = 0; j < kActs; ++j) acc[r][j] = add_octet(w, octets[j][o], acc[r][j]);
  }
}

// The same, a value register at a time: each row's octet stays packed (four registers) and
// value register k is split off for every row of the tile, so that each activation register
// is loaded once for all the rows. The asm statement keeps each (row, activation) sum one
// chain of adds in a register: without it GCC regrouped the exact integer adds into a tree
// over all the products of the octet and spilled them to the stack. A 2 x 4 tile of these:
// 56 vs 67 ns a row at four activations in cache, 31 vs 41 at two. (The file's layout,
// whose octets are gathered from eight blocks, stays with the row at a time.)
template <bool kFull, typename Block, int kRows, int kActs>
RBEE_AVX2 inline void add_octet_tile_by_register(const Block* const (&x)[kRows],
                                                 const Octet* const (&octets)[kActs], int64_t nb,
                                                 int64_t o, __m256 (&acc)[kRows][kActs]) {
  PackedOctet w[kRows];
#pragma GCC unroll 16
  for (int r = 0; r < kRows; ++r) w[r] = packed_octet<kFull>(x[r], nb, o);
  __m256i products[kRows][kActs];
#pragma GCC unroll 8
  for (int k = 0; k < 8; ++k) {
    __m256i values[kRows];
#pragma GCC unroll 16
    for (int r = 0; r < kRows; ++r) values[r] = nibbles(w[r].packed[k / 2], k);
#pragma GCC unroll 16
    for (int j = 0; j < kActs; ++j) {
      const __m256i a = load256(octets[j][o].values[k]);
#pragma GCC unroll 16
      for (int r = 0; r < kRows; ++r) {
        const __m256i product = _mm256_maddubs_epi16(values[r], a);
        products[r][j] = k == 0 ? product : _mm256_add_epi16(products[r][j], product);
        __asm__("" : "+x"(products[r][j]));
      }
    }
  }
#pragma GCC unroll 16
  for (int r = 0; r < kRows; ++r) {
#pragma GCC unroll 16
    for (int j = 0; j < kActs; ++j) {
      acc[r][j] = finish_octet(products[r][j], load256(octets[j][o].offset), w[r].d,
                               _mm256_loadu_ps(octets[j][o].d), acc[r][j]);
    }
  }
}

template <typename Block, int kRows, int kActs>
RBEE_AVX2 void tile_q4_0(const TileArgs& t, int64_t nb) {
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
  for (int64_t o = 0; o < full; ++o) {
    if constexpr (std::is_same_v<Block, BlockQ4_0x8>) {
      add_octet_tile_by_register<true>(x, octets, nb, o, acc);
    } else {
      add_octet_tile<true>(x, octets, nb, o, acc);
    }
  }
  // A repacked row has whole octets.
  if (full < n_octets(nb)) add_octet_tile<false>(x, octets, nb, full, acc);
  for (int r = 0; r < kRows; ++r) {
    for (int j = 0; j < kActs; ++j)
      t.out[static_cast<size_t>(j) * t.out_stride + static_cast<size_t>(r) * t.out_row_step] =
          hsum(acc[r][j]);
  }
}

size_t activation_bytes_q4_0(int64_t n) {
  const int64_t nb = detail::n_blocks(n, kQK4_0);
  return octets_offset(nb) + static_cast<size_t>(n_octets(nb)) * sizeof(Octet);
}

RBEE_AVX2 void prepare_q4_0(const float* __restrict x, void* __restrict activation, int64_t n) {
  const int64_t nb = detail::n_blocks(n, kQK4_0);
  quantize_row_q8_0_avx2(x, activation, n);
  const auto* y = static_cast<const BlockQ8_0*>(activation);
  auto* octets = reinterpret_cast<Octet*>(static_cast<std::byte*>(activation) + octets_offset(nb));
  for (int64_t o = 0; o < n_octets(nb); ++o) {
    __m256i offset;
    const OctetVectors a = build_octet<false>(y, nb, o, offset);
    for (int k = 0; k < 8; ++k) {
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(octets[o].values[k]), a.values[k]);
    }
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(octets[o].offset), offset);
    _mm256_storeu_ps(octets[o].d, a.d);
  }
}

// The dot of row vx (nb Q4_0 blocks as Block) with the plain Q8_0 row vy, whose octets are
// built on the fly.
template <typename Block>
RBEE_AVX2 inline float dot_with_plain_activation(const void* __restrict vx,
                                                 const void* __restrict vy, int64_t nb) {
  const auto* y = static_cast<const BlockQ8_0*>(vy);
  return row_dot(static_cast<const Block*>(vx), nb,
                 [&]<bool kFull>(const OctetVectors& w, int64_t o, __m256 acc) RBEE_AVX2 {
                   __m256i offset;
                   const OctetVectors a = build_octet<kFull>(y, nb, o, offset);
                   return add_octet(w, a.values, offset, a.d, acc);
                 });
}

// dot_rows_multi over rows of Block (BlockQ4_0, or BlockQ4_0x8 when repacked).
template <typename Block>
RBEE_AVX2 void dot_rows_multi_q4_0(const void* __restrict x, size_t row_stride,
                                   const void* __restrict activations, size_t activation_stride,
                                   int64_t n_act, float* __restrict out, size_t out_stride,
                                   int64_t n_rows, int64_t n) {
  const int64_t nb = detail::n_blocks(n, kQK4_0);
  const auto tile = [nb]<int kRows, int kActs>(const TileArgs& t)
                        RBEE_AVX2 { tile_q4_0<Block, kRows, kActs>(t, nb); };
  if constexpr (std::is_same_v<Block, BlockQ4_0x8>) {
    // Two rows by four activations (add_octet_tile_by_register); spread rows, each its own
    // stream from memory.
    for_each_tile<2, 4, TileRows::kSpread>(x, row_stride, activations, activation_stride, n_act,
                                           out, out_stride, n_rows, tile);
  } else {
    // One row by eight activations: unpacking a row's octet costs about as much as its
    // products with one activation, so it is shared as widely as registers allow (the
    // accumulators may live in L1); wider or taller tiles measured slower on Zen 4.
    for_each_tile<1, 8>(x, row_stride, activations, activation_stride, n_act, out, out_stride,
                        n_rows, tile);
  }
}

// dot_rows over rows of Block (BlockQ4_0, or BlockQ4_0x8 when repacked). A repacked matrix
// goes through dot_rows_multi's tiles: two spread rows share each activation register, which
// read from memory at 38-40 against 33 GB/s on one thread of Zen 4 (rbee-bench-kernels, 2048
// and 5632 columns) and decoded 2-4 % faster; a row's bits are the same either way.
template <typename Block>
RBEE_AVX2 void dot_rows_q4_0(const void* __restrict x, size_t row_stride,
                             const void* __restrict activation, float* __restrict out,
                             int64_t n_rows, int64_t n) {
  if constexpr (std::is_same_v<Block, BlockQ4_0x8>) {
    dot_rows_multi_q4_0<Block>(x, row_stride, activation, 0, 1, out, 0, n_rows, n);
  } else {
    const int64_t nb = detail::n_blocks(n, kQK4_0);
    const Octet* octets = prepared_octets(activation, nb);
    for_each_row<Block>(x, row_stride, n_rows, out, [&](const Block* row) RBEE_AVX2 {
      return row_dot(row, nb,
                     [&]<bool kFull>(const OctetVectors& w, int64_t o, __m256 acc)
                         RBEE_AVX2 { return add_octet(w, octets[o], acc); });
    });
  }
}

}  // namespace

const MatvecKernel kMatvecQ4_0Avx2 = {activation_bytes_q4_0, prepare_q4_0, dot_rows_q4_0<BlockQ4_0>,
                                      dot_rows_multi_q4_0<BlockQ4_0>};
const MatvecKernel kMatvecQ4_0x8Avx2 = {activation_bytes_q4_0, prepare_q4_0,
                                        dot_rows_q4_0<BlockQ4_0x8>,
                                        dot_rows_multi_q4_0<BlockQ4_0x8>};

RBEE_AVX2 float vec_dot_q4_0_q8_0_avx2(const void* __restrict vx, const void* __restrict vy,
                                       int64_t n) {
  return dot_with_plain_activation<BlockQ4_0>(vx, vy, detail::n_blocks(n, kQK4_0));
}

RBEE_AVX2 float vec_dot_q4_0x8_q8_0_avx2(const void* __restrict vx, const void* __restrict vy,
                                         int64_t n) {
  return dot_with_plain_activation<BlockQ4_0x8>(vx, vy,
                                                detail::n_blocks(n, kQK4_0x8) * kOctetBlocks);
}

}  // namespace rbee::engine::kernels::simd

#endif  // __x86_64__
