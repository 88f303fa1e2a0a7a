// The CUDA kernels of the forward pass (see cuda_kernels.hpp). The matrix kernel gives each
// weight row to one warp: its lanes take the row's 32-element parts in turn, decode a part
// once into registers and dot it with up to kTile tokens' activations, then the warp adds
// its lanes' sums. A token's result never depends on which others share its launch, so a
// batch gives each sequence the bits it gets alone.

#include <cuda_fp16.h>

#include <algorithm>
#include <cmath>
#include <type_traits>

#include "engine/gpu/cuda_kernels.hpp"

namespace rbee::engine::gpu {
namespace {

constexpr int kWarp = 32;
constexpr int kRowsPerBlock = 8;  // warps of the matrix kernel, one row each
constexpr int kPart = 32;         // elements a lane decodes at once

__device__ inline int64_t min64(int64_t a, int64_t b) {
  return a < b ? a : b;
}

__device__ inline float half_bits_to_float(uint16_t bits) {
  return __half2float(__ushort_as_half(bits));
}

__device__ inline uint16_t load_u16(const uint8_t* p) {
  return *reinterpret_cast<const uint16_t*>(p);
}

// Copies n bytes (even, from a 2-byte aligned address: GGUF blocks are) into registers.
template <int N>
__device__ inline void load_bytes(const uint8_t* p, uint8_t (&out)[N]) {
#pragma unroll
  for (int i = 0; i < N / 2; ++i) {
    const uint16_t pair = load_u16(p + 2 * i);
    out[2 * i] = uint8_t(pair & 0xff);
    out[2 * i + 1] = uint8_t(pair >> 8);
  }
}

// Each format decodes part p (elements 32p .. 32p + 31) of a row into floats.
template <DeviceWeightType T>
struct Format;

template <>
struct Format<DeviceWeightType::kF32> {
  __device__ static void part(const uint8_t* row, int64_t n_parts, int64_t p, float (&v)[kPart]) {
    const float4* src = reinterpret_cast<const float4*>(row) + p * (kPart / 4);
#pragma unroll
    for (int i = 0; i < kPart / 4; ++i) {
      const float4 f = src[i];
      v[4 * i] = f.x;
      v[4 * i + 1] = f.y;
      v[4 * i + 2] = f.z;
      v[4 * i + 3] = f.w;
    }
  }
};

template <>
struct Format<DeviceWeightType::kF16> {
  __device__ static void part(const uint8_t* row, int64_t n_parts, int64_t p, float (&v)[kPart]) {
    const uint4* src = reinterpret_cast<const uint4*>(row + p * kPart * 2);
#pragma unroll
    for (int i = 0; i < kPart / 8; ++i) {
      const uint4 bits = src[i];
      const uint32_t words[4] = {bits.x, bits.y, bits.z, bits.w};
#pragma unroll
      for (int w = 0; w < 4; ++w) {
        v[8 * i + 2 * w] = half_bits_to_float(uint16_t(words[w] & 0xffff));
        v[8 * i + 2 * w + 1] = half_bits_to_float(uint16_t(words[w] >> 16));
      }
    }
  }
};

// Q8_0 rows on the device: every block's 32 int8 first (32 bytes each, so one block is two
// aligned 16-byte loads), then every block's scale d (F16). The file interleaves them in
// 34-byte blocks; the upload splits them.
template <>
struct Format<DeviceWeightType::kQ8_0> {
  __device__ static void part(const uint8_t* row, int64_t n_parts, int64_t p, float (&v)[kPart]) {
    const uint4* qs = reinterpret_cast<const uint4*>(row + p * 32);
    const float d = half_bits_to_float(load_u16(row + n_parts * 32 + p * 2));
#pragma unroll
    for (int i = 0; i < 2; ++i) {
      const uint4 bits = qs[i];
      const uint32_t words[4] = {bits.x, bits.y, bits.z, bits.w};
#pragma unroll
      for (int w = 0; w < 4; ++w) {
#pragma unroll
        for (int b = 0; b < 4; ++b) {
          v[16 * i + 4 * w + b] = d * float(int8_t(uint8_t(words[w] >> (8 * b))));
        }
      }
    }
  }
};

// Q4_0 rows on the device: every block's 16 bytes of nibbles first (one aligned 16-byte load
// a block), then every block's scale d. A block's byte j holds element j in its low nibble
// and element j + 16 in its high one, each stored + 8.
template <>
struct Format<DeviceWeightType::kQ4_0> {
  __device__ static void part(const uint8_t* row, int64_t n_parts, int64_t p, float (&v)[kPart]) {
    const uint4 bits = *reinterpret_cast<const uint4*>(row + p * 16);
    const float d = half_bits_to_float(load_u16(row + n_parts * 16 + p * 2));
    const uint32_t words[4] = {bits.x, bits.y, bits.z, bits.w};
#pragma unroll
    for (int w = 0; w < 4; ++w) {
#pragma unroll
      for (int b = 0; b < 4; ++b) {
        const uint32_t byte = (words[w] >> (8 * b)) & 0xff;
        v[4 * w + b] = d * float(int(byte & 0xf) - 8);
        v[4 * w + b + 16] = d * float(int(byte >> 4) - 8);
      }
    }
  }
};

// Q4_K: a 144-byte super-block of 256: d and dmin (F16), twelve bytes of 6-bit scales and
// mins for eight groups of 32, then 128 bytes of nibbles: chunk c's 32 bytes hold group 2c
// in the low nibbles and group 2c + 1 in the high ones. Element = d*scale*q - dmin*min.
template <>
struct Format<DeviceWeightType::kQ4_K> {
  __device__ static void part(const uint8_t* row, int64_t n_parts, int64_t p, float (&v)[kPart]) {
    const uint8_t* block = row + (p / 8) * 144;
    const int g = int(p % 8);
    const float d = half_bits_to_float(load_u16(block));
    const float dmin = half_bits_to_float(load_u16(block + 2));
    const uint8_t* scales = block + 4;
    int scale, min;
    if (g < 4) {
      scale = scales[g] & 63;
      min = scales[g + 4] & 63;
    } else {
      scale = (scales[g + 4] & 0xf) | ((scales[g - 4] >> 6) << 4);
      min = (scales[g + 4] >> 4) | ((scales[g] >> 6) << 4);
    }
    const float group_scale = d * float(scale);
    const float group_min = dmin * float(min);
    // The chunk starts 16-byte aligned: 144-byte blocks from an aligned row.
    const uint4* chunk = reinterpret_cast<const uint4*>(block + 16 + 32 * (g / 2));
    const int shift = (g & 1) * 4;
#pragma unroll
    for (int i = 0; i < 2; ++i) {
      const uint4 bits = chunk[i];
      const uint32_t words[4] = {bits.x, bits.y, bits.z, bits.w};
#pragma unroll
      for (int w = 0; w < 4; ++w) {
#pragma unroll
        for (int b = 0; b < 4; ++b) {
          const int q = int((words[w] >> (8 * b + shift)) & 0xf);
          // Rounded as the CPU rounds it (no fused multiply-add), so decoding is exact.
          v[16 * i + 4 * w + b] = __fsub_rn(__fmul_rn(group_scale, float(q)), group_min);
        }
      }
    }
  }
};

// Q6_K: a 210-byte super-block of 256: 128 bytes of low nibbles, 64 bytes of high bit
// pairs, sixteen int8 scales (one per 16 elements) and d (F16). Each half of 128 elements
// has its quarters j = 0..3 in: low nibbles of ql[l] / ql[l + 32], high nibbles of the same,
// high bits (qh[l] >> 2j) & 3; element = d * scale * (q - 32).
template <>
struct Format<DeviceWeightType::kQ6_K> {
  __device__ static void part(const uint8_t* row, int64_t n_parts, int64_t p, float (&v)[kPart]) {
    const uint8_t* block = row + (p / 8) * 210;
    const int g = int(p % 8);
    const int half = g / 4;
    const int quarter = g % 4;
    uint8_t low[32];
    uint8_t high[32];
    load_bytes(block + 64 * half + 32 * (quarter & 1), low);
    load_bytes(block + 128 + 32 * half, high);
    const uint16_t scale_pair = load_u16(block + 192 + 8 * half + 2 * quarter);
    const float d = half_bits_to_float(load_u16(block + 208));
    const float scale0 = d * float(int8_t(scale_pair & 0xff));
    const float scale1 = d * float(int8_t(scale_pair >> 8));
    const int low_shift = (quarter >> 1) * 4;
    const int high_shift = 2 * quarter;
#pragma unroll
    for (int l = 0; l < 32; ++l) {
      const int q = int(((low[l] >> low_shift) & 0xf) | (((high[l] >> high_shift) & 3) << 4)) - 32;
      v[l] = (l < 16 ? scale0 : scale1) * float(q);
    }
  }
};

__device__ inline float warp_sum(float value) {
#pragma unroll
  for (int offset = kWarp / 2; offset > 0; offset /= 2) {
    value += __shfl_xor_sync(0xffffffffu, value, offset);
  }
  return value;
}

__device__ inline float warp_max(float value) {
#pragma unroll
  for (int offset = kWarp / 2; offset > 0; offset /= 2) {
    value = fmaxf(value, __shfl_xor_sync(0xffffffffu, value, offset));
  }
  return value;
}

// The sum (or max) over a block's threads; every thread gets it. `scratch` holds a float
// per warp; the block is a whole number of warps.
template <bool kMax>
__device__ float block_reduce(float value, float* scratch) {
  const int lane = threadIdx.x % kWarp;
  const int warp = threadIdx.x / kWarp;
  const int n_warps = blockDim.x / kWarp;
  value = kMax ? warp_max(value) : warp_sum(value);
  __syncthreads();  // scratch may still be read from a previous reduction
  if (lane == 0) scratch[warp] = value;
  __syncthreads();
  float total = kMax ? -INFINITY : 0.0f;
  for (int w = 0; w < n_warps; ++w) total = kMax ? fmaxf(total, scratch[w]) : total + scratch[w];
  return total;
}

// Columns of the activations staged in shared memory at a time: one part for each lane.
constexpr int kChunkColumns = kPart * kWarp;
// Staged as [token][element k of a part][part], a part's elements 33 floats apart, so that
// the lanes (one part each) read consecutive words and the staging writes hit distinct banks.
constexpr int kChunkStride = kWarp + 1;

template <DeviceWeightType T, int kTile>
__global__ void __launch_bounds__(kRowsPerBlock* kWarp)
    matmul_kernel(const uint8_t* __restrict__ w, size_t row_bytes, int64_t rows, int64_t cols,
                  const float* __restrict__ x, int64_t n_tokens, float* __restrict__ y) {
  __shared__ float chunk[kTile * kPart * kChunkStride];
  const int lane = threadIdx.x % kWarp;
  const int64_t row = int64_t(blockIdx.x) * kRowsPerBlock + threadIdx.x / kWarp;
  const bool has_row = row < rows;  // every warp stages and syncs; only these compute
  const int64_t first_token = int64_t(blockIdx.y) * kTile;
  const int tokens = int(min64(kTile, n_tokens - first_token));
  const uint8_t* w_row = w + (has_row ? row : 0) * row_bytes;
  const int64_t n_parts = (cols + kPart - 1) / kPart;
  float acc[kTile];
#pragma unroll
  for (int t = 0; t < kTile; ++t) acc[t] = 0.0f;
  // Every part this lane will decode is asked of L2 now, so that the row's reads are in
  // flight together rather than one chunk at a time behind the barriers.
  if (has_row) {
    const size_t part_bytes = row_bytes / size_t(n_parts);
    for (int64_t p = lane; p < n_parts; p += kWarp) {
      asm volatile("prefetch.global.L2 [%0];" ::"l"(w_row + size_t(p) * part_bytes));
    }
  }
  for (int64_t first_col = 0; first_col < cols; first_col += kChunkColumns) {
    __syncthreads();  // the previous chunk is read
    for (int i = threadIdx.x; i < kTile * kChunkColumns; i += blockDim.x) {
      const int t = i / kChunkColumns;
      const int c = i % kChunkColumns;
      const int64_t col = first_col + c;
      chunk[t * kPart * kChunkStride + (c % kPart) * kChunkStride + c / kPart] =
          t < tokens && col < cols ? x[(first_token + t) * cols + col] : 0.0f;
    }
    __syncthreads();
    const int64_t p = first_col / kPart + lane;
    if (!has_row || p >= n_parts) continue;
    // F32 and F16 rows are padded with zeros past `cols`, as the staged activations are, so
    // a row's last part adds only zeros there.
    float v[kPart];
    Format<T>::part(w_row, n_parts, p, v);
#pragma unroll
    for (int t = 0; t < kTile; ++t) {
      const float* xt = chunk + t * kPart * kChunkStride + lane;
      float sum = 0.0f;
#pragma unroll
      for (int i = 0; i < kPart; i += 4) {
        sum += v[i] * xt[i * kChunkStride] + v[i + 1] * xt[(i + 1) * kChunkStride] +
               v[i + 2] * xt[(i + 2) * kChunkStride] + v[i + 3] * xt[(i + 3) * kChunkStride];
      }
      acc[t] += sum;
    }
  }
#pragma unroll
  for (int t = 0; t < kTile; ++t) {
    const float sum = warp_sum(acc[t]);
    if (has_row && lane == 0 && t < tokens) y[(first_token + t) * rows + row] = sum;
  }
}

template <DeviceWeightType T>
__global__ void dequantize_kernel(const uint8_t* __restrict__ w, size_t row_bytes, int64_t cols,
                                  float* __restrict__ out) {
  const int64_t row = blockIdx.x;
  const int64_t n_parts = (cols + kPart - 1) / kPart;
  for (int64_t p = threadIdx.x; p < n_parts; p += blockDim.x) {
    float v[kPart];
    Format<T>::part(w + row * row_bytes, n_parts, p, v);
    const int valid = int(min64(kPart, cols - p * kPart));
    float* dst = out + row * cols + p * kPart;
    if (valid == kPart && cols % 4 == 0) {
#pragma unroll
      for (int i = 0; i < kPart / 4; ++i) {
        reinterpret_cast<float4*>(dst)[i] =
            make_float4(v[4 * i], v[4 * i + 1], v[4 * i + 2], v[4 * i + 3]);
      }
    } else {
#pragma unroll
      for (int i = 0; i < kPart; ++i) {
        if (i < valid) dst[i] = v[i];
      }
    }
  }
}

template <DeviceWeightType T, int kTile>
void matmul_tiled(const DeviceMatrix& w, const float* x, int64_t n_tokens, float* y,
                  cudaStream_t stream) {
  const dim3 grid(unsigned((w.rows + kRowsPerBlock - 1) / kRowsPerBlock),
                  unsigned((n_tokens + kTile - 1) / kTile));
  matmul_kernel<T, kTile><<<grid, kRowsPerBlock * kWarp, 0, stream>>>(w.data, w.row_bytes, w.rows,
                                                                      w.cols, x, n_tokens, y);
}

template <DeviceWeightType T>
void matmul_of(const DeviceMatrix& w, const float* x, int64_t n_tokens, float* y,
               cudaStream_t stream) {
  // The smallest tile that holds the tokens, up to 8 (a prompt goes in tiles of 8).
  if (n_tokens == 1) return matmul_tiled<T, 1>(w, x, n_tokens, y, stream);
  if (n_tokens == 2) return matmul_tiled<T, 2>(w, x, n_tokens, y, stream);
  if (n_tokens <= 4) return matmul_tiled<T, 4>(w, x, n_tokens, y, stream);
  matmul_tiled<T, 8>(w, x, n_tokens, y, stream);
}

// x += y, then out = RMSNorm(x) * weight, a row per block: each thread norms the elements it
// added, so no barrier is needed between the two.
__global__ void add_rms_norm_kernel(float* __restrict__ x, const float* __restrict__ y,
                                    const float* __restrict__ weight, float* __restrict__ out,
                                    int64_t n, float eps) {
  __shared__ float scratch[kWarp];
  float* row = x + int64_t(blockIdx.x) * n;
  const float* add = y + int64_t(blockIdx.x) * n;
  float sum = 0.0f;
  for (int64_t i = threadIdx.x; i < n; i += blockDim.x) {
    row[i] += add[i];
    sum += row[i] * row[i];
  }
  sum = block_reduce<false>(sum, scratch);
  const float scale = 1.0f / sqrtf(sum / float(n) + eps);
  float* dst = out + int64_t(blockIdx.x) * n;
  for (int64_t i = threadIdx.x; i < n; i += blockDim.x) dst[i] = (row[i] * scale) * weight[i];
}

__global__ void rms_norm_kernel(const float* __restrict__ x, const int32_t* __restrict__ rows,
                                const float* __restrict__ weight, float* __restrict__ out,
                                int64_t n, float eps) {
  __shared__ float scratch[kWarp];
  const int64_t row = rows ? rows[blockIdx.x] : blockIdx.x;
  const float* in = x + row * n;
  float sum = 0.0f;
  for (int64_t i = threadIdx.x; i < n; i += blockDim.x) sum += in[i] * in[i];
  sum = block_reduce<false>(sum, scratch);
  const float scale = 1.0f / sqrtf(sum / float(n) + eps);
  float* dst = out + int64_t(blockIdx.x) * n;
  for (int64_t i = threadIdx.x; i < n; i += blockDim.x) dst[i] = (in[i] * scale) * weight[i];
}

__global__ void add_bias_kernel(float* __restrict__ values, const float* __restrict__ bias,
                                int64_t total, int64_t n) {
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < total;
       i += int64_t(gridDim.x) * blockDim.x) {
    values[i] += bias[i % n];
  }
}

template <typename Cache>
__device__ inline Cache to_cache(float value);
template <>
__device__ inline float to_cache<float>(float value) {
  return value;
}
template <>
__device__ inline __half to_cache<__half>(float value) {
  return __float2half_rn(value);
}
__device__ inline float from_cache(float value) {
  return value;
}
__device__ inline float from_cache(__half value) {
  return __half2float(value);
}

__device__ inline int64_t cache_offset(const AttentionShape& shape, int32_t n_ctx, int kv_head,
                                       int64_t pos) {
  return ((int64_t(shape.layer) * shape.n_head_kv + kv_head) * n_ctx + pos) * shape.head_dim;
}

// Rotates the heads of q and k of a token (a block per token) by its position, then writes
// its k and v into its sequence's cache, rounded to the cache type.
template <typename Cache>
__global__ void rope_store_kernel(float* __restrict__ q, float* __restrict__ k,
                                  const float* __restrict__ v,
                                  const DeviceToken* __restrict__ tokens,
                                  const DeviceCache* __restrict__ caches, AttentionShape shape,
                                  int32_t n_rot, float theta_scale, bool neox) {
  const DeviceToken token = tokens[blockIdx.x];
  const int half_rot = n_rot / 2;
  const int heads = shape.n_head + shape.n_head_kv;
  for (int task = threadIdx.x; task < heads * half_rot; task += blockDim.x) {
    const int head = task / half_rot;
    const int i = task % half_rot;
    float* vec =
        head < shape.n_head
            ? q + (int64_t(blockIdx.x) * shape.n_head + head) * shape.head_dim
            : k + (int64_t(blockIdx.x) * shape.n_head_kv + head - shape.n_head) * shape.head_dim;
    // The angle grows by repeated multiplication, as the CPU path makes it.
    float theta = float(token.pos);
    for (int step = 0; step < i; ++step) theta *= theta_scale;
    const float c = cosf(theta);
    const float s = sinf(theta);
    const int a = neox ? i : 2 * i;
    const int b = neox ? i + half_rot : 2 * i + 1;
    const float x0 = vec[a];
    const float x1 = vec[b];
    vec[a] = x0 * c - x1 * s;
    vec[b] = x0 * s + x1 * c;
  }
  __syncthreads();  // every key is rotated
  const DeviceCache cache = caches[token.cache];
  const int n_embd_kv = shape.n_head_kv * shape.head_dim;
  for (int e = threadIdx.x; e < n_embd_kv; e += blockDim.x) {
    const int64_t at =
        cache_offset(shape, cache.n_ctx, e / shape.head_dim, token.pos) + e % shape.head_dim;
    static_cast<Cache*>(cache.keys)[at] = to_cache<Cache>(k[int64_t(blockIdx.x) * n_embd_kv + e]);
    static_cast<Cache*>(cache.values)[at] = to_cache<Cache>(v[int64_t(blockIdx.x) * n_embd_kv + e]);
  }
}

// A key row (head_dim elements of the cache type) dotted with the query.
__device__ inline float key_dot(const float* key, const float* query, int head_dim) {
  float dot = 0.0f;
  for (int d = 0; d < head_dim; ++d) dot += query[d] * key[d];
  return dot;
}

__device__ inline float key_dot(const __half* key, const float* query, int head_dim) {
  float dot = 0.0f;
  if (head_dim % 8 == 0) {
    for (int d = 0; d < head_dim; d += 8) {
      const uint4 bits = *reinterpret_cast<const uint4*>(key + d);
      const uint32_t words[4] = {bits.x, bits.y, bits.z, bits.w};
#pragma unroll
      for (int w = 0; w < 4; ++w) {
        const float2 pair = __half22float2(*reinterpret_cast<const __half2*>(&words[w]));
        dot += query[d + 2 * w] * pair.x + query[d + 2 * w + 1] * pair.y;
      }
    }
  } else {
    for (int d = 0; d < head_dim; ++d) dot += query[d] * __half2float(key[d]);
  }
  return dot;
}

constexpr int kAttentionMaxWarps = 32;
constexpr int kAttentionMinWarps = 8;
constexpr int kMaxHeadDim = 256;
constexpr int kDimsPerLane = kMaxHeadDim / kWarp;

// The warps that attend for a token with n_kv positions: a warp per 8 positions, from 8 to
// 32 (a decode step's single token wants many: 32 blocks of 8 warps left most of an H100
// idle). It depends on the token alone, so the order of its sums, and so its result bits, do not
// depend on the tokens it is launched with.
__host__ __device__ inline int attention_warps(int n_kv) {
  const int warps = (n_kv + 7) / 8;
  return warps < kAttentionMinWarps   ? kAttentionMinWarps
         : warps > kAttentionMaxWarps ? kAttentionMaxWarps
                                      : warps;
}

// One block per (head, token), as many threads as its longest token needs; a token uses
// attention_warps(n_kv) of them, the others only keep the barriers. For the weighted sum of
// values each warp takes every n_warps-th position and its lanes the head's dimensions
// (lane, lane + 32, ...), so each value row is read as one coalesced load. Shared memory: one
// score per position, then the query (rounded to the cache type, as the CPU path rounds it)
// and later each warp's partial sums.
template <typename Cache>
__global__ void __launch_bounds__(kAttentionMaxWarps* kWarp)
    attention_kernel(const float* __restrict__ q, const DeviceToken* __restrict__ tokens,
                     const DeviceCache* __restrict__ caches, AttentionShape shape,
                     float* __restrict__ out) {
  extern __shared__ float shared[];
  __shared__ float scratch[kWarp];
  const int head = blockIdx.x;
  const int64_t t = blockIdx.y;
  const int lane = threadIdx.x % kWarp;
  const int warp = threadIdx.x / kWarp;
  const DeviceToken token = tokens[t];
  const DeviceCache cache = caches[token.cache];
  const int head_dim = shape.head_dim;
  const int kv_head = head / (shape.n_head / shape.n_head_kv);
  const int n_kv = token.pos + 1;
  const int n_warps = attention_warps(n_kv);
  const int n_threads = n_warps * kWarp;
  const bool attends = int(threadIdx.x) < n_threads;
  float* scores = shared;
  float* partial = scores + n_kv;  // [n_warps][head_dim]

  const float* q_head = q + (t * shape.n_head + head) * head_dim;
  const Cache* keys =
      static_cast<const Cache*>(cache.keys) + cache_offset(shape, cache.n_ctx, kv_head, 0);
  const Cache* values =
      static_cast<const Cache*>(cache.values) + cache_offset(shape, cache.n_ctx, kv_head, 0);
  const float scale = 1.0f / sqrtf(float(head_dim));

  // Scores: a thread per position, each reading its key row whole (16-byte loads of an F16
  // cache), so every position's load is in flight at once.
  float* query_shared = partial;  // free until the weighted sums
  for (int d = threadIdx.x; d < head_dim; d += blockDim.x) {
    query_shared[d] = from_cache(to_cache<Cache>(q_head[d]));
  }
  __syncthreads();
  float local_max = -INFINITY;
  for (int pos = threadIdx.x; attends && pos < n_kv; pos += n_threads) {
    const float dot = key_dot(keys + int64_t(pos) * head_dim, query_shared, head_dim) * scale;
    scores[pos] = dot;
    local_max = fmaxf(local_max, dot);
  }
  // The idle warps add -inf and 0 last, which change nothing.
  const float max_score = block_reduce<true>(local_max, scratch);  // syncs: scores are in
  float local_sum = 0.0f;
  for (int pos = threadIdx.x; attends && pos < n_kv; pos += n_threads) {
    scores[pos] = expf(scores[pos] - max_score);
    local_sum += scores[pos];
  }
  const float inv_total = 1.0f / block_reduce<false>(local_sum, scratch);
  for (int pos = threadIdx.x; pos < n_kv; pos += blockDim.x) {
    scores[pos] = from_cache(to_cache<Cache>(scores[pos] * inv_total));
  }
  __syncthreads();

  float sum[kDimsPerLane] = {};
#pragma unroll 4
  for (int pos = warp; warp < n_warps && pos < n_kv; pos += n_warps) {
    const Cache* value = values + int64_t(pos) * head_dim;
    const float weight = scores[pos];
#pragma unroll
    for (int j = 0; j < kDimsPerLane; ++j) {
      const int d = lane + j * kWarp;
      if (d < head_dim) sum[j] += weight * from_cache(value[d]);
    }
  }
#pragma unroll
  for (int j = 0; j < kDimsPerLane; ++j) {
    const int d = lane + j * kWarp;
    if (warp < n_warps && d < head_dim) partial[warp * head_dim + d] = sum[j];
  }
  __syncthreads();
  float* dst = out + (t * shape.n_head + head) * head_dim;
  for (int d = threadIdx.x; d < head_dim; d += blockDim.x) {
    float total = 0.0f;
    for (int w = 0; w < n_warps; ++w) total += partial[w * head_dim + d];
    dst[d] = total;
  }
}

__global__ void silu_mul_kernel(float* __restrict__ gate, const float* __restrict__ up, int64_t n) {
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n;
       i += int64_t(gridDim.x) * blockDim.x) {
    const float g = gate[i];
    gate[i] = g / (1.0f + expf(-g)) * up[i];
  }
}

