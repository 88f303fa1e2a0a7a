#pragma once

// Which device a model's forward pass runs on: "cpu" (this CPU, the default) or "cuda:N" (an
// NVIDIA GPU, in builds configured with -DRBEE_CUDA=ON; see cuda_forward.hpp).
//
//   RBEE_ASSIGN_OR_RETURN(auto model, Model::load(path, {.repack = is_cpu(device)}));
//   RBEE_RETURN_IF_ERROR(place_model(*model, device));

#include <string_view>

#include "common/result.hpp"
#include "engine/model/model.hpp"

namespace rbee::engine::gpu {

struct DeviceName {
  enum class Kind { kCpu, kCuda };
  Kind kind = Kind::kCpu;
  int index = 0;  // of a CUDA device
};

// kInvalidArgument unless `name` is "cpu" or "cuda:N" (N a device number).
Result<DeviceName> parse_device_name(std::string_view name);

// Whether `name` is "cpu": only the CPU reads repacked weights, so load with repacking only
// then.
bool is_cpu(std::string_view name);

// Moves the forward pass of `model` to `device` ("cpu" leaves it here). Before any session
// of the model exists. kInvalidArgument for a bad name; kFailedPrecondition when the model
// was loaded with repacked weights for a GPU; kUnavailable when this build has no CUDA or the
// device is not there; kResourceExhausted when the weights do not fit in its memory.
Status place_model(Model& model, std::string_view device);

}  // namespace rbee::engine::gpu
