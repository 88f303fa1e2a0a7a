#pragma once

// What compute this machine has: the CPU (model, cores, RAM from /proc) and NVIDIA GPUs
// (from `nvidia-smi --query-gpu ... --format=csv` when it is installed).

#include <string>
#include <vector>

#include "contracts/heartbeat.hpp"

namespace rbee::hive {

// The CPU device from the text of /proc/cpuinfo and /proc/meminfo. `n_cores` is the number
// of online logical CPUs.
contracts::Device parse_cpu_device(const std::string& cpuinfo, const std::string& meminfo,
                                   int n_cores);

// GPUs from the output of
// `nvidia-smi --query-gpu=index,name,memory.total,memory.free --format=csv,noheader,nounits`
// (MiB). Lines that do not parse are skipped.
std::vector<contracts::Device> parse_nvidia_smi_csv(const std::string& csv);

// Reads this machine's devices: the CPU first, then GPUs. `nvidia_smi` is the program to ask
// (looked up on PATH when it has no '/'); a missing program means no GPUs.
std::vector<contracts::Device> detect_devices(const std::string& nvidia_smi = "nvidia-smi");

}  // namespace rbee::hive
