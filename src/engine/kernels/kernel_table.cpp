#include "engine/kernels/kernel_table.hpp"

#include <cstdlib>
#include <cstring>

#include "common/check.hpp"
#include "engine/kernels/f32.hpp"
#include "engine/kernels/float16.hpp"
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
#include "engine/kernels/q8_k.hpp"
#include "engine/kernels/simd/avx2.hpp"
#include "engine/kernels/simd/avx512_vnni.hpp"

namespace rbee::engine::kernels {
namespace {

// Adapters from the typed row kernels to the table's byte-pointer signatures.
template <typename Block, void (*kDequantize)(const Block* __restrict, float* __restrict, int64_t)>
void dequantize_adapter(const void* __restrict src, float* __restrict dst, int64_t n) {
  kDequantize(static_cast<const Block*>(src), dst, n);
}

template <typename Block, void (*kQuantize)(const float* __restrict, Block* __restrict, int64_t)>
void quantize_adapter(const float* __restrict src, void* __restrict dst, int64_t n) {
  kQuantize(src, static_cast<Block*>(dst), n);
}

template <typename From, typename To,
          void (*kRepack)(const From* __restrict, To* __restrict, int64_t)>
void repack_adapter(const void* __restrict src, void* __restrict dst, int64_t n) {
  kRepack(static_cast<const From*>(src), static_cast<To*>(dst), n);
}

template <typename Block, typename ActivationBlock,
          float (*kVecDot)(const Block* __restrict, const ActivationBlock* __restrict, int64_t)>
float vec_dot_adapter(const void* __restrict x, const void* __restrict y, int64_t n) {
  return kVecDot(static_cast<const Block*>(x), static_cast<const ActivationBlock*>(y), n);
}

template <typename Block, void (*kDequantize)(const Block* __restrict, float* __restrict, int64_t),
          void (*kQuantize)(const float* __restrict, Block* __restrict, int64_t)>
KernelTraits make_traits(KernelType type, const char* name, int64_t block_size) {
  KernelTraits traits;
  traits.type = type;
  traits.name = name;
  traits.block_size = block_size;
  traits.block_bytes = sizeof(Block);
  traits.dequantize_row = &dequantize_adapter<Block, kDequantize>;
  traits.quantize_row = &quantize_adapter<Block, kQuantize>;
  traits.vec_dot_type = type;
  return traits;
}

template <typename Block, typename ActivationBlock,
          float (*kVecDot)(const Block* __restrict, const ActivationBlock* __restrict, int64_t)>
void set_vec_dot(KernelTraits& traits, KernelType vec_dot_type) {
  traits.vec_dot = &vec_dot_adapter<Block, ActivationBlock, kVecDot>;
  traits.vec_dot_type = vec_dot_type;
}

}  // namespace

KernelTable::KernelTable() {
  auto set = [this](const KernelTraits& traits) {
    traits_[static_cast<uint32_t>(traits.type)] = traits;
  };
  using K = KernelType;

  KernelTraits f32 = make_traits<float, copy_row_f32, copy_row_f32>(K::kF32, "f32", 1);
  set_vec_dot<float, float, vec_dot_f32>(f32, K::kF32);
  set(f32);
  KernelTraits f16 = make_traits<uint16_t, dequantize_row_f16, quantize_row_f16>(K::kF16, "f16", 1);
  set_vec_dot<uint16_t, uint16_t, vec_dot_f16>(f16, K::kF16);
  set(f16);
  KernelTraits bf16 =
      make_traits<uint16_t, dequantize_row_bf16, quantize_row_bf16>(K::kBF16, "bf16", 1);
  set_vec_dot<uint16_t, uint16_t, vec_dot_bf16>(bf16, K::kBF16);
  set(bf16);

  KernelTraits q4_0 =
      make_traits<BlockQ4_0, dequantize_row_q4_0, quantize_row_q4_0>(K::kQ4_0, "q4_0", kQK4_0);
  set_vec_dot<BlockQ4_0, BlockQ8_0, vec_dot_q4_0_q8_0>(q4_0, K::kQ8_0);
  set(q4_0);
  KernelTraits q4_0x8 = make_traits<BlockQ4_0x8, dequantize_row_q4_0x8, quantize_row_q4_0x8>(
      K::kQ4_0x8, "q4_0x8", kQK4_0x8);
  set_vec_dot<BlockQ4_0x8, BlockQ8_0, vec_dot_q4_0x8_q8_0>(q4_0x8, K::kQ8_0);
  set(q4_0x8);
  KernelTraits q4_1 =
      make_traits<BlockQ4_1, dequantize_row_q4_1, quantize_row_q4_1>(K::kQ4_1, "q4_1", kQK4_1);
  set_vec_dot<BlockQ4_1, BlockQ8_1, vec_dot_q4_1_q8_1>(q4_1, K::kQ8_1);
  set(q4_1);
  KernelTraits q5_0 =
      make_traits<BlockQ5_0, dequantize_row_q5_0, quantize_row_q5_0>(K::kQ5_0, "q5_0", kQK5_0);
  set_vec_dot<BlockQ5_0, BlockQ8_0, vec_dot_q5_0_q8_0>(q5_0, K::kQ8_0);
  set(q5_0);
  KernelTraits q5_1 =
      make_traits<BlockQ5_1, dequantize_row_q5_1, quantize_row_q5_1>(K::kQ5_1, "q5_1", kQK5_1);
  set_vec_dot<BlockQ5_1, BlockQ8_1, vec_dot_q5_1_q8_1>(q5_1, K::kQ8_1);
  set(q5_1);
  KernelTraits q8_0 =
      make_traits<BlockQ8_0, dequantize_row_q8_0, quantize_row_q8_0>(K::kQ8_0, "q8_0", kQK8_0);
  set_vec_dot<BlockQ8_0, BlockQ8_0, vec_dot_q8_0_q8_0>(q8_0, K::kQ8_0);
  set(q8_0);
  set(make_traits<BlockQ8_1, dequantize_row_q8_1, quantize_row_q8_1>(K::kQ8_1, "q8_1", kQK8_1));

  KernelTraits q2_k =
      make_traits<BlockQ2_K, dequantize_row_q2_k, quantize_row_q2_k>(K::kQ2_K, "q2_K", kQK_K);
  set_vec_dot<BlockQ2_K, BlockQ8_K, vec_dot_q2_k_q8_k>(q2_k, K::kQ8_K);
  set(q2_k);
  KernelTraits q3_k =
      make_traits<BlockQ3_K, dequantize_row_q3_k, quantize_row_q3_k>(K::kQ3_K, "q3_K", kQK_K);
  set_vec_dot<BlockQ3_K, BlockQ8_K, vec_dot_q3_k_q8_k>(q3_k, K::kQ8_K);
  set(q3_k);
  KernelTraits q4_k =
      make_traits<BlockQ4_K, dequantize_row_q4_k, quantize_row_q4_k>(K::kQ4_K, "q4_K", kQK_K);
  set_vec_dot<BlockQ4_K, BlockQ8_K, vec_dot_q4_k_q8_k>(q4_k, K::kQ8_K);
  set(q4_k);
  KernelTraits q5_k =
      make_traits<BlockQ5_K, dequantize_row_q5_k, quantize_row_q5_k>(K::kQ5_K, "q5_K", kQK_K);
  set_vec_dot<BlockQ5_K, BlockQ8_K, vec_dot_q5_k_q8_k>(q5_k, K::kQ8_K);
  set(q5_k);
  KernelTraits q6_k =
      make_traits<BlockQ6_K, dequantize_row_q6_k, quantize_row_q6_k>(K::kQ6_K, "q6_K", kQK_K);
  set_vec_dot<BlockQ6_K, BlockQ8_K, vec_dot_q6_k_q8_k>(q6_k, K::kQ8_K);
  set(q6_k);
  set(make_traits<BlockQ8_K, dequantize_row_q8_k, quantize_row_q8_k>(K::kQ8_K, "q8_K", kQK_K));
}

const KernelTable& KernelTable::reference() {
  static const KernelTable table;
  return table;
}

const KernelTable* KernelTable::avx2() {
#if defined(__x86_64__)
  static const KernelTable* const table = []() -> const KernelTable* {
    if (!simd::avx2_available()) return nullptr;
    static KernelTable fast;
    fast.name_ = "avx2";
    auto at = [&](KernelType type) -> KernelTraits& {
      return fast.traits_[static_cast<uint32_t>(type)];
    };
    using K = KernelType;
    at(K::kF32).vec_dot = simd::vec_dot_f32_avx2;
    at(K::kF16).vec_dot = simd::vec_dot_f16_avx2;
    at(K::kBF16).vec_dot = simd::vec_dot_bf16_avx2;
    at(K::kQ4_0).vec_dot = simd::vec_dot_q4_0_q8_0_avx2;
    at(K::kQ4_1).vec_dot = simd::vec_dot_q4_1_q8_1_avx2;
    at(K::kQ5_0).vec_dot = simd::vec_dot_q5_0_q8_0_avx2;
    at(K::kQ5_1).vec_dot = simd::vec_dot_q5_1_q8_1_avx2;
    at(K::kQ8_0).vec_dot = simd::vec_dot_q8_0_q8_0_avx2;
    at(K::kQ4_0).matvec = &simd::kMatvecQ4_0Avx2;
    // Models repack Q4_0 matrices for these kernels (see BlockQ4_0x8).
    at(K::kQ4_0x8).vec_dot = simd::vec_dot_q4_0x8_q8_0_avx2;
    at(K::kQ4_0x8).matvec = &simd::kMatvecQ4_0x8Avx2;
    at(K::kQ4_0).repack_rows = &repack_adapter<BlockQ4_0, BlockQ4_0x8, repack_row_q4_0x8>;
    at(K::kQ4_0).repacked_type = K::kQ4_0x8;
    at(K::kQ8_0).matvec = &simd::kMatvecQ8_0Avx2;
    at(K::kQ4_K).matvec = &simd::kMatvecQ4_KAvx2;
    // Models repack Q4_K matrices into groups of eight rows for these kernels (BlockQ4_Kx8).
    KernelTraits& q4_kx8 = at(K::kQ4_Kx8);
    q4_kx8.type = K::kQ4_Kx8;
    q4_kx8.name = "q4_Kx8";
    q4_kx8.block_size = kQK_K;
    q4_kx8.block_bytes = sizeof(BlockQ4_K);  // per row: a group holds its rows' bytes
    q4_kx8.vec_dot_type = K::kQ8_K;
    q4_kx8.matvec = &simd::kMatvecQ4_Kx8Avx2;
    q4_kx8.row_group = kQ4_Kx8Rows;
    at(K::kQ4_K).repack_rows = &repack_adapter<BlockQ4_K, BlockQ4_Kx8, repack_rows_q4_kx8>;
    at(K::kQ4_K).repacked_type = K::kQ4_Kx8;
    at(K::kQ5_K).matvec = &simd::kMatvecQ5_KAvx2;
    at(K::kQ6_K).matvec = &simd::kMatvecQ6_KAvx2;
    at(K::kF16).matvec = &simd::kMatvecF16Avx2;
    at(K::kQ2_K).vec_dot = simd::vec_dot_q2_k_q8_k_avx2;
    at(K::kQ3_K).vec_dot = simd::vec_dot_q3_k_q8_k_avx2;
    at(K::kQ4_K).vec_dot = simd::vec_dot_q4_k_q8_k_avx2;
    at(K::kQ5_K).vec_dot = simd::vec_dot_q5_k_q8_k_avx2;
    at(K::kQ6_K).vec_dot = simd::vec_dot_q6_k_q8_k_avx2;
    // The activation formats' quantizers (bit-exact with the scalar ones).
    at(K::kF16).quantize_row = simd::quantize_row_f16_avx2;
    at(K::kBF16).quantize_row = simd::quantize_row_bf16_avx2;
    at(K::kQ8_0).quantize_row = simd::quantize_row_q8_0_avx2;
    at(K::kQ8_1).quantize_row = simd::quantize_row_q8_1_avx2;
    at(K::kQ8_K).quantize_row = simd::quantize_row_q8_k_avx2;
    return &fast;
  }();
  return table;
#else
  return nullptr;
#endif
}

const KernelTable* KernelTable::avx512_vnni() {
#if defined(__x86_64__)
  static const KernelTable* const table = []() -> const KernelTable* {
    const KernelTable* base = avx2();
    if (base == nullptr || !simd::avx512_vnni_available()) return nullptr;
    static KernelTable fast = *base;
    fast.name_ = "avx512_vnni";
    auto at = [&](KernelType type) -> KernelTraits& {
      return fast.traits_[static_cast<uint32_t>(type)];
    };
    using K = KernelType;
    at(K::kQ4_0).matvec = &simd::kMatvecQ4_0Avx512Vnni;
    at(K::kQ4_0x8).matvec = &simd::kMatvecQ4_0x8Avx512Vnni;
    at(K::kQ8_0).matvec = &simd::kMatvecQ8_0Avx512Vnni;
    at(K::kF16).matvec = &simd::kMatvecF16Avx512Vnni;
    at(K::kQ4_K).matvec = &simd::kMatvecQ4_KAvx512Vnni;
    at(K::kQ4_Kx8).matvec = &simd::kMatvecQ4_Kx8Avx512Vnni;
    at(K::kQ5_K).matvec = &simd::kMatvecQ5_KAvx512Vnni;
    at(K::kQ6_K).matvec = &simd::kMatvecQ6_KAvx512Vnni;
    return &fast;
  }();
  return table;
#else
  return nullptr;
#endif
}

const KernelTable& KernelTable::active() {
  static const KernelTable& table = []() -> const KernelTable& {
    const char* choice = std::getenv("RBEE_KERNELS");
    auto is = [choice](const char* name) {
      return choice != nullptr && std::strcmp(choice, name) == 0;
    };
    if (is("scalar")) return reference();
    const KernelTable* vnni = is("avx2") ? nullptr : avx512_vnni();
    if (vnni != nullptr) return *vnni;
    const KernelTable* fast = avx2();
    return fast != nullptr ? *fast : reference();
  }();
  return table;
}

const KernelTraits* KernelTable::find(uint32_t type_id) const {
  if (type_id >= traits_.size() || traits_[type_id].block_size == 0) return nullptr;
  return &traits_[type_id];
}

const KernelTraits& KernelTable::at(KernelType type) const {
  const KernelTraits* traits = find(static_cast<uint32_t>(type));
  RBEE_CHECK(traits != nullptr, "not a KernelType value");
  return *traits;
}

const KernelTraits& type_traits(KernelType type) {
  return KernelTable::active().at(type);
}

const KernelTraits* find_type_traits(uint32_t type_id) {
  return KernelTable::active().find(type_id);
}

size_t row_bytes(const KernelTraits& traits, int64_t n) {
  RBEE_CHECK(n >= 0 && n % traits.block_size == 0,
             "row length must be a multiple of the block size");
  return static_cast<size_t>(n / traits.block_size) * traits.block_bytes;
}

}  // namespace rbee::engine::kernels
