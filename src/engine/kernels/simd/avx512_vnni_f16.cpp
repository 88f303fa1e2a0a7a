// The F16 matrix-matrix path on AVX-512 CPUs (see avx512_vnni.hpp). Nothing here needs
// VNNI: what AVX-512VL brings is 32 vector registers (ymm16 .. ymm31 under the EVEX
// encoding) for the same 256-bit FMAs of the shared tile (avx2_f16_tile.hpp), so a tile can
// hold more (row, activation) pairs: fewer loads per FMA.
//
// The prepared activation is the AVX2 kernel's (the F16 row, then the values widened to
// float), from the same functions.

#include "engine/kernels/simd/avx512_vnni.hpp"

#if defined(__x86_64__)

#include "engine/kernels/simd/avx2.hpp"
#include "engine/kernels/simd/avx2_f16_tile.hpp"
#include "engine/kernels/simd/avx2_tiles.hpp"
#include "engine/kernels/simd/avx512_vnni_common.hpp"

namespace rbee::engine::kernels::simd {
namespace {

RBEE_AVX512_VNNI void dot_rows_multi_f16(const void* __restrict x, size_t row_stride,
                                         const void* __restrict activations,
                                         size_t activation_stride, int64_t n_act,
                                         float* __restrict out, size_t out_stride, int64_t n_rows,
                                         int64_t n) {
  // Five rows by four activations: twenty accumulators, four activation vectors and a
  // weight vector (9 loads per 20 FMAs), near the two FMAs a cycle of a Zen 4 core in cache
  // (56 multiply-adds per ns; 4 x 4 the same, 6 x 4, 4 x 6, 6 x 3, 8 x 3 up to 10 % slower).
  for_each_tile<5, 4, TileRows::kSpread>(x, row_stride, activations, activation_stride, n_act, out,
                                         out_stride, n_rows,
                                         [n]<int kRows, int kActs>(const TileArgs& t)
                                             RBEE_AVX512_VNNI { tile_f16<kRows, kActs>(t, n); });
}

void dot_rows_f16(const void* __restrict x, size_t row_stride, const void* __restrict activation,
                  float* __restrict out, int64_t n_rows, int64_t n) {
  dot_rows_multi_f16(x, row_stride, activation, 0, 1, out, 1, n_rows, n);
}

}  // namespace

const MatvecKernel kMatvecF16Avx512Vnni = {activation_bytes_f16_avx2, prepare_f16_avx2,
                                           dot_rows_f16, dot_rows_multi_f16};

}  // namespace rbee::engine::kernels::simd

#endif  // __x86_64__
