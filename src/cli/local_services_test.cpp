#include "cli/local_services.hpp"

#include <gtest/gtest.h>

#include "common/files.hpp"
#include "common/test_dir.hpp"

namespace rbee::cli {
namespace {

TEST(TailLinesTest, ReturnsTheLastLines) {
  testing::TestDir dir;
  auto path = dir.path() / "log";
  ASSERT_TRUE(write_file_atomic(path, "one\ntwo\nthree\nfour\n"));
  EXPECT_EQ(tail_lines(path, 2), "three\nfour");
  EXPECT_EQ(tail_lines(path, 10), "one\ntwo\nthree\nfour");
  EXPECT_EQ(tail_lines(dir.path() / "missing", 3), "");
}

TEST(LocalServicesTest, NothingRunningInAFreshHome) {
  testing::TestDir dir;
  auto paths = Paths::from_environment({{"RBEE_HOME", dir.path().string()}});
  ASSERT_TRUE(paths);
  RbeeConfig config;
  config.queen.port = 1;  // nothing listens on port 1
  config.hive.port = 1;
  LocalServices services(*paths, config, dir.path());
  EXPECT_FALSE(services.queen_healthy());
  EXPECT_EQ(services.running_pid(kQueenProgram), 0);
  auto stopped = services.stop(kHiveProgram);
  ASSERT_TRUE(stopped);
  EXPECT_FALSE(*stopped);
}

TEST(LocalServicesTest, MissingProgramIsAClearError) {
  testing::TestDir dir;
  auto paths = Paths::from_environment({{"RBEE_HOME", dir.path().string()}});
  ASSERT_TRUE(paths);
  RbeeConfig config;
  config.queen.port = 1;
  LocalServices services(*paths, config, dir.path() / "no-bin");
  auto started = services.ensure_running();
  ASSERT_FALSE(started);
  EXPECT_NE(started.error().message.find("queen-rbee is not installed beside rbee"),
            std::string::npos)
      << started.error().message;
}

}  // namespace
}  // namespace rbee::cli
