#pragma once

// The per-type kernel table: for each tensor type, its block geometry and the row kernels
// the model code calls through function pointers (no virtual calls, no allocation).
//
// A matrix-vector product with weights of type T goes:
//   const KernelTraits& w = type_traits(T);
//   const KernelTraits& a = type_traits(w.vec_dot_type);
//   a.quantize_row(x, activation_scratch, n_cols);           // once per activation row
//   for each weight row r: y[r] = w.vec_dot(row r, activation_scratch, n_cols);
// as llama.cpp's CPU backend does (it quantizes the activation to the weight type's
// vec_dot_type first). matvec in matvec.hpp wraps exactly this.
//
// Three tables exist: the scalar reference kernels (the oracle); on x86-64 CPUs with
// AVX2, FMA and F16C, the same table with SIMD kernels in place of the scalar ones
// (simd/avx2.hpp); and on CPUs that also have AVX-512 F/BW/VL/VNNI, the AVX2 table with
// some batch kernels done with vpdpbusd (simd/avx512_vnni.hpp), whose results are the AVX2
// table's bits. type_traits() reads the active one, picked once at first use; the
// environment variable RBEE_KERNELS=avx2 or =scalar forces a lower table (to compare).
// Each table is built once, at first use, and is immutable: any thread may read it.

#include <array>
#include <cstddef>
#include <cstdint>

#include "engine/kernels/kernel_type.hpp"

namespace rbee::engine::kernels {

// Row kernels over raw bytes. `n` is the number of elements of the row, a multiple of the
// type's block size (else RBEE_CHECK aborts). Rows must be aligned as the type's block
// struct is (4 bytes for F32 and Q8_K, 2 for the others); GGUF tensor data is 32-byte aligned.
using DequantizeRowFn = void (*)(const void* __restrict src, float* __restrict dst, int64_t n);
using QuantizeRowFn = void (*)(const float* __restrict src, void* __restrict dst, int64_t n);
// The dot product of a weight row `x` with an activation row `y` already in the weight
// type's vec_dot_type.
using VecDotFn = float (*)(const void* __restrict x, const void* __restrict y, int64_t n);
// Rewrites consecutive weight rows of `n` elements (as many as the repacked type's
// row_group) into another layout of the same size.
using RepackRowsFn = void (*)(const void* __restrict src, void* __restrict dst, int64_t n);
// An optional faster matrix-vector path of a weight type: the activation prepared once per
// product in the kernel's own layout, then many rows dotted with it. The layout starts with
// the activation row in vec_dot_type, exactly as quantize_row writes it; each row's result
// is exactly vec_dot's with that row. Rows are independent, so results never depend on how
// a matrix is split across threads.
struct MatvecKernel {
  // Bytes of the prepared activation of `n` columns.
  size_t (*activation_bytes)(int64_t n) = nullptr;
  // Writes the prepared activation of x[0..n) to `activation` (activation_bytes(n) bytes).
  void (*prepare)(const float* __restrict x, void* __restrict activation, int64_t n) = nullptr;
  // out[r] = vec_dot(row r, activation row) for r < n_rows, rows `row_stride` bytes apart
  // from `x`.
  void (*dot_rows)(const void* __restrict x, size_t row_stride, const void* __restrict activation,
                   float* __restrict out, int64_t n_rows, int64_t n) = nullptr;
  // Optional: the same for n_act activations `activation_stride` bytes apart, out[j *
  // out_stride + r] for activation j, each value bit for bit dot_rows' (see matmul_rows in
  // matvec.hpp). nullptr: matmul_rows tiles the rows and calls dot_rows per activation.
  void (*dot_rows_multi)(const void* __restrict x, size_t row_stride,
                         const void* __restrict activations, size_t activation_stride,
                         int64_t n_act, float* __restrict out, size_t out_stride, int64_t n_rows,
                         int64_t n) = nullptr;
};

struct KernelTraits {
  KernelType type = KernelType::kF32;
  const char* name = "";   // ggml's name: "f32", "f16", "q4_0", ..., "q6_K", "q8_K", "bf16"
  int64_t block_size = 0;  // elements per block (1 for F32, F16, BF16)
  size_t block_bytes = 0;  // bytes per block
  DequantizeRowFn dequantize_row = nullptr;  // blocks -> float
  QuantizeRowFn quantize_row = nullptr;      // float -> blocks
  // nullptr for the activation-only types (Q8_1, Q8_K), which are never weights.
  VecDotFn vec_dot = nullptr;
  // Optional (only fast tables have them); nullptr: matvec quantizes the activation with
  // vec_dot_type's quantize_row and calls vec_dot row by row.
  const MatvecKernel* matvec = nullptr;
  KernelType vec_dot_type = KernelType::kF32;  // the activation format vec_dot expects
  // Optional (only fast tables have it): a layout of this type's rows that the table's
  // kernels read with less work, made once when a model loads. repack_rows writes a group of
  // repacked_type's row_group rows as `repacked_type`, whose products give this type's
  // results bit for bit; a matrix can be repacked when its row length is a multiple of
  // repacked_type's block size and its row count a multiple of its row_group.
  RepackRowsFn repack_rows = nullptr;
  KernelType repacked_type = KernelType::kF32;
  // Rows of this type are stored in groups of row_group rows whose bytes interleave (a
  // repacked layout): such a type has no vec_dot or row dequantizer, only a matvec path, and
  // its products must cover whole groups (row ranges starting and ending on multiples of
  // row_group). The group's bytes are its rows' (row_bytes each), so row r's group starts at
  // (r - r % row_group) * row_bytes as in any matrix.
  int64_t row_group = 1;
};

// The table of every type, indexed by type id.
class KernelTable {
 public:
  // The scalar reference kernels (the oracle SIMD kernels are checked against).
  static const KernelTable& reference();
  // The reference table with the AVX2/FMA/F16C kernels installed (every type's dot and the
  // activation quantizers), or nullptr when this build or this CPU has none.
  static const KernelTable* avx2();
  // The avx2() table with the AVX-512 VNNI batch kernels in place of some AVX2 ones
  // (simd/avx512_vnni.hpp: the same result bits, fewer instructions), or nullptr when this
  // build or this CPU has none.
  static const KernelTable* avx512_vnni();
  // The table type_traits() reads: the fastest of avx512_vnni(), avx2() and reference()
  // that this CPU runs. The environment variable RBEE_KERNELS, read at first use, caps it:
  // "avx2" allows avx2() at most, "scalar" forces reference() (to compare or to measure).
  static const KernelTable& active();

  // "scalar", "avx2" or "avx512_vnni".
  const char* name() const { return name_; }

  // The traits of type id `type_id` (a GGUF tensor's type), or nullptr for an id this
  // table has no kernels for: callers validating a file turn that into an error.
  const KernelTraits* find(uint32_t type_id) const;
  // The traits of `type`, which must be one of KernelType's values (else RBEE_CHECK aborts).
  const KernelTraits& at(KernelType type) const;

 private:
  KernelTable();
  const char* name_ = "scalar";
  std::array<KernelTraits, kKernelTypeIdLimit> traits_{};
};

// The traits of `type` in the active table.
const KernelTraits& type_traits(KernelType type);
// The traits of a raw type id, or nullptr when unknown (see KernelTable::find).
const KernelTraits* find_type_traits(uint32_t type_id);

// Bytes of a row of `n` elements of `traits`' type; `n` must be a multiple of the block
// size (else RBEE_CHECK aborts).
size_t row_bytes(const KernelTraits& traits, int64_t n);

}  // namespace rbee::engine::kernels
