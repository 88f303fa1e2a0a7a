#include "engine/gpu/device_placement.hpp"

#include <charconv>
#include <string>

#include "engine/gpu/cuda_forward.hpp"

namespace rbee::engine::gpu {

Result<DeviceName> parse_device_name(std::string_view name) {
  if (name == "cpu") return DeviceName{};
  constexpr std::string_view kCuda = "cuda:";
  if (name.starts_with(kCuda)) {
    const std::string_view number = name.substr(kCuda.size());
    int index = -1;
    const auto [end, error] = std::from_chars(number.data(), number.data() + number.size(), index);
    if (!number.empty() && error == std::errc() && end == number.data() + number.size() &&
        index >= 0) {
      return DeviceName{DeviceName::Kind::kCuda, index};
    }
  }
  return Error{ErrorCode::kInvalidArgument,
               "'" + std::string(name) + "' is not a device name like cpu or cuda:0"};
}

bool is_cpu(std::string_view name) {
  return name == "cpu";
}

Status place_model(Model& model, std::string_view device) {
  RBEE_ASSIGN_OR_RETURN(DeviceName parsed, parse_device_name(device));
  if (parsed.kind == DeviceName::Kind::kCpu) return ok_status();
  if (model.repacked_bytes() > 0) {
    return Error{ErrorCode::kFailedPrecondition,
                 std::string(device) +
                     ": the model was loaded with weights repacked for the CPU; "
                     "load it without repacking for a GPU"};
  }
  RBEE_ASSIGN_OR_RETURN(auto forward, make_cuda_forward(model, parsed.index));
  model.attach_device(std::move(forward));
  return ok_status();
}

}  // namespace rbee::engine::gpu