__global__ void add_kernel(float* __restrict__ x, const float* __restrict__ y, int64_t n) {
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n;
       i += int64_t(gridDim.x) * blockDim.x) {
    x[i] += y[i];
  }
}

// Calls fn with std::integral_constant<DeviceWeightType, type>: one switch for every launch
// that instantiates a kernel per weight format.
template <typename Fn>
void with_format(DeviceWeightType type, const Fn& fn) {
  using T = DeviceWeightType;
  switch (type) {
    case T::kF32:
      return fn(std::integral_constant<T, T::kF32>{});
    case T::kF16:
      return fn(std::integral_constant<T, T::kF16>{});
    case T::kQ8_0:
      return fn(std::integral_constant<T, T::kQ8_0>{});
    case T::kQ4_0:
      return fn(std::integral_constant<T, T::kQ4_0>{});
    case T::kQ4_K:
      return fn(std::integral_constant<T, T::kQ4_K>{});
    case T::kQ6_K:
      return fn(std::integral_constant<T, T::kQ6_K>{});
  }
}

unsigned elementwise_blocks(int64_t n) {
  return unsigned(std::min<int64_t>((n + 255) / 256, 4096));
}

}  // namespace

void launch_matmul(const DeviceMatrix& w, const float* x, int64_t n_tokens, float* y,
                   cudaStream_t stream) {
  with_format(w.type,
              [&](auto format) { matmul_of<decltype(format)::value>(w, x, n_tokens, y, stream); });
}

