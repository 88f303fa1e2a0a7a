#include "worker/model_loader.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <vector>

#include "common/test_dir.hpp"
#include "engine/gpu/cuda_forward.hpp"
#include "engine/kernels/kernel_table.hpp"
#include "worker/worker_options.hpp"

namespace rbee::worker {
namespace {

const std::filesystem::path kModels = std::filesystem::path(RBEE_TESTDATA_DIR) / "models";

TEST(ModelLoaderTest, ReportsRisingProgressAndLoads) {
  if (!std::filesystem::exists(kModels / "stories260K.gguf")) GTEST_SKIP() << "no test models";
  std::vector<double> progress;
  LoadOptions options;
  options.on_progress = [&](double p) { progress.push_back(p); };
  auto loaded = load_model(kModels / "stories260K.gguf", options);
  ASSERT_TRUE(loaded) << loaded.error().message;
  ASSERT_TRUE(loaded->tokenizer);
  EXPECT_EQ(loaded->model->hparams().n_ctx_train, 2048);
  // Several steps while the weights are read, never going back, never claiming the end.
  ASSERT_GE(progress.size(), 4u);
  EXPECT_EQ(progress.front(), 0);
  for (size_t i = 1; i < progress.size(); ++i) EXPECT_GE(progress[i], progress[i - 1]);
  EXPECT_LT(progress.back(), 1.0);
  EXPECT_GT(progress.back(), 0.9);
}

// Q4_0 matrices are repacked where the kernels have the layout, unless the options say not to;
// either way the model computes the same logits (engine tests) and loads.
TEST(ModelLoaderTest, RepacksUnlessToldNot) {
  const auto path = kModels / "rand-llama-q-Q4_0.gguf";
  if (!std::filesystem::exists(path)) GTEST_SKIP() << "no test models";
  auto repacked = load_model(path, {});
  LoadOptions mapped_only;
  mapped_only.repack = false;
  auto mapped = load_model(path, mapped_only);
  ASSERT_TRUE(repacked && mapped);
  EXPECT_EQ(mapped->model->repacked_bytes(), 0u);
  const bool has_layout =
      engine::kernels::type_traits(engine::kernels::KernelType::kQ4_0).repack_rows != nullptr;
  EXPECT_EQ(repacked->model->repacked_bytes() > 0, has_layout);
}

// Without CUDA in this build, or without a GPU, a worker asked for one fails to load with the
// reason, naming the device, and before it reads the weights.
TEST(ModelLoaderTest, AMissingGpuFailsTheLoadNamingIt) {
  if (!std::filesystem::exists(kModels / "stories260K.gguf")) GTEST_SKIP() << "no test models";
  if (engine::gpu::cuda_device_count() > 0) GTEST_SKIP() << "a CUDA device is usable here";
  std::vector<double> progress;
  LoadOptions options;
  options.device = "cuda:0";
  options.on_progress = [&](double p) { progress.push_back(p); };
  auto loaded = load_model(kModels / "stories260K.gguf", options);
  ASSERT_FALSE(loaded);
  EXPECT_EQ(loaded.error().code, ErrorCode::kUnavailable);
  EXPECT_NE(loaded.error().message.find("cuda:0"), std::string::npos) << loaded.error().message;
  if (!engine::gpu::cuda_built()) {
    EXPECT_NE(loaded.error().message.find("-DRBEE_CUDA=ON"), std::string::npos)
        << loaded.error().message;
  }
  EXPECT_EQ(progress, std::vector<double>{0});
}

// On a GPU the weights are uploaded as the file has them: never repacked, whatever the
// options say.
TEST(ModelLoaderTest, PlacesTheModelOnAGpu) {
  const auto path = kModels / "rand-llama-q-Q4_0.gguf";
  if (!std::filesystem::exists(path)) GTEST_SKIP() << "no test models";
  if (engine::gpu::cuda_device_count() == 0) GTEST_SKIP() << "no CUDA device is usable here";
  LoadOptions options;
  options.device = "cuda:0";
  auto loaded = load_model(path, options);
  ASSERT_TRUE(loaded) << loaded.error().message;
  EXPECT_EQ(loaded->model->repacked_bytes(), 0u);
  ASSERT_NE(loaded->model->device(), nullptr);
  EXPECT_NE(loaded->model->device()->description().find("cuda:0"), std::string::npos);
  EXPECT_GT(loaded->model->device()->weight_bytes(), 0u);
}

TEST(ModelLoaderTest, CancelStopsTheLoad) {
  if (!std::filesystem::exists(kModels / "stories260K.gguf")) GTEST_SKIP() << "no test models";
  LoadOptions options;
  int checks = 0;
  options.cancelled = [&] { return ++checks > 2; };
  auto loaded = load_model(kModels / "stories260K.gguf", options);
  ASSERT_FALSE(loaded);
  EXPECT_EQ(loaded.error().code, ErrorCode::kCancelled);
}

TEST(ModelLoaderTest, MissingAndTruncatedFilesFail) {
  auto missing = load_model("/nonexistent/model.gguf", {});
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, ErrorCode::kNotFound);
  if (!std::filesystem::exists(kModels / "stories260K.gguf")) GTEST_SKIP() << "no test models";
  testing::TestDir dir;
  std::ifstream in(kModels / "stories260K.gguf", std::ios::binary);
  std::vector<char> head(4096);
  in.read(head.data(), std::streamsize(head.size()));
  std::ofstream(dir.path() / "cut.gguf", std::ios::binary)
      .write(head.data(), std::streamsize(head.size()));
  auto truncated = load_model(dir.path() / "cut.gguf", {});
  ASSERT_FALSE(truncated);
  EXPECT_EQ(truncated.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(truncated.error().message.find("cut.gguf"), std::string::npos);
}

TEST(ModelLoaderTest, ContextDefaultsToTheModelsCappedAt4096) {
  EXPECT_EQ(resolve_ctx(0, 2048), 2048);
  EXPECT_EQ(resolve_ctx(0, 32768), 4096);
  EXPECT_EQ(resolve_ctx(256, 32768), 256);
  EXPECT_EQ(resolve_ctx(0, 0), 4096);
}

}  // namespace
}  // namespace rbee::worker
