#pragma once

// The ggml tensor types that GGUF files name by id: each type's name, block size (elements
// per block) and block size in bytes. The ids are fixed by the GGUF format (ggml's
// `ggml_type` enum); a tensor of `n` elements along its first dimension takes
// `n / block_size(t)` blocks of `type_size(t)` bytes per row.
//
//   if (is_supported(t)) n_bytes = n_elements / block_size(t) * type_size(t);
//
// Plain data only: no allocation, no errors; safe from any thread.

#include <cstdint>
#include <string_view>

namespace rbee::engine {

enum class GgmlType : uint32_t {
  kF32 = 0,
  kF16 = 1,
  kQ4_0 = 2,
  kQ4_1 = 3,
  kQ5_0 = 6,
  kQ5_1 = 7,
  kQ8_0 = 8,
  kQ8_1 = 9,
  kQ2_K = 10,
  kQ3_K = 11,
  kQ4_K = 12,
  kQ5_K = 13,
  kQ6_K = 14,
  kQ8_K = 15,
  kBF16 = 30,
};

// The largest id in the table below (known types, supported or not), for loops over ids.
inline constexpr uint32_t kGgmlTypeMaxKnownId = 39;

// The ggml name ("F32", "Q4_K", "IQ2_XXS"), or "unknown" for an id ggml never used.
// Ids of types that ggml knows but rbee cannot read (IQ*, I8.., TQ*) have their name too.
std::string_view type_name(GgmlType type);

// Elements per block (1 for F32/F16/BF16, 32 for Q4_0.., 256 for K-quants); 0 when the type
// is not supported.
uint32_t block_size(GgmlType type);

// Bytes per block (4 for F32, 18 for Q4_0, 144 for Q4_K ...); 0 when the type is not
// supported.
uint32_t type_size(GgmlType type);

// True for the types listed in GgmlType, whose layout rbee knows.
bool is_supported(GgmlType type);

}  // namespace rbee::engine