void launch_dequantize(const DeviceMatrix& w, float* out, cudaStream_t stream) {
  with_format(w.type, [&](auto format) {
    dequantize_kernel<decltype(format)::value>
        <<<unsigned(w.rows), kWarp, 0, stream>>>(w.data, w.row_bytes, w.cols, out);
  });
}

void launch_rms_norm(const float* x, const int32_t* rows, const float* weight, float* out,
                     int64_t n_rows, int64_t n, float eps, cudaStream_t stream) {
  rms_norm_kernel<<<unsigned(n_rows), 256, 0, stream>>>(x, rows, weight, out, n, eps);
}

void launch_add_rms_norm(float* x, const float* y, const float* weight, float* out, int64_t n_rows,
                         int64_t n, float eps, cudaStream_t stream) {
  add_rms_norm_kernel<<<unsigned(n_rows), 256, 0, stream>>>(x, y, weight, out, n, eps);
}

void launch_add_bias(float* values, const float* bias, int64_t n_tokens, int64_t n,
                     cudaStream_t stream) {
  add_bias_kernel<<<elementwise_blocks(n_tokens * n), 256, 0, stream>>>(values, bias, n_tokens * n,
                                                                        n);
}

void launch_rope_and_store(float* q, float* k, const float* v, const DeviceToken* tokens,
                           int64_t n_tokens, const DeviceCache* caches, const AttentionShape& shape,
                           int32_t n_rot, float freq_base, bool neox, cudaStream_t stream) {
  // On the host, with the same std::pow the CPU path uses.
  const float theta_scale = std::pow(freq_base, -2.0f / float(n_rot));
  if (shape.f16_cache) {
    rope_store_kernel<__half><<<unsigned(n_tokens), 256, 0, stream>>>(
        q, k, v, tokens, caches, shape, n_rot, theta_scale, neox);
  } else {
    rope_store_kernel<float><<<unsigned(n_tokens), 256, 0, stream>>>(q, k, v, tokens, caches, shape,
                                                                     n_rot, theta_scale, neox);
  }
}

