#include "hive/devices.hpp"

#include <unistd.h>

#include <sstream>

#include "common/files.hpp"
#include "lifecycle/process.hpp"

namespace rbee::hive {
namespace {

std::string trim(std::string_view text) {
  size_t begin = text.find_first_not_of(" \t\r\n");
  if (begin == std::string_view::npos) return "";
  size_t end = text.find_last_not_of(" \t\r\n");
  return std::string(text.substr(begin, end - begin + 1));
}

// The value of "key : value" lines (cpuinfo) or "Key: 123 kB" lines (meminfo).
std::string field_value(const std::string& text, std::string_view key) {
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    size_t colon = line.find(':');
    if (colon == std::string::npos) continue;
    if (trim(std::string_view(line).substr(0, colon)) == key)
      return trim(std::string_view(line).substr(colon + 1));
  }
  return "";
}

int64_t meminfo_bytes(const std::string& meminfo, std::string_view key) {
  std::string value = field_value(meminfo, key);  // "16314608 kB"
  try {
    return value.empty() ? 0 : std::stoll(value) * 1024;
  } catch (const std::exception&) {
    return 0;
  }
}

}  // namespace

contracts::Device parse_cpu_device(const std::string& cpuinfo, const std::string& meminfo,
                                   int n_cores) {
  contracts::Device cpu;
  cpu.id = "cpu";
  cpu.kind = "cpu";
  cpu.name = field_value(cpuinfo, "model name");
  if (cpu.name.empty()) cpu.name = field_value(cpuinfo, "Model");  // ARM boards
  if (cpu.name.empty()) cpu.name = "unknown CPU";
  cpu.cores = n_cores;
  cpu.ram_total_bytes = meminfo_bytes(meminfo, "MemTotal");
  cpu.ram_free_bytes = meminfo_bytes(meminfo, "MemAvailable");
  if (cpu.ram_free_bytes == 0) cpu.ram_free_bytes = meminfo_bytes(meminfo, "MemFree");
  return cpu;
}

std::vector<contracts::Device> parse_nvidia_smi_csv(const std::string& csv) {
  std::vector<contracts::Device> gpus;
  std::istringstream in(csv);
  std::string line;
  while (std::getline(in, line)) {
    std::vector<std::string> fields;
    std::istringstream cells(line);
    std::string cell;
    while (std::getline(cells, cell, ',')) fields.push_back(trim(cell));
    if (fields.size() != 4) continue;
    try {
      contracts::Device gpu;
      int index = std::stoi(fields[0]);
      gpu.id = "cuda:" + std::to_string(index);
      gpu.kind = "cuda";
      gpu.name = fields[1];
      gpu.vram_total_bytes = std::stoll(fields[2]) * 1024 * 1024;
      gpu.vram_free_bytes = std::stoll(fields[3]) * 1024 * 1024;
      gpus.push_back(gpu);
    } catch (const std::exception&) {
      continue;  // "[N/A]" and the like: skip the GPU rather than report nonsense
    }
  }
  return gpus;
}

std::vector<contracts::Device> detect_devices(const std::string& nvidia_smi) {
  std::vector<contracts::Device> devices;
  auto cpuinfo = read_file("/proc/cpuinfo");
  auto meminfo = read_file("/proc/meminfo");
  long n_cores = ::sysconf(_SC_NPROCESSORS_ONLN);
  devices.push_back(parse_cpu_device(cpuinfo ? *cpuinfo : "", meminfo ? *meminfo : "",
                                     static_cast<int>(n_cores > 0 ? n_cores : 1)));
  // No nvidia-smi (or a broken driver) means no NVIDIA GPUs to offer.
  auto output =
      lifecycle::run_and_capture({nvidia_smi, "--query-gpu=index,name,memory.total,memory.free",
                                  "--format=csv,noheader,nounits"},
                                 std::chrono::seconds(5));
  if (!output) return devices;
  for (auto& gpu : parse_nvidia_smi_csv(*output)) devices.push_back(std::move(gpu));
  return devices;
}

}  // namespace rbee::hive
