// The CUDA forward pass: weights uploaded once into one device allocation, a KV cache per
// session, and per slice of tokens the same steps as the CPU's forward_slice, each a kernel
// launch on one stream (cuda_kernels.hpp). The host only looks up embedding rows and copies
// the wanted logits back.

#include "engine/gpu/cuda_forward.hpp"

#include <cublas_v2.h>
#include <cuda_runtime_api.h>

#include <algorithm>
#include <cstring>
#include <initializer_list>
#include <mutex>
#include <string>
#include <unordered_map>
#include <utility>

#include "engine/gguf/mapped_file.hpp"
#include "engine/gpu/cuda_kernels.hpp"
#include "engine/kernels/float16.hpp"
#include "engine/kernels/kernel_table.hpp"
#include "engine/model/matmul.hpp"

namespace rbee::engine::gpu {
namespace {

using kernels::KernelType;

Error cuda_error(const char* what, cudaError_t status) {
  const ErrorCode code =
      status == cudaErrorMemoryAllocation ? ErrorCode::kResourceExhausted : ErrorCode::kInternal;
  return Error{code, std::string("cuda: ") + what + ": " + cudaGetErrorString(status)};
}

#define RBEE_CUDA_TRY(expr)                                                 \
  do {                                                                      \
    if (const cudaError_t rbee_status = (expr); rbee_status != cudaSuccess) \
      return cuda_error(#expr, rbee_status);                                \
  } while (0)

// Memory from `Allocate`, freed with its owner by `Free`: device memory, or page-locked host
// memory (asynchronous copies need it).
template <cudaError_t (*Allocate)(void**, size_t), cudaError_t (*Free)(void*)>
class CudaBuffer {
 public:
  CudaBuffer() = default;
  CudaBuffer(const CudaBuffer&) = delete;
  CudaBuffer& operator=(const CudaBuffer&) = delete;
  CudaBuffer(CudaBuffer&& other) noexcept
      : data_(std::exchange(other.data_, nullptr)), bytes_(std::exchange(other.bytes_, 0)) {}
  CudaBuffer& operator=(CudaBuffer&& other) noexcept {
    std::swap(data_, other.data_);
    std::swap(bytes_, other.bytes_);
    return *this;
  }
  ~CudaBuffer() {
    if (data_) Free(data_);
  }

  // Makes it at least `bytes` long; the contents are lost when it grows.
  Status reserve(size_t bytes) {
    if (bytes <= bytes_) return ok_status();
    if (data_) Free(std::exchange(data_, nullptr));
    bytes_ = 0;
    RBEE_CUDA_TRY(Allocate(&data_, bytes));
    bytes_ = bytes;
    return ok_status();
  }
  template <typename T = uint8_t>
  T* get() const {
    return static_cast<T*>(data_);
  }

 private:
  void* data_ = nullptr;
  size_t bytes_ = 0;
};

using DeviceBuffer = CudaBuffer<cudaMalloc, cudaFree>;
using PinnedBuffer = CudaBuffer<cudaMallocHost, cudaFreeHost>;

size_t round_up(size_t value, size_t multiple) {
  return (value + multiple - 1) / multiple * multiple;
}

// How a file matrix is kept on the device.
struct DeviceLayout {
  DeviceWeightType type;
  size_t row_bytes;
  bool converted;  // decoded on the CPU at load (a type the kernels do not read)
  // Blocks of `block_bytes` whose first 2 bytes (the F16 scale) move behind all of the row's
  // quantized bytes (Q8_0 and Q4_0: see their Format in cuda_kernels.cu); 0 for none.
  size_t split_block_bytes = 0;
};

DeviceLayout device_layout(const GgufTensor& tensor) {
  const size_t cols = tensor.dims[0];
  const size_t padded = round_up(cols, 32);
  switch (KernelType(tensor.type)) {
    case KernelType::kF32:
      return {DeviceWeightType::kF32, padded * 4, false};
    case KernelType::kF16:
      return {DeviceWeightType::kF16, padded * 2, false};
    case KernelType::kQ8_0:
      return {DeviceWeightType::kQ8_0, round_up(cols / 32 * 34, 16), false, 34};
    case KernelType::kQ4_0:
      return {DeviceWeightType::kQ4_0, round_up(cols / 32 * 18, 16), false, 18};
    case KernelType::kQ4_K:
      return {DeviceWeightType::kQ4_K, cols / 256 * 144, false};
    case KernelType::kQ6_K:
      return {DeviceWeightType::kQ6_K, cols / 256 * 210, false};
    case KernelType::kBF16:  // F16 would not hold BF16's range
      return {DeviceWeightType::kF32, padded * 4, true};
    default:
      return {DeviceWeightType::kF16, padded * 2, true};
  }
}

// Copies `tensor` to `dst` in its device layout (`staging`: host scratch).
Status upload_matrix(const GgufTensor& tensor, const DeviceLayout& layout, uint8_t* dst,
                     std::vector<uint8_t>& staging) {
  const int64_t cols = int64_t(tensor.dims[0]);
  const int64_t rows = int64_t(tensor.dims[1]);
  const size_t file_row_bytes = tensor.n_bytes / size_t(rows);
  if (layout.split_block_bytes > 0) {
    // Each block's quantized bytes side by side, then the scales.
    const size_t block = layout.split_block_bytes;
    const size_t n_blocks = file_row_bytes / block;
    staging.assign(layout.row_bytes * size_t(rows), 0);
    for (int64_t r = 0; r < rows; ++r) {
      const uint8_t* in = tensor.data + size_t(r) * file_row_bytes;
      uint8_t* out = staging.data() + size_t(r) * layout.row_bytes;
      for (size_t b = 0; b < n_blocks; ++b) {
        std::memcpy(out + b * (block - 2), in + b * block + 2, block - 2);
        std::memcpy(out + n_blocks * (block - 2) + b * 2, in + b * block, 2);
      }
    }
    RBEE_CUDA_TRY(cudaMemcpy(dst, staging.data(), staging.size(), cudaMemcpyHostToDevice));
    return ok_status();
  }
  if (!layout.converted) {
    RBEE_CUDA_TRY(cudaMemcpy2D(dst, layout.row_bytes, tensor.data, file_row_bytes, file_row_bytes,
                               size_t(rows), cudaMemcpyHostToDevice));
    return ok_status();
  }
  // Decoded a block of rows at a time, padded with zeros.
  constexpr int64_t kRowsPerCopy = 256;
  std::vector<float> row(static_cast<size_t>(cols));
  staging.assign(layout.row_bytes * size_t(kRowsPerCopy), 0);
  for (int64_t first = 0; first < rows; first += kRowsPerCopy) {
    const int64_t count = std::min(kRowsPerCopy, rows - first);
    for (int64_t r = 0; r < count; ++r) {
      dequantize_row(tensor, first + r, row.data());
      uint8_t* out = staging.data() + size_t(r) * layout.row_bytes;
      if (layout.type == DeviceWeightType::kF32) {
        std::memcpy(out, row.data(), row.size() * sizeof(float));
      } else {
        auto* halves = reinterpret_cast<uint16_t*>(out);
        for (int64_t c = 0; c < cols; ++c) halves[c] = kernels::fp32_to_fp16(row[size_t(c)]);
      }
    }
    RBEE_CUDA_TRY(cudaMemcpy(dst + size_t(first) * layout.row_bytes, staging.data(),
                             size_t(count) * layout.row_bytes, cudaMemcpyHostToDevice));
  }
  return ok_status();
}

// Lays out the weights in one allocation: matrices and float vectors at 256-byte offsets.
class WeightArena {
 public:
  size_t add(size_t bytes) {
    const size_t offset = size_;
    size_ = round_up(size_ + bytes, 256);
    return offset;
  }
  size_t size() const { return size_; }

 private:
  size_t size_ = 0;
};

Status select_device(int index) {
  int count = 0;
  if (cudaGetDeviceCount(&count) != cudaSuccess || count == 0) {
    cudaGetLastError();  // clears the sticky "no device" error
    return Error{ErrorCode::kUnavailable, "cuda:" + std::to_string(index) +
                                              ": no CUDA device is usable here (is the NVIDIA "
                                              "driver loaded?)"};
  }
  if (index < 0 || index >= count) {
    return Error{ErrorCode::kUnavailable, "cuda:" + std::to_string(index) + ": this machine has " +
                                              std::to_string(count) + " CUDA device(s)"};
  }
  RBEE_CUDA_TRY(cudaSetDevice(index));
  return ok_status();
}

struct DeviceLayer {
  DeviceMatrix wq, wk, wv, wo, gate, up, down;
  // Q, K and V (gate and up) as one matrix where the upload put them back to back with one
  // layout: a single token's products are then one launch, its results side by side.
  // data is nullptr where they are not.
  DeviceMatrix qkv, gate_up;
  const float* attn_norm = nullptr;
  const float* ffn_norm = nullptr;
  const float* bq = nullptr;  // qwen2 only
  const float* bk = nullptr;
  const float* bv = nullptr;
};

// Tokens a forward step takes at most (bounds the scratch memory: about 100 KiB a token for
// a 1.1B model, plus the logits rows).
constexpr int64_t kMaxSliceTokens = 512;
// Tokens from which a product goes through cuBLAS rather than the matrix-vector kernel.
constexpr int64_t kGemmMinTokens = 16;

class CudaForward final : public DeviceForward {
 public:
  CudaForward(const Model& model, int index) : model_(model), index_(index) {}
  ~CudaForward() override {
    caches_.clear();
    if (blas_) cublasDestroy(blas_);
    if (stream_) cudaStreamDestroy(stream_);
  }

  Status init() {
    RBEE_RETURN_IF_ERROR(select_device(index_));
    cudaDeviceProp props{};
    RBEE_CUDA_TRY(cudaGetDeviceProperties(&props, index_));
    description_ = "cuda:" + std::to_string(index_) + " (" + props.name + ")";
    RBEE_CUDA_TRY(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking));
    if (cublasCreate(&blas_) != CUBLAS_STATUS_SUCCESS ||
        cublasSetStream(blas_, stream_) != CUBLAS_STATUS_SUCCESS) {
      return Error{ErrorCode::kInternal, description_ + ": cuBLAS would not start"};
    }
    const ModelHParams& hp = model_.hparams();
    if (hp.head_dim() > attention_max_head_dim()) {
      return Error{ErrorCode::kInvalidArgument,
                   description_ + ": heads of " + std::to_string(hp.head_dim()) +
                       " dimensions are over the " + std::to_string(attention_max_head_dim()) +
                       " the attention kernel takes"};
    }
    size_t shared_limit = 0;
    RBEE_CUDA_TRY(allow_attention_shared_bytes(props.sharedMemPerBlockOptin, &shared_limit));
    max_positions_ = 0;
    while (attention_shared_bytes(int32_t(max_positions_ + 1024), int32_t(hp.head_dim())) <=
           shared_limit) {
      max_positions_ += 1024;
    }
    return upload_weights();
  }

  std::string description() const override { return description_; }
  size_t weight_bytes() const override { return weight_bytes_; }

  Status check_session(int64_t n_ctx, KvType /*kv_type*/) const override {
    if (n_ctx > max_positions_) {
      return Error{ErrorCode::kInvalidArgument,
                   "a context of " + std::to_string(n_ctx) + " positions is over the " +
                       std::to_string(max_positions_) + " that attention on " + description_ +
                       " holds"};
    }
    return ok_status();
  }

  Result<std::vector<std::vector<float>>> eval(std::span<const SequenceInput> inputs) override {
    std::lock_guard lock(mutex_);
    RBEE_CUDA_TRY(cudaSetDevice(index_));
    const int64_t n_vocab = model_.hparams().n_vocab;
    const KvType kv_type = inputs[0].session->kv().type();
    for (const SequenceInput& input : inputs) {
      if (input.session->kv().type() != kv_type) {
        return Error{ErrorCode::kInvalidArgument,
                     "the sessions of one batch on " + description_ + " must share a cache type"};
      }
    }
    const bool f16_cache = kv_type == KvType::kF16;
    std::vector<std::vector<float>> logits(inputs.size());
    std::vector<Token> tokens;
    for (size_t i = 0; i < inputs.size(); ++i) {
      const SequenceInput& input = inputs[i];
      RBEE_ASSIGN_OR_RETURN(const DeviceCache* cache, cache_of(*input.session));
      const int64_t count = int64_t(input.tokens.size());
      logits[i].resize(size_t(input.logits_rows() * n_vocab));
      for (int64_t j = 0; j < count; ++j) {
        tokens.push_back({input.tokens[size_t(j)], int32_t(input.session->n_past() + j), cache, i,
                          input.logits_row(j)});
      }
    }
    for (size_t begin = 0; begin < tokens.size(); begin += size_t(kMaxSliceTokens)) {
      const size_t end = std::min(tokens.size(), begin + size_t(kMaxSliceTokens));
      RBEE_RETURN_IF_ERROR(
          forward_slice(std::span(tokens).subspan(begin, end - begin), f16_cache, logits));
    }
    return logits;
  }

  void forget(const Session& session) override {
    std::lock_guard lock(mutex_);
    cudaSetDevice(index_);
    caches_.erase(&session);
  }

 private:
  struct Token {
    int32_t id;
    int32_t pos;
    const DeviceCache* cache;
    size_t input;
    int64_t logits_row;  // in that input's logits, or -1
  };
  struct SessionCache {
    DeviceBuffer keys, values;
    DeviceCache view;
  };

  Result<const DeviceCache*> cache_of(const Session& session) {
    auto found = caches_.find(&session);
    if (found != caches_.end()) return &found->second.view;
    const ModelHParams& hp = model_.hparams();
    const KvType type = session.kv().type();
    const size_t element = type == KvType::kF16 ? 2 : 4;
    const size_t bytes =
        size_t(hp.n_layer * hp.n_head_kv * session.n_ctx() * hp.head_dim()) * element;
    SessionCache cache;
    RBEE_RETURN_IF_ERROR(cache.keys.reserve(bytes));
    RBEE_RETURN_IF_ERROR(cache.values.reserve(bytes));
    cache.view = {cache.keys.get<void>(), cache.values.get<void>(), int32_t(session.n_ctx())};
    return &caches_.emplace(&session, std::move(cache)).first->second.view;
  }

  Status upload_weights() {
    const ModelHParams& hp = model_.hparams();
    // First the layout, so that one allocation holds everything.
    WeightArena arena;
    struct Planned {
      const GgufTensor* tensor;
      DeviceLayout layout;
      size_t offset;
    };
    std::vector<Planned> matrices;
    std::unordered_map<const GgufTensor*, size_t> planned_index;
    auto plan_matrix = [&](const GgufTensor* tensor) {
      if (planned_index.count(tensor)) return;
      const DeviceLayout layout = device_layout(*tensor);
      planned_index[tensor] = matrices.size();
      matrices.push_back({tensor, layout, arena.add(layout.row_bytes * tensor->dims[1])});
    };
    struct PlannedVector {
      std::span<const float> values;
      size_t offset;
    };
    std::vector<PlannedVector> vectors;
    auto plan_vector = [&](std::span<const float> values) {
      vectors.push_back({values, arena.add(values.size_bytes())});
      return vectors.size() - 1;
    };
    struct LayerPlan {
      size_t attn_norm, ffn_norm, bq = 0, bk = 0, bv = 0;
    };
    std::vector<LayerPlan> layer_plans;
    for (int64_t l = 0; l < hp.n_layer; ++l) {
      const LayerWeights& w = model_.layer(l);
      for (const GgufTensor* m : {w.wq, w.wk, w.wv, w.wo, w.ffn_gate, w.ffn_up, w.ffn_down}) {
        plan_matrix(m);
      }
      LayerPlan plan{plan_vector(w.attn_norm), plan_vector(w.ffn_norm)};
      if (!w.bq.empty()) {
        plan.bq = plan_vector(w.bq);
        plan.bk = plan_vector(w.bk);
        plan.bv = plan_vector(w.bv);
      }
      layer_plans.push_back(plan);
    }
    plan_matrix(&model_.output());
    const size_t output_norm_index = plan_vector(model_.output_norm());

    size_t free_bytes = 0, total_bytes = 0;
    RBEE_CUDA_TRY(cudaMemGetInfo(&free_bytes, &total_bytes));
    if (arena.size() > free_bytes) {
      return Error{ErrorCode::kResourceExhausted, description_ + " has " +
                                                      std::to_string(free_bytes >> 20) +
                                                      " MiB free; the weights take " +
                                                      std::to_string(arena.size() >> 20) + " MiB"};
    }
    RBEE_RETURN_IF_ERROR(weights_.reserve(arena.size()));
    weight_bytes_ = arena.size();
    uint8_t* base = weights_.get();
    std::vector<uint8_t> staging;
    for (const Planned& m : matrices) {
      RBEE_RETURN_IF_ERROR(upload_matrix(*m.tensor, m.layout, base + m.offset, staging));
      // The CPU reads no more of it (but the embedding rows): its pages leave this process.
      if (m.tensor != &model_.token_embd()) {
        detail::release_mapped_pages(m.tensor->data, m.tensor->n_bytes);
      }
    }
    for (const PlannedVector& v : vectors) {
      RBEE_CUDA_TRY(cudaMemcpy(base + v.offset, v.values.data(), v.values.size_bytes(),
                               cudaMemcpyHostToDevice));
    }

    auto matrix = [&](const GgufTensor* tensor) {
      const Planned& m = matrices[planned_index.at(tensor)];
      return DeviceMatrix{m.layout.type, base + m.offset, m.layout.row_bytes,
                          int64_t(tensor->dims[1]), int64_t(tensor->dims[0])};
    };
    auto vector = [&](size_t index) {
      return reinterpret_cast<const float*>(base + vectors[index].offset);
    };
    for (int64_t l = 0; l < hp.n_layer; ++l) {
      const LayerWeights& w = model_.layer(l);
      const LayerPlan& plan = layer_plans[size_t(l)];
      DeviceLayer layer{matrix(w.wq),       matrix(w.wk),     matrix(w.wv),      matrix(w.wo),
                        matrix(w.ffn_gate), matrix(w.ffn_up), matrix(w.ffn_down)};
      layer.attn_norm = vector(plan.attn_norm);
      layer.ffn_norm = vector(plan.ffn_norm);
      if (!w.bq.empty()) {
        layer.bq = vector(plan.bq);
        layer.bk = vector(plan.bk);
        layer.bv = vector(plan.bv);
      }
      layer.qkv = stacked({layer.wq, layer.wk, layer.wv});
      layer.gate_up = stacked({layer.gate, layer.up});
      layers_.push_back(layer);
    }
    output_ = matrix(&model_.output());
    output_norm_ = vector(output_norm_index);
    return ok_status();
  }

  // y[t] = w x[t] for n tokens. A few tokens go through the matrix-vector kernel, which reads
  // the weights as stored; from kGemmMinTokens on, the matrix is decoded to floats once and
  // multiplied by cuBLAS (FP32, no TF32), which reuses each weight for every token.
  Status multiply(const DeviceMatrix& w, const float* x, int64_t n, float* y) {
    if (n < kGemmMinTokens) {
      launch_matmul(w, x, n, y, stream_);
      return ok_status();
    }
    RBEE_RETURN_IF_ERROR(decoded_.reserve(size_t(w.rows * w.cols) * sizeof(float)));
    launch_dequantize(w, decoded_.get<float>(), stream_);
    const float one = 1.0f, zero = 0.0f;
    // Column-major view: the weights are cols x rows, the tokens cols x n, y rows x n.
    const cublasStatus_t status =
        cublasSgemm(blas_, CUBLAS_OP_T, CUBLAS_OP_N, int(w.rows), int(n), int(w.cols), &one,
                    decoded_.get<float>(), int(w.cols), x, int(w.cols), &zero, y, int(w.rows));
    if (status != CUBLAS_STATUS_SUCCESS) {
      return Error{ErrorCode::kInternal, description_ + ": cublasSgemm failed (status " +
                                             std::to_string(int(status)) + ")"};
    }
    return ok_status();
  }

  // The matrices as one, when they lie back to back in one layout (see DeviceLayer).
  static DeviceMatrix stacked(std::initializer_list<DeviceMatrix> parts) {
    DeviceMatrix all = *parts.begin();
    all.rows = 0;
    for (const DeviceMatrix& part : parts) {
      if (part.type != all.type || part.row_bytes != all.row_bytes || part.cols != all.cols ||
          part.data != all.data + size_t(all.rows) * all.row_bytes) {
        return DeviceMatrix{};
      }
      all.rows += part.rows;
    }
    return all;
  }

  // Scratch for n tokens of which m want logits.
  Status reserve_scratch(int64_t n, int64_t m) {
    const ModelHParams& hp = model_.hparams();
    const size_t f = sizeof(float);
    RBEE_RETURN_IF_ERROR(x_.reserve(size_t(n * hp.n_embd) * f));
    RBEE_RETURN_IF_ERROR(cur_.reserve(size_t(n * hp.n_embd) * f));
    // One token's Q, K and V (gate and up) may come side by side from one product.
    RBEE_RETURN_IF_ERROR(
        q_.reserve(size_t(std::max(n * hp.n_embd, hp.n_embd + 2 * hp.n_embd_kv())) * f));
    RBEE_RETURN_IF_ERROR(k_.reserve(size_t(n * hp.n_embd_kv()) * f));
    RBEE_RETURN_IF_ERROR(v_.reserve(size_t(n * hp.n_embd_kv()) * f));
    RBEE_RETURN_IF_ERROR(attn_.reserve(size_t(n * hp.n_embd) * f));
    RBEE_RETURN_IF_ERROR(proj_.reserve(size_t(n * hp.n_embd) * f));
    RBEE_RETURN_IF_ERROR(gate_.reserve(size_t(std::max(n, int64_t(2)) * hp.n_ff) * f));
    RBEE_RETURN_IF_ERROR(up_.reserve(size_t(n * hp.n_ff) * f));
    RBEE_RETURN_IF_ERROR(logits_.reserve(size_t(std::max<int64_t>(m, 1) * hp.n_vocab) * f));
    RBEE_RETURN_IF_ERROR(tokens_.reserve(size_t(n) * sizeof(DeviceToken)));
    RBEE_RETURN_IF_ERROR(caches_view_.reserve(size_t(n) * sizeof(DeviceCache)));
    RBEE_RETURN_IF_ERROR(rows_.reserve(size_t(std::max<int64_t>(m, 1)) * sizeof(int32_t)));
    RBEE_RETURN_IF_ERROR(host_embd_.reserve(size_t(n * hp.n_embd) * f));
    RBEE_RETURN_IF_ERROR(host_tokens_.reserve(size_t(n) * sizeof(DeviceToken)));
    RBEE_RETURN_IF_ERROR(host_caches_.reserve(size_t(n) * sizeof(DeviceCache)));
    RBEE_RETURN_IF_ERROR(host_rows_.reserve(size_t(std::max<int64_t>(m, 1)) * sizeof(int32_t)));
    RBEE_RETURN_IF_ERROR(host_logits_.reserve(size_t(std::max<int64_t>(m, 1) * hp.n_vocab) * f));
    return ok_status();
  }

  Status forward_slice(std::span<const Token> tokens, bool f16_cache,
                       std::vector<std::vector<float>>& logits_out) {
    const ModelHParams& hp = model_.hparams();
    const int64_t n = int64_t(tokens.size());
    int64_t m = 0;
    for (const Token& token : tokens) m += token.logits_row >= 0 ? 1 : 0;
    RBEE_RETURN_IF_ERROR(reserve_scratch(n, m));

    // The host's part: embedding rows, where each token sits, which rows want logits.
    auto* embd = host_embd_.get<float>();
    auto* device_tokens = host_tokens_.get<DeviceToken>();
    auto* device_caches = host_caches_.get<DeviceCache>();
    auto* rows = host_rows_.get<int32_t>();
    std::unordered_map<const DeviceCache*, int32_t> cache_index;
    int32_t max_positions = 0;
    m = 0;
    for (int64_t i = 0; i < n; ++i) {
      const Token& token = tokens[size_t(i)];
      model_.embed(token.id, embd + i * hp.n_embd);
      auto [slot, added] = cache_index.try_emplace(token.cache, int32_t(cache_index.size()));
      if (added) device_caches[slot->second] = *token.cache;
      device_tokens[i] = {token.pos, slot->second};
      max_positions = std::max(max_positions, token.pos + 1);
      if (token.logits_row >= 0) rows[m++] = int32_t(i);
    }
    RBEE_CUDA_TRY(cudaMemcpyAsync(x_.get(), embd, size_t(n * hp.n_embd) * sizeof(float),
                                  cudaMemcpyHostToDevice, stream_));
    RBEE_CUDA_TRY(cudaMemcpyAsync(tokens_.get(), device_tokens, size_t(n) * sizeof(DeviceToken),
                                  cudaMemcpyHostToDevice, stream_));
    RBEE_CUDA_TRY(cudaMemcpyAsync(caches_view_.get(), device_caches,
                                  cache_index.size() * sizeof(DeviceCache), cudaMemcpyHostToDevice,
                                  stream_));
    if (m > 0) {
      RBEE_CUDA_TRY(cudaMemcpyAsync(rows_.get(), rows, size_t(m) * sizeof(int32_t),
                                    cudaMemcpyHostToDevice, stream_));
    }

    float* x = x_.get<float>();
    float* cur = cur_.get<float>();
    float* q = q_.get<float>();
    float* const k_rows = k_.get<float>();
    float* const v_rows = v_.get<float>();
    float* attn = attn_.get<float>();
    float* proj = proj_.get<float>();
    float* gate = gate_.get<float>();
    float* const up_rows = up_.get<float>();
    const auto* token_info = tokens_.get<DeviceToken>();
    const auto* caches = caches_view_.get<DeviceCache>();
    AttentionShape shape{int32_t(hp.n_head), int32_t(hp.n_head_kv), int32_t(hp.head_dim()), 0,
                         f16_cache};
    // Each residual add is fused with the norm that follows it (the next layer's attention
    // norm, or this layer's FFN norm); the first layer's norm has none before it.
    launch_rms_norm(x, nullptr, layers_[0].attn_norm, cur, n, hp.n_embd, hp.rms_eps, stream_);
    for (int64_t l = 0; l < hp.n_layer; ++l) {
      const DeviceLayer& w = layers_[size_t(l)];
      shape.layer = int32_t(l);
      float* k = k_rows;
      float* v = v_rows;
      float* up = up_rows;
      if (n == 1 && w.qkv.data) {
        RBEE_RETURN_IF_ERROR(multiply(w.qkv, cur, n, q));
        k = q + hp.n_embd;
        v = k + hp.n_embd_kv();
      } else {
        RBEE_RETURN_IF_ERROR(multiply(w.wq, cur, n, q));
        RBEE_RETURN_IF_ERROR(multiply(w.wk, cur, n, k));
        RBEE_RETURN_IF_ERROR(multiply(w.wv, cur, n, v));
      }
      if (w.bq) {
        launch_add_bias(q, w.bq, n, hp.n_embd, stream_);
        launch_add_bias(k, w.bk, n, hp.n_embd_kv(), stream_);
        launch_add_bias(v, w.bv, n, hp.n_embd_kv(), stream_);
      }
      launch_rope_and_store(q, k, v, token_info, n, caches, shape, int32_t(hp.n_rot),
                            hp.rope_freq_base, hp.rope_neox(), stream_);
      launch_attention(q, token_info, n, caches, shape, max_positions, attn, stream_);
      RBEE_RETURN_IF_ERROR(multiply(w.wo, attn, n, proj));
      launch_add_rms_norm(x, proj, w.ffn_norm, cur, n, hp.n_embd, hp.rms_eps, stream_);
      if (n == 1 && w.gate_up.data) {
        RBEE_RETURN_IF_ERROR(multiply(w.gate_up, cur, n, gate));
        up = gate + hp.n_ff;
      } else {
        RBEE_RETURN_IF_ERROR(multiply(w.gate, cur, n, gate));
        RBEE_RETURN_IF_ERROR(multiply(w.up, cur, n, up));
      }
      launch_silu_mul(gate, up, n * hp.n_ff, stream_);
      RBEE_RETURN_IF_ERROR(multiply(w.down, gate, n, proj));
      if (l + 1 < hp.n_layer) {
        launch_add_rms_norm(x, proj, layers_[size_t(l + 1)].attn_norm, cur, n, hp.n_embd,
                            hp.rms_eps, stream_);
      } else {
        launch_add(x, proj, n * hp.n_embd, stream_);
      }
    }
    RBEE_CUDA_TRY(cudaGetLastError());
    if (m > 0) {
      launch_rms_norm(x, rows_.get<int32_t>(), output_norm_, cur, m, hp.n_embd, hp.rms_eps,
                      stream_);
      RBEE_RETURN_IF_ERROR(multiply(output_, cur, m, logits_.get<float>()));
      RBEE_CUDA_TRY(cudaGetLastError());
      RBEE_CUDA_TRY(cudaMemcpyAsync(host_logits_.get<float>(), logits_.get(),
                                    size_t(m * hp.n_vocab) * sizeof(float), cudaMemcpyDeviceToHost,
                                    stream_));
    }
    RBEE_CUDA_TRY(cudaStreamSynchronize(stream_));
    const float* host_logits = host_logits_.get<float>();
    m = 0;
    for (const Token& token : tokens) {
      if (token.logits_row < 0) continue;
      std::copy(host_logits + m * hp.n_vocab, host_logits + (m + 1) * hp.n_vocab,
                logits_out[token.input].begin() + token.logits_row * hp.n_vocab);
      ++m;
    }
    return ok_status();
  }

  const Model& model_;
  const int index_;
  std::string description_;
  cudaStream_t stream_ = nullptr;
  cublasHandle_t blas_ = nullptr;
  DeviceBuffer decoded_;  // a matrix decoded to floats for cuBLAS
  int64_t max_positions_ = 0;
  std::mutex mutex_;
  DeviceBuffer weights_;
  size_t weight_bytes_ = 0;
  std::vector<DeviceLayer> layers_;
  DeviceMatrix output_;
  const float* output_norm_ = nullptr;
  std::unordered_map<const Session*, SessionCache> caches_;
  DeviceBuffer x_, cur_, q_, k_, v_, attn_, proj_, gate_, up_, logits_, tokens_, caches_view_,
      rows_;
  PinnedBuffer host_embd_, host_tokens_, host_caches_, host_rows_, host_logits_;
};

}  // namespace

bool cuda_built() {
  return true;
}

int cuda_device_count() {
  int count = 0;
  if (cudaGetDeviceCount(&count) != cudaSuccess) {
    cudaGetLastError();
    return 0;
  }
  return count;
}

Result<size_t> cuda_free_bytes(int index) {
  RBEE_RETURN_IF_ERROR(select_device(index));
  size_t free_bytes = 0, total_bytes = 0;
  RBEE_CUDA_TRY(cudaMemGetInfo(&free_bytes, &total_bytes));
  return free_bytes;
}

Result<std::unique_ptr<DeviceForward>> make_cuda_forward(const Model& model, int index) {
  auto forward = std::make_unique<CudaForward>(model, index);
  RBEE_RETURN_IF_ERROR(forward->init());
  return std::unique_ptr<DeviceForward>(std::move(forward));
}

Result<std::vector<float>> cuda_decode_tensor(const GgufTensor& tensor, int index) {
  RBEE_RETURN_IF_ERROR(select_device(index));
  const DeviceLayout layout = device_layout(tensor);
  const int64_t rows = int64_t(tensor.dims[1]);
  const int64_t cols = int64_t(tensor.dims[0]);
  DeviceBuffer weights, decoded;
  RBEE_RETURN_IF_ERROR(weights.reserve(layout.row_bytes * size_t(rows)));
  RBEE_RETURN_IF_ERROR(decoded.reserve(size_t(rows * cols) * sizeof(float)));
  std::vector<uint8_t> staging;
  RBEE_RETURN_IF_ERROR(upload_matrix(tensor, layout, weights.get(), staging));
  const DeviceMatrix matrix{layout.type, weights.get(), layout.row_bytes, rows, cols};
  launch_dequantize(matrix, decoded.get<float>(), nullptr);
  RBEE_CUDA_TRY(cudaGetLastError());
  std::vector<float> out(size_t(rows * cols));
  RBEE_CUDA_TRY(
      cudaMemcpy(out.data(), decoded.get(), out.size() * sizeof(float), cudaMemcpyDeviceToHost));
  return out;
}

}  // namespace rbee::engine::gpu
