#include "hive/devices.hpp"

#include <gtest/gtest.h>

#include <fstream>

#include "common/test_dir.hpp"

namespace rbee::hive {
namespace {

TEST(DevicesTest, ParsesCpuinfoAndMeminfo) {
  std::string cpuinfo =
      "processor\t: 0\nvendor_id\t: AuthenticAMD\nmodel name\t: AMD EPYC 7B13\n\n"
      "processor\t: 1\nmodel name\t: AMD EPYC 7B13\n";
  std::string meminfo =
      "MemTotal:       16314608 kB\nMemFree:         1000 kB\nMemAvailable:   8000000 kB\n";
  auto cpu = parse_cpu_device(cpuinfo, meminfo, 2);
  EXPECT_EQ(cpu.id, "cpu");
  EXPECT_EQ(cpu.kind, "cpu");
  EXPECT_EQ(cpu.name, "AMD EPYC 7B13");
  EXPECT_EQ(cpu.cores, 2);
  EXPECT_EQ(cpu.ram_total_bytes, 16314608LL * 1024);
  EXPECT_EQ(cpu.ram_free_bytes, 8000000LL * 1024);
}

TEST(DevicesTest, MissingFieldsGiveHonestDefaults) {
  auto cpu = parse_cpu_device("", "MemTotal: 100 kB\nMemFree: 50 kB\n", 1);
  EXPECT_EQ(cpu.name, "unknown CPU");
  EXPECT_EQ(cpu.ram_free_bytes, 50 * 1024);
}

TEST(DevicesTest, ParsesNvidiaSmiCsv) {
  auto gpus = parse_nvidia_smi_csv(
      "0, NVIDIA H100 80GB HBM3, 81559, 80000\n1, NVIDIA RTX 4090, 24564, [N/A]\n"
      "garbage line\n");
  ASSERT_EQ(gpus.size(), 1u);
  EXPECT_EQ(gpus[0].id, "cuda:0");
  EXPECT_EQ(gpus[0].kind, "cuda");
  EXPECT_EQ(gpus[0].name, "NVIDIA H100 80GB HBM3");
  EXPECT_EQ(gpus[0].vram_total_bytes, 81559LL * 1024 * 1024);
  EXPECT_EQ(gpus[0].vram_free_bytes, 80000LL * 1024 * 1024);
}

TEST(DevicesTest, DetectsThisMachinesCpu) {
  auto devices = detect_devices("rbee-no-such-nvidia-smi");
  ASSERT_EQ(devices.size(), 1u);
  EXPECT_EQ(devices[0].kind, "cpu");
  EXPECT_GE(devices[0].cores, 1);
  EXPECT_GT(devices[0].ram_total_bytes, 0);
  EXPECT_LE(devices[0].ram_free_bytes, devices[0].ram_total_bytes);
}

TEST(DevicesTest, AsksNvidiaSmiWhenPresent) {
  // A stand-in for nvidia-smi (no GPU here): a script that answers the query's CSV.
  testing::TestDir dir;
  auto script = dir.path() / "nvidia-smi";
  {
    std::ofstream out(script);
    out << "#!/bin/sh\necho '0, Test GPU, 1024, 512'\n";
  }
  std::filesystem::permissions(script, std::filesystem::perms::owner_all);
  auto devices = detect_devices(script.string());
  ASSERT_EQ(devices.size(), 2u);
  EXPECT_EQ(devices[1].id, "cuda:0");
  EXPECT_EQ(devices[1].vram_free_bytes, 512LL * 1024 * 1024);
}

}  // namespace
}  // namespace rbee::hive
