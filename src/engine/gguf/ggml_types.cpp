#include "engine/gguf/ggml_types.hpp"

#include <array>

namespace rbee::engine {
namespace {

struct TypeTraits {
  std::string_view name;
  uint32_t block_size = 0;  // 0: known to ggml, not supported here
  uint32_t type_size = 0;
};

// Indexed by id. Sizes follow ggml's block layouts (ggml-common.h): QK = 32 elements for
// the legacy quants, QK_K = 256 for the K-quants.
constexpr std::array<TypeTraits, kGgmlTypeMaxKnownId + 1> kTraits{{
    {"F32", 1, 4},
    {"F16", 1, 2},
    {"Q4_0", 32, 2 + 16},                  // f16 d, 16 bytes of nibbles
    {"Q4_1", 32, 2 + 2 + 16},              // f16 d, f16 m, nibbles
    {"Q4_2", 0, 0},                        // removed from ggml
    {"Q4_3", 0, 0},                        // removed from ggml
    {"Q5_0", 32, 2 + 4 + 16},              // f16 d, 32 high bits, nibbles
    {"Q5_1", 32, 2 + 2 + 4 + 16},          // f16 d, f16 m, high bits, nibbles
    {"Q8_0", 32, 2 + 32},                  // f16 d, 32 int8
    {"Q8_1", 32, 2 + 2 + 32},              // f16 d, f16 s, 32 int8
    {"Q2_K", 256, 16 + 64 + 2 + 2},        // scales, 2-bit quants, f16 d, f16 dmin
    {"Q3_K", 256, 32 + 64 + 12 + 2},       // hmask, quants, scales, f16 d
    {"Q4_K", 256, 2 + 2 + 12 + 128},       // f16 d, f16 dmin, scales, nibbles
    {"Q5_K", 256, 2 + 2 + 12 + 32 + 128},  // as Q4_K plus high bits
    {"Q6_K", 256, 128 + 64 + 16 + 2},      // low 4 bits, high 2 bits, scales, f16 d
    {"Q8_K", 256, 4 + 256 + 2 * 16},       // f32 d, 256 int8, 16 int16 block sums
    {"IQ2_XXS", 0, 0},
    {"IQ2_XS", 0, 0},
    {"IQ3_XXS", 0, 0},
    {"IQ1_S", 0, 0},
    {"IQ4_NL", 0, 0},
    {"IQ3_S", 0, 0},
    {"IQ2_S", 0, 0},
    {"IQ4_XS", 0, 0},
    {"I8", 0, 0},
    {"I16", 0, 0},
    {"I32", 0, 0},
    {"I64", 0, 0},
    {"F64", 0, 0},
    {"IQ1_M", 0, 0},
    {"BF16", 1, 2},
    {"Q4_0_4_4", 0, 0},  // removed from ggml
    {"Q4_0_4_8", 0, 0},  // removed from ggml
    {"Q4_0_8_8", 0, 0},  // removed from ggml
    {"TQ1_0", 0, 0},
    {"TQ2_0", 0, 0},
    {"IQ4_NL_4_4", 0, 0},  // removed from ggml
    {"IQ4_NL_4_8", 0, 0},  // removed from ggml
    {"IQ4_NL_8_8", 0, 0},  // removed from ggml
    {"MXFP4", 0, 0},
}};

const TypeTraits* find_traits(GgmlType type) {
  auto id = static_cast<uint32_t>(type);
  return id < kTraits.size() ? &kTraits[id] : nullptr;
}

}  // namespace

std::string_view type_name(GgmlType type) {
  const TypeTraits* traits = find_traits(type);
  return traits != nullptr ? traits->name : "unknown";
}

uint32_t block_size(GgmlType type) {
  const TypeTraits* traits = find_traits(type);
  return traits != nullptr ? traits->block_size : 0;
}

uint32_t type_size(GgmlType type) {
  const TypeTraits* traits = find_traits(type);
  return traits != nullptr ? traits->type_size : 0;
}

bool is_supported(GgmlType type) {
  return block_size(type) != 0;
}

}  // namespace rbee::engine
