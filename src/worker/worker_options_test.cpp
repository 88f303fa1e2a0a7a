#include "worker/worker_options.hpp"

#include <gtest/gtest.h>

#include <functional>

namespace rbee::worker {
namespace {

WorkerOptions valid_options() {
  WorkerOptions options;
  options.worker_id = "w-1";
  options.model_path = "/models/stories260K.gguf";
  options.port = 9100;
  return options;
}

TEST(WorkerOptionsTest, DefaultsAreValid) {
  auto options = valid_options();
  EXPECT_TRUE(options.validate());
  EXPECT_EQ(options.effective_model_id(), "stories260K");
  EXPECT_GE(options.effective_threads(), 1);
  options.model_id = "org/repo:Q8_0";
  EXPECT_EQ(options.effective_model_id(), "org/repo:Q8_0");
}

// Only the name is checked here: whether the GPU is there is for the load to find out.
TEST(WorkerOptionsTest, AcceptsCudaDevices) {
  auto options = valid_options();
  for (const char* device : {"cuda:0", "cuda:3"}) {
    options.device = device;
    auto valid = options.validate();
    EXPECT_TRUE(valid) << device << ": " << valid.error().message;
  }
}

TEST(WorkerOptionsTest, MistakesNameTheFlag) {
  const std::vector<std::pair<std::function<void(WorkerOptions&)>, std::string>> cases = {
      {[](WorkerOptions& o) { o.worker_id.clear(); }, "--worker-id"},
      {[](WorkerOptions& o) { o.model_path.clear(); }, "--model"},
      {[](WorkerOptions& o) { o.device = "gpu"; }, "--device"},
      {[](WorkerOptions& o) { o.device = "cuda:x"; }, "--device"},
      {[](WorkerOptions& o) { o.device = "cuda:"; }, "--device"},
      {[](WorkerOptions& o) { o.parallel = 0; }, "--parallel"},
      {[](WorkerOptions& o) { o.ctx = -1; }, "--ctx"},
      {[](WorkerOptions& o) { o.threads = -2; }, "--threads"},
      {[](WorkerOptions& o) { o.queen_url = "http://127.0.0.1:7833"; }, "--token-file"},
      {[](WorkerOptions& o) { o.heartbeat_interval = std::chrono::milliseconds(0); },
       "--heartbeat-interval-ms"},
  };
  for (const auto& [mistake, flag] : cases) {
    auto options = valid_options();
    mistake(options);
    auto valid = options.validate();
    ASSERT_FALSE(valid) << flag;
    EXPECT_EQ(valid.error().code, ErrorCode::kInvalidArgument);
    EXPECT_NE(valid.error().message.find(flag), std::string::npos) << valid.error().message;
  }
}

}  // namespace
}  // namespace rbee::worker
