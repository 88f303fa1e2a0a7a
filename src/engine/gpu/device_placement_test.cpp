// Device names and where a model's forward pass goes; these run on every build, with or
// without CUDA or a GPU.

#include "engine/gpu/device_placement.hpp"

#include <gtest/gtest.h>

#include "engine/gpu/cuda_forward.hpp"

namespace rbee::engine::gpu {
namespace {

const std::filesystem::path kModels = std::filesystem::path(RBEE_TESTDATA_DIR) / "models";

TEST(DeviceNameTest, ReadsCpuAndCudaDevices) {
  auto cpu = parse_device_name("cpu");
  ASSERT_TRUE(cpu);
  EXPECT_EQ(cpu->kind, DeviceName::Kind::kCpu);
  auto cuda = parse_device_name("cuda:3");
  ASSERT_TRUE(cuda);
  EXPECT_EQ(cuda->kind, DeviceName::Kind::kCuda);
  EXPECT_EQ(cuda->index, 3);
  EXPECT_TRUE(is_cpu("cpu"));
  EXPECT_FALSE(is_cpu("cuda:0"));
}

TEST(DeviceNameTest, RejectsWhatIsNotADeviceName) {
  for (const char* bad : {"", "gpu", "CPU", "cuda", "cuda:", "cuda:-1", "cuda:x", "cuda:0 ",
                          "cuda:1a", "cuda:99999999999", "rocm:0"}) {
    auto parsed = parse_device_name(bad);
    ASSERT_FALSE(parsed) << "'" << bad << "'";
    EXPECT_EQ(parsed.error().code, ErrorCode::kInvalidArgument);
    EXPECT_NE(parsed.error().message.find("not a device name"), std::string::npos);
  }
}

TEST(PlaceModelTest, CpuLeavesTheModelHere) {
  auto model = Model::load(kModels / "stories260K.gguf");
  ASSERT_TRUE(model) << model.error().message;
  ASSERT_TRUE(place_model(**model, "cpu"));
  EXPECT_EQ((*model)->device(), nullptr);
  auto session = Session::create(**model, 16, KvType::kF16, 1);
  ASSERT_TRUE(session);
  EXPECT_TRUE((*session)->eval(std::vector<int32_t>{1, 2}));
}

TEST(PlaceModelTest, ABadNameChangesNothing) {
  auto model = Model::load(kModels / "stories260K.gguf");
  ASSERT_TRUE(model);
  auto placed = place_model(**model, "gpu:0");
  ASSERT_FALSE(placed);
  EXPECT_EQ(placed.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ((*model)->device(), nullptr);
}

// Where this build or machine has no CUDA device the answer says so, and the model stays
// usable on the CPU.
TEST(PlaceModelTest, NoCudaDeviceIsAClearErrorAndTheModelStaysOnTheCpu) {
  if (cuda_device_count() > 0) GTEST_SKIP() << "this machine has a CUDA device";
  auto model = Model::load(kModels / "stories260K.gguf", {.repack = false});
  ASSERT_TRUE(model);
  auto placed = place_model(**model, "cuda:0");
  ASSERT_FALSE(placed);
  EXPECT_EQ(placed.error().code, ErrorCode::kUnavailable);
  EXPECT_NE(placed.error().message.find("cuda:0"), std::string::npos);
  if (!cuda_built()) {
    EXPECT_NE(placed.error().message.find("-DRBEE_CUDA=ON"), std::string::npos)
        << placed.error().message;
  }
  EXPECT_EQ((*model)->device(), nullptr);
  auto session = Session::create(**model, 16, KvType::kF16, 1);
  ASSERT_TRUE(session);
  EXPECT_TRUE((*session)->eval(std::vector<int32_t>{1, 2}));
}

TEST(PlaceModelTest, AGpuNeedsTheFileLayoutNotTheCpusRepackedOne) {
  auto model = Model::load(kModels / "rand-llama-q-Q4_0.gguf");
  ASSERT_TRUE(model);
  if ((*model)->repacked_bytes() == 0) GTEST_SKIP() << "this CPU's kernels repack nothing";
  auto placed = place_model(**model, "cuda:0");
  ASSERT_FALSE(placed);
  EXPECT_EQ(placed.error().code, ErrorCode::kFailedPrecondition);
  EXPECT_NE(placed.error().message.find("without repacking"), std::string::npos);
}

}  // namespace
}  // namespace rbee::engine::gpu
