#include "contracts/heartbeat.hpp"

#include "contracts/operations.hpp"

namespace rbee::contracts {

Json to_json(const Device& device) {
  Json data{{"id", device.id}, {"kind", device.kind}, {"name", device.name}};
  if (device.kind == "cpu") {
    data["cores"] = device.cores;
    data["ram_total_bytes"] = device.ram_total_bytes;
    data["ram_free_bytes"] = device.ram_free_bytes;
  } else {
    data["vram_total_bytes"] = device.vram_total_bytes;
    data["vram_free_bytes"] = device.vram_free_bytes;
  }
  return data;
}

Result<Device> parse_device(const Json& data, const std::string& path) {
  ObjectReader reader(data, path);
  RBEE_RETURN_IF_ERROR(reader.expect_object());
  Device device;
  RBEE_RETURN_IF_ERROR(reader.required_string("id", device.id));
  RBEE_RETURN_IF_ERROR(reader.required_string("kind", device.kind));
  RBEE_RETURN_IF_ERROR(reader.optional_string("name", device.name));
  RBEE_RETURN_IF_ERROR(reader.optional_int("cores", device.cores));
  RBEE_RETURN_IF_ERROR(reader.optional_int("ram_total_bytes", device.ram_total_bytes));
  RBEE_RETURN_IF_ERROR(reader.optional_int("ram_free_bytes", device.ram_free_bytes));
  RBEE_RETURN_IF_ERROR(reader.optional_int("vram_total_bytes", device.vram_total_bytes));
  RBEE_RETURN_IF_ERROR(reader.optional_int("vram_free_bytes", device.vram_free_bytes));
  return device;
}

Json to_json(const HiveHeartbeat& heartbeat) {
  Json devices = Json::array();
  for (const auto& device : heartbeat.devices) devices.push_back(to_json(device));
  return Json{
      {"hive_id", heartbeat.hive_id}, {"url", heartbeat.url},
      {"version", heartbeat.version}, {"heartbeat_interval_ms", heartbeat.heartbeat_interval_ms},
      {"devices", devices},           {"models", heartbeat.models},
      {"workers", heartbeat.workers}};
}

Result<HiveHeartbeat> parse_hive_heartbeat(const Json& data) {
  ObjectReader reader(data, "");
  RBEE_RETURN_IF_ERROR(reader.expect_object());
  HiveHeartbeat heartbeat;
  RBEE_RETURN_IF_ERROR(reader.required_string("hive_id", heartbeat.hive_id));
  RBEE_RETURN_IF_ERROR(validate_hive_id(heartbeat.hive_id, "hive_id"));
  RBEE_RETURN_IF_ERROR(reader.required_string("url", heartbeat.url));
  RBEE_RETURN_IF_ERROR(validate_http_url(heartbeat.url, "url"));
  RBEE_RETURN_IF_ERROR(reader.optional_string("version", heartbeat.version));
  RBEE_RETURN_IF_ERROR(
      reader.optional_int("heartbeat_interval_ms", heartbeat.heartbeat_interval_ms));
  if (heartbeat.heartbeat_interval_ms < 10 || heartbeat.heartbeat_interval_ms > 3600 * 1000) {
    return make_error(ErrorCode::kInvalidArgument,
                      "field 'heartbeat_interval_ms' must be between 10 and 3600000");
  }
  if (const Json* devices = reader.optional_value("devices")) {
    if (!devices->is_array()) {
      return make_error(ErrorCode::kInvalidArgument, "field 'devices' must be an array");
    }
    for (size_t i = 0; i < devices->size(); ++i) {
      RBEE_ASSIGN_OR_RETURN(Device device,
                            parse_device((*devices)[i], "devices[" + std::to_string(i) + "]"));
      heartbeat.devices.push_back(std::move(device));
    }
  }
  for (auto [key, out] :
       {std::pair{"models", &heartbeat.models}, std::pair{"workers", &heartbeat.workers}}) {
    if (const Json* list = reader.optional_value(key)) {
      if (!list->is_array()) {
        return make_error(ErrorCode::kInvalidArgument,
                          std::string("field '") + key + "' must be an array");
      }
      *out = *list;
    }
  }
  RBEE_RETURN_IF_ERROR(reader.reject_unknown_fields());
  return heartbeat;
}

}  // namespace rbee::contracts
