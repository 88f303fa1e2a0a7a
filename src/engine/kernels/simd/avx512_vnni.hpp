#pragma once

// Kernels for x86-64 CPUs with AVX-512 VNNI (vpdpbusd, vpdpwssd) on top of AVX2/FMA/F16C:
// the batch paths of the 8-bit-integer types (Q4_0, Q8_0) and of the K-quants most models
// use (Q4_K, Q5_K, Q6_K), whose integer work VNNI does in fewer instructions than AVX2's
// maddubs/madd pairs (the bound of a decode batch and of K-quant decoding), and the F16
// batch path, whose bigger register tiles (AVX-512VL's 32 vector registers) need fewer
// loads per FMA than AVX2's 16 allow (the bound of a prefill). Each function is compiled
// with __attribute__((target(...))), so the build still runs on any x86-64 CPU;
// KernelTable::avx512_vnni() installs them only when avx512_vnni_available() says the CPU
// runs them.
//
// Results: every (row, activation) goes through the same exact integer block sums (F16:
// the same FMA chains) and then the same float operations, in the same lanes and order, as
// the AVX2 kernel of its type, so each result is the AVX2 table's bits (vec_dot, dot_rows
// and dot_rows_multi alike). Only the prepared activation's layout may differ (a kernel's
// own, see MatvecKernel; F16's is AVX2's).

#include <cstddef>
#include <cstdint>

#include "engine/kernels/kernel_table.hpp"

namespace rbee::engine::kernels::simd {

// True when this build has these kernels and this CPU (and OS) runs AVX2, FMA, F16C and
// AVX-512 F, BW, VL and VNNI.
bool avx512_vnni_available();

#if defined(__x86_64__)

// Matrix-vector paths with a prepared activation (see MatvecKernel in kernel_table.hpp).
extern const MatvecKernel kMatvecQ4_0Avx512Vnni;
extern const MatvecKernel kMatvecQ4_0x8Avx512Vnni;  // repacked Q4_0 rows
extern const MatvecKernel kMatvecQ8_0Avx512Vnni;
extern const MatvecKernel kMatvecF16Avx512Vnni;
extern const MatvecKernel kMatvecQ4_KAvx512Vnni;
extern const MatvecKernel kMatvecQ4_Kx8Avx512Vnni;  // Q4_K rows repacked in groups of eight
extern const MatvecKernel kMatvecQ5_KAvx512Vnni;
extern const MatvecKernel kMatvecQ6_KAvx512Vnni;

#endif  // __x86_64__

}  // namespace rbee::engine::kernels::simd
