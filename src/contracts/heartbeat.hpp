#pragma once

// Hive → queen heartbeat (`POST /v1/hives/heartbeat`, ARCHITECTURE.md §6) and the device
// report it carries.

#include <cstdint>
#include <string>
#include <vector>

#include "common/result.hpp"
#include "contracts/json_reader.hpp"

namespace rbee::contracts {

// One compute device on a hive. CPU devices fill cores and RAM; GPU devices fill VRAM.
struct Device {
  std::string id;    // "cpu", "cuda:0", ...
  std::string kind;  // "cpu" | "cuda"
  std::string name;  // "AMD EPYC 7B13", "NVIDIA H100 80GB HBM3"
  int64_t cores = 0;
  int64_t ram_total_bytes = 0;
  int64_t ram_free_bytes = 0;
  int64_t vram_total_bytes = 0;
  int64_t vram_free_bytes = 0;
};
Json to_json(const Device& device);
Result<Device> parse_device(const Json& data, const std::string& path);

struct HiveHeartbeat {
  std::string hive_id;
  std::string url;  // where the queen reaches the hive
  std::string version;
  int64_t heartbeat_interval_ms = 2000;
  std::vector<Device> devices;
  Json models = Json::array();   // filled by the model catalog (later issue)
  Json workers = Json::array();  // filled by the worker lifecycle (later issue)
};
Json to_json(const HiveHeartbeat& heartbeat);
// kInvalidArgument naming the field on any mistake.
Result<HiveHeartbeat> parse_hive_heartbeat(const Json& data);

}  // namespace rbee::contracts
