// cuda_forward.hpp in a build without CUDA (-DRBEE_CUDA=OFF, the default): every request for
// a GPU gets a clear answer instead of a missing symbol.

#include <string>

#include "engine/gpu/cuda_forward.hpp"

namespace rbee::engine::gpu {
namespace {

Error no_cuda(int index) {
  return Error{ErrorCode::kUnavailable,
               "cuda:" + std::to_string(index) +
                   ": this build has no CUDA support (configure with -DRBEE_CUDA=ON)"};
}

}  // namespace

bool cuda_built() {
  return false;
}

int cuda_device_count() {
  return 0;
}

Result<size_t> cuda_free_bytes(int index) {
  return no_cuda(index);
}

Result<std::unique_ptr<DeviceForward>> make_cuda_forward(const Model& /*model*/, int index) {
  return no_cuda(index);
}

Result<std::vector<float>> cuda_decode_tensor(const GgufTensor& /*tensor*/, int index) {
  return no_cuda(index);
}

}  // namespace rbee::engine::gpu
