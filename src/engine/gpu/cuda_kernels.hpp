#pragma once

// The CUDA kernels of the forward pass, behind plain launch functions so that the host code
// (cuda_forward.cpp) is ordinary C++. Every launch goes on `stream`; none synchronizes. All
// pointers are device pointers unless named otherwise. Activations are rows of floats, one
// per token, side by side.

#include <cuda_runtime_api.h>

#include <cstddef>
#include <cstdint>

namespace rbee::engine::gpu {

// Weight layouts the matrix kernels read. The quantized ones are GGUF's blocks, copied from
// the file as they are; F32 and F16 rows are padded with zeros to a multiple of 32 elements.
// Every other type is turned into F16 (or F32) at load.
enum class DeviceWeightType { kF32, kF16, kQ8_0, kQ4_0, kQ4_K, kQ6_K };

struct DeviceMatrix {
  DeviceWeightType type = DeviceWeightType::kF32;
  const uint8_t* data = nullptr;
  size_t row_bytes = 0;  // stride between rows
  int64_t rows = 0;
  int64_t cols = 0;
};

// Where a token sits: its position, and the KV cache of its sequence.
struct DeviceToken {
  int32_t pos = 0;
  int32_t cache = 0;  // index into the caches array
};

// One sequence's cache: keys and values per layer, as [n_layer][n_head_kv][n_ctx][head_dim]
// elements of F16 or F32.
struct DeviceCache {
  void* keys = nullptr;
  void* values = nullptr;
  int32_t n_ctx = 0;
};

struct AttentionShape {
  int32_t n_head = 0;
  int32_t n_head_kv = 0;
  int32_t head_dim = 0;
  int32_t layer = 0;
  bool f16_cache = true;
};

// y[t][r] = row r of `w` · x[t] for n_tokens rows x of w.cols floats.
void launch_matmul(const DeviceMatrix& w, const float* x, int64_t n_tokens, float* y,
                   cudaStream_t stream);

// Every element of a row of `w` as floats (out: rows x cols): to test the block decoders.
void launch_dequantize(const DeviceMatrix& w, float* out, cudaStream_t stream);

// out[i] = RMSNorm(x[rows ? rows[i] : i]) * weight for i < n_rows rows of n floats.
void launch_rms_norm(const float* x, const int32_t* rows, const float* weight, float* out,
                     int64_t n_rows, int64_t n, float eps, cudaStream_t stream);

// x[i] += y[i], then out[i] = RMSNorm(x[i]) * weight, for n_rows rows of n floats.
void launch_add_rms_norm(float* x, const float* y, const float* weight, float* out, int64_t n_rows,
                         int64_t n, float eps, cudaStream_t stream);

// values[t][j] += bias[j] for n_tokens rows of n floats.
void launch_add_bias(float* values, const float* bias, int64_t n_tokens, int64_t n,
                     cudaStream_t stream);

// Rotates the heads of q (n_head) and k (n_head_kv) of each token by its position (adjacent
// pairs, or with neox the halves of the first n_rot elements), then writes its k and v
// (n_head_kv * head_dim floats) into its cache at its position, rounded to the cache type.
void launch_rope_and_store(float* q, float* k, const float* v, const DeviceToken* tokens,
                           int64_t n_tokens, const DeviceCache* caches, const AttentionShape& shape,
                           int32_t n_rot, float freq_base, bool neox, cudaStream_t stream);

// Causal attention of every head of every token over its cache positions 0..pos: out holds
// n_tokens rows of n_head * head_dim floats. `max_positions` bounds pos + 1 over the tokens.
void launch_attention(const float* q, const DeviceToken* tokens, int64_t n_tokens,
                      const DeviceCache* caches, const AttentionShape& shape, int32_t max_positions,
                      float* out, cudaStream_t stream);

// The largest head the attention kernel takes.
int32_t attention_max_head_dim();
// Bytes of shared memory attention needs for `positions` cache positions.
size_t attention_shared_bytes(int32_t positions, int32_t head_dim);
// Lets attention use as much shared memory as a block may have (`block_limit`, the device's
// opt-in limit) and says how much that leaves for attention_shared_bytes.
cudaError_t allow_attention_shared_bytes(size_t block_limit, size_t* dynamic_limit);

// gate[j] = silu(gate[j]) * up[j] for n elements.
void launch_silu_mul(float* gate, const float* up, int64_t n, cudaStream_t stream);

// x[j] += y[j] for n elements.
void launch_add(float* x, const float* y, int64_t n, cudaStream_t stream);

}  // namespace rbee::engine::gpu
