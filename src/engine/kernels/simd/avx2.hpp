#pragma once

// The AVX2/FMA/F16C row kernels: the same functions as the scalar ones of the kernel table
// (the oracle they are tested against), over the same block layouts, with the table's
// byte-pointer signatures. They are compiled for x86-64 only, each function with
// __attribute__((target("avx2,fma,f16c"))), so the rest of the build still runs on any
// x86-64 CPU; KernelTable::avx2() installs them only when avx2_available() says the CPU
// runs them.
//
// Results: the integer sums of one block are exact, as in the scalar kernels; only the float
// accumulation over blocks (and, for F32/F16/BF16, over elements) runs in another order, in
// float where the scalar F32/F16/BF16 dots accumulate in double. The activation quantizers
// (Q8_0, Q8_1, Q8_K, F16, BF16) give the scalar quantizers' bytes exactly for finite input.

#include <cstddef>
#include <cstdint>

#include "engine/kernels/kernel_table.hpp"

namespace rbee::engine::kernels::simd {

// True when this build has the AVX2 kernels and this CPU (and OS) runs AVX2, FMA and F16C.
bool avx2_available();

#if defined(__x86_64__)

// Dots (the table's VecDotFn): weight row `x`, activation row `y` in the vec_dot type.
float vec_dot_f32_avx2(const void* __restrict x, const void* __restrict y, int64_t n);
float vec_dot_f16_avx2(const void* __restrict x, const void* __restrict y, int64_t n);
float vec_dot_bf16_avx2(const void* __restrict x, const void* __restrict y, int64_t n);
float vec_dot_q4_0_q8_0_avx2(const void* __restrict x, const void* __restrict y, int64_t n);
float vec_dot_q4_0x8_q8_0_avx2(const void* __restrict x, const void* __restrict y, int64_t n);
float vec_dot_q4_1_q8_1_avx2(const void* __restrict x, const void* __restrict y, int64_t n);
float vec_dot_q5_0_q8_0_avx2(const void* __restrict x, const void* __restrict y, int64_t n);
float vec_dot_q5_1_q8_1_avx2(const void* __restrict x, const void* __restrict y, int64_t n);
float vec_dot_q8_0_q8_0_avx2(const void* __restrict x, const void* __restrict y, int64_t n);
float vec_dot_q2_k_q8_k_avx2(const void* __restrict x, const void* __restrict y, int64_t n);
float vec_dot_q3_k_q8_k_avx2(const void* __restrict x, const void* __restrict y, int64_t n);
float vec_dot_q4_k_q8_k_avx2(const void* __restrict x, const void* __restrict y, int64_t n);
float vec_dot_q5_k_q8_k_avx2(const void* __restrict x, const void* __restrict y, int64_t n);
float vec_dot_q6_k_q8_k_avx2(const void* __restrict x, const void* __restrict y, int64_t n);

// Matrix-vector paths with a prepared activation (see MatvecKernel in kernel_table.hpp).
extern const MatvecKernel kMatvecQ4_0Avx2;
extern const MatvecKernel kMatvecQ4_0x8Avx2;  // repacked Q4_0 rows, Q4_0's activations
extern const MatvecKernel kMatvecQ8_0Avx2;
extern const MatvecKernel kMatvecQ4_KAvx2;
extern const MatvecKernel kMatvecQ4_Kx8Avx2;  // Q4_K rows repacked in groups of eight
extern const MatvecKernel kMatvecQ5_KAvx2;
extern const MatvecKernel kMatvecQ6_KAvx2;
extern const MatvecKernel kMatvecF16Avx2;
// kMatvecF16Avx2's prepared activation (the F16 row, then its values as float), which the
// AVX-512 F16 kernel reads too.
size_t activation_bytes_f16_avx2(int64_t n);
void prepare_f16_avx2(const float* __restrict x, void* __restrict activation, int64_t n);

// Activation quantizers (the table's QuantizeRowFn), bit-exact with the scalar ones.
void quantize_row_f16_avx2(const float* __restrict x, void* __restrict y, int64_t n);
void quantize_row_bf16_avx2(const float* __restrict x, void* __restrict y, int64_t n);
void quantize_row_q8_0_avx2(const float* __restrict x, void* __restrict y, int64_t n);
void quantize_row_q8_1_avx2(const float* __restrict x, void* __restrict y, int64_t n);
void quantize_row_q8_k_avx2(const float* __restrict x, void* __restrict y, int64_t n);

// Attention loops (see attention.hpp): keys and queries F16 (f16) or F32, head_dim a multiple
// of 8.
void attention_scores_avx2(bool f16, const void* keys, int64_t key_stride, const void* queries,
                           int64_t query_stride, int64_t n_queries, int64_t head_dim, int64_t n_kv,
                           float scale, float* scores, int64_t scores_stride);
double exp_shifted_avx2(float* x, int64_t n, float shift);

#endif  // __x86_64__

}  // namespace rbee::engine::kernels::simd
