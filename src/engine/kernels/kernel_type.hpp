#pragma once

// KernelType: the tensor element types the kernels know, numbered as ggml numbers them
// (enum ggml_type), so a GGUF tensor's type id converts with a cast after a range check
// (see find_type_traits in kernel_table.hpp). Past ggml's ids come the layouts the engine
// makes itself at load time (never found in a file: the GGUF reader rejects their ids).

#include <cstdint>

namespace rbee::engine::kernels {

enum class KernelType : uint32_t {
  kF32 = 0,
  kF16 = 1,
  kQ4_0 = 2,
  kQ4_1 = 3,
  kQ5_0 = 6,
  kQ5_1 = 7,
  kQ8_0 = 8,
  kQ8_1 = 9,  // activations only (the vec_dot type of Q4_1 and Q5_1)
  kQ2_K = 10,
  kQ3_K = 11,
  kQ4_K = 12,
  kQ5_K = 13,
  kQ6_K = 14,
  kQ8_K = 15,  // activations only (the vec_dot type of every K-quant)
  kBF16 = 30,
  // Q4_0 rows repacked at load so that the SIMD kernels read an octet of blocks without
  // shuffling it (q4_0.hpp's BlockQ4_0x8); the vec_dot type is Q8_0's.
  kQ4_0x8 = 40,
  // Q4_K matrices repacked at load in groups of eight rows, their super-blocks interleaved
  // (q4_k.hpp's BlockQ4_Kx8); the vec_dot type is Q8_K's.
  kQ4_Kx8 = 41,
};

// One past the largest id above: the size of a table indexed by type id.
inline constexpr uint32_t kKernelTypeIdLimit = 42;

// Super-block size of the K-quants (ggml's QK_K).
inline constexpr int64_t kQK_K = 256;

}  // namespace rbee::engine::kernels
