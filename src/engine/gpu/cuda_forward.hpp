#pragma once

// The forward pass on an NVIDIA GPU (built with -DRBEE_CUDA=ON; without it every function
// here answers kUnavailable). The weights are uploaded once: Q4_0, Q8_0, Q4_K, Q6_K, F16 and
// F32 matrices as the file has them, every other type converted to F16 (BF16 to F32). Each
// session gets its KV cache in device memory. Activations stay in float on the device (the
// CPU path quantizes them to Q8 for the quantized types), so logits agree with the CPU's to
// rounding, not bit for bit.

#include <memory>
#include <vector>

#include "common/result.hpp"
#include "engine/gguf/gguf_reader.hpp"
#include "engine/model/model.hpp"

namespace rbee::engine::gpu {

// Whether this build has the CUDA path.
bool cuda_built();

// CUDA devices this process can use (0 without CUDA support or a driver).
int cuda_device_count();

// Free memory on CUDA device `index`, in bytes.
Result<size_t> cuda_free_bytes(int index);

// The forward pass of `model` on CUDA device `index`, its weights uploaded. kUnavailable
// when this build has no CUDA or there is no such device; kResourceExhausted when the
// weights do not fit in the device's free memory. `model` must outlive it (the embedding
// rows are looked up on the CPU).
Result<std::unique_ptr<DeviceForward>> make_cuda_forward(const Model& model, int index);

// `tensor` uploaded as the forward pass would store it, then decoded back to floats on
// device `index` (rows x row length): tests compare this with the CPU's dequantize_row.
Result<std::vector<float>> cuda_decode_tensor(const GgufTensor& tensor, int index);

}  // namespace rbee::engine::gpu
