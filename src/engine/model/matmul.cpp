#include "engine/model/matmul.hpp"

#include <algorithm>
#include <array>

#include "common/check.hpp"
#include "engine/kernels/kernel_table.hpp"
#include "engine/kernels/matvec.hpp"

namespace rbee::engine {
namespace {

// Multiply-adds below which a product stays on one thread, and the least a thread is handed:
// about ten microseconds of work, against a microsecond or two to hand it over.
constexpr int64_t kMinChunkWork = 64 * 1024;
constexpr size_t kCacheLine = 64;

kernels::KernelType kernel_type(const GgufTensor& w) {
  return static_cast<kernels::KernelType>(static_cast<uint32_t>(w.type));
}

int64_t n_cols(const GgufTensor& w) {
  return static_cast<int64_t>(w.dims[0]);
}

int64_t n_out(const GgufTensor& w) {
  return static_cast<int64_t>(w.dims[1]);
}

// The dot-product layout of `w`'s activations: types sharing it can share prepared rows.
uintptr_t activation_layout(const GgufTensor& w) {
  const kernels::KernelTraits& traits = kernels::type_traits(kernel_type(w));
  // A type with its own matrix-vector path prepares its own layout (a repacked type shares
  // its original's: the same prepare function); others share the plain vec_dot type's rows.
  return traits.matvec != nullptr ? reinterpret_cast<uintptr_t>(traits.matvec->prepare)
                                  : static_cast<uintptr_t>(traits.vec_dot_type);
}

}  // namespace

Status check_matmul_type(const GgufTensor& weight) {
  const kernels::KernelTraits* traits =
      kernels::find_type_traits(static_cast<uint32_t>(weight.type));
  if (traits && traits->vec_dot != nullptr) {
    // The activation must split into whole blocks of the dot-product type too.
    const auto& activation = kernels::type_traits(traits->vec_dot_type);
    if (n_cols(weight) % activation.block_size == 0) return ok_status();
    return Error{ErrorCode::kInvalidArgument,
                 "tensor '" + std::string(weight.name) + "' has rows of " +
                     std::to_string(n_cols(weight)) + " elements, not a multiple of " +
                     std::to_string(activation.block_size) + " as " + traits->name + " needs"};
  }
  return Error{ErrorCode::kInvalidArgument, "tensor '" + std::string(weight.name) + "' has type " +
                                                std::string(type_name(weight.type)) +
                                                ", which the engine cannot multiply"};
}

void ActivationBatch::prepare(const GgufTensor& weight, const float* x, int64_t n_rows,
                              ThreadPool& pool) {
  const kernels::KernelType type = kernel_type(weight);
  const int64_t cols = n_cols(weight);
  stride_ = kernels::activation_stride(type, cols);
  const size_t needed = stride_ * size_t(n_rows) + kCacheLine;
  if (needed > capacity_) {
    storage_ = std::make_unique<std::byte[]>(needed);
    capacity_ = needed;
    const auto address = reinterpret_cast<uintptr_t>(storage_.get());
    data_ = storage_.get() + ((kCacheLine - address % kCacheLine) % kCacheLine);
  }
  n_rows_ = n_rows;
  layout_ = activation_layout(weight);
  n_cols_ = cols;
  const size_t stride = stride_;
  std::byte* data = data_;
  const int64_t grain = std::max<int64_t>(1, kMinChunkWork / std::max<int64_t>(cols, 1));
  pool.parallel_for(
      n_rows,
      [&](int64_t begin, int64_t end) {
        for (int64_t i = begin; i < end; ++i) {
          kernels::quantize_activation(type, x + i * cols, cols,
                                       std::span(data + size_t(i) * stride, stride));
        }
      },
      grain);
}

bool ActivationBatch::suits(const GgufTensor& weight) const {
  return n_rows_ > 0 && layout_ == activation_layout(weight) && n_cols_ == n_cols(weight) &&
         stride_ == kernels::activation_stride(kernel_type(weight), n_cols(weight));
}

void matmul(std::span<const GgufTensor* const> weights, const ActivationBatch& x,
            std::span<float* const> ys, ThreadPool& pool) {
  RBEE_CHECK(weights.size() == ys.size(), "one output per weight");
  constexpr int64_t kGrain = ThreadPool::kDefaultGrain;
  // The weights' rows one after another, each weight starting on a multiple of the grain, so
  // that chunk boundaries fall on multiples of the grain inside every weight too: kernels
  // working on groups of rows see the same groups at every thread count.
  std::array<int64_t, kMaxGroup + 1> starts{};
  RBEE_CHECK(weights.size() <= kMaxGroup, "too many weights in one product");
  for (size_t i = 0; i < weights.size(); ++i) {
    RBEE_CHECK(x.suits(*weights[i]), "activations prepared for another weight layout");
    // An interleaved layout's groups of rows then never straddle two chunks.
    RBEE_CHECK(kGrain % kernels::type_traits(kernel_type(*weights[i])).row_group == 0,
               "the grain splits a group of interleaved rows");
    starts[i + 1] = starts[i] + (n_out(*weights[i]) + kGrain - 1) / kGrain * kGrain;
  }
  const int64_t total = starts[weights.size()];
  const int64_t work_per_row = n_cols(*weights[0]) * x.n_rows();
  const int64_t min_rows = std::max<int64_t>(1, kMinChunkWork / std::max<int64_t>(work_per_row, 1));
  const int64_t grain = (min_rows + kGrain - 1) / kGrain * kGrain;
  pool.parallel_for(
      total,
      [&](int64_t begin, int64_t end) {
        for (size_t i = 0; i < weights.size(); ++i) {
          const GgufTensor& weight = *weights[i];
          const int64_t rows = n_out(weight);
          // This chunk's rows of the weight (none in the padding past its last row).
          const int64_t first = std::max(begin, starts[i]) - starts[i];
          const int64_t last = std::min(end - starts[i], rows);
          if (last <= first) continue;
          kernels::matmul_rows(kernel_type(weight), weight.data, n_cols(weight), x.data(),
                               x.stride(), x.n_rows(), ys[i], size_t(rows), first, last);
        }
      },
      grain);
}

void dequantize_row(const GgufTensor& weight, int64_t row, float* out) {
  const kernels::KernelTraits& traits = kernels::type_traits(kernel_type(weight));
  const size_t bytes = kernels::row_bytes(traits, n_cols(weight));
  traits.dequantize_row(weight.data + size_t(row) * bytes, out, n_cols(weight));
}

}  // namespace rbee::engine