size_t attention_shared_bytes(int32_t positions, int32_t head_dim) {
  return sizeof(float) * (size_t(positions) + size_t(kAttentionMaxWarps) * size_t(head_dim));
}

int32_t attention_max_head_dim() {
  return kMaxHeadDim;
}

cudaError_t allow_attention_shared_bytes(size_t block_limit, size_t* dynamic_limit) {
  // The opt-in limit covers the kernel's static shared memory too.
  size_t usable = block_limit;
  for (const void* kernel : {reinterpret_cast<const void*>(attention_kernel<__half>),
                             reinterpret_cast<const void*>(attention_kernel<float>)}) {
    cudaFuncAttributes attributes{};
    cudaError_t status = cudaFuncGetAttributes(&attributes, kernel);
    if (status != cudaSuccess) return status;
    usable = std::min(usable, block_limit - attributes.sharedSizeBytes);
  }
  for (const void* kernel : {reinterpret_cast<const void*>(attention_kernel<__half>),
                             reinterpret_cast<const void*>(attention_kernel<float>)}) {
    cudaError_t status =
        cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, int(usable));
    if (status != cudaSuccess) return status;
  }
  *dynamic_limit = usable;
  return cudaSuccess;
}

void launch_attention(const float* q, const DeviceToken* tokens, int64_t n_tokens,
                      const DeviceCache* caches, const AttentionShape& shape, int32_t max_positions,
                      float* out, cudaStream_t stream) {
  const dim3 grid(unsigned(shape.n_head), unsigned(n_tokens));
  const unsigned threads = unsigned(attention_warps(max_positions) * kWarp);
  const size_t shared = attention_shared_bytes(max_positions, shape.head_dim);
  if (shape.f16_cache) {
    attention_kernel<__half><<<grid, threads, shared, stream>>>(q, tokens, caches, shape, out);
  } else {
    attention_kernel<float><<<grid, threads, shared, stream>>>(q, tokens, caches, shape, out);
  }
}

void launch_silu_mul(float* gate, const float* up, int64_t n, cudaStream_t stream) {
  silu_mul_kernel<<<elementwise_blocks(n), 256, 0, stream>>>(gate, up, n);
}

void launch_add(float* x, const float* y, int64_t n, cudaStream_t stream) {
  add_kernel<<<elementwise_blocks(n), 256, 0, stream>>>(x, y, n);
}

}  // namespace rbee::engine::gpu
