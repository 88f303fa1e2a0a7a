#include "common/paths.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include "common/test_dir.hpp"

namespace rbee {
namespace {

TEST(PathsTest, RbeeHomeHoldsEverything) {
  auto paths = Paths::from_environment({{"RBEE_HOME", "/tmp/rh"}, {"HOME", "/home/u"}});
  ASSERT_TRUE(paths);
  EXPECT_EQ(paths->config_dir, "/tmp/rh/config");
  EXPECT_EQ(paths->cache_dir, "/tmp/rh/cache");
  EXPECT_EQ(paths->state_dir, "/tmp/rh/state");
  EXPECT_EQ(paths->token_file(), "/tmp/rh/config/cluster.token");
}

TEST(PathsTest, XdgDefaultsUnderHome) {
  auto paths = Paths::from_environment({{"HOME", "/home/u"}});
  ASSERT_TRUE(paths);
  EXPECT_EQ(paths->config_dir, "/home/u/.config/rbee");
  EXPECT_EQ(paths->cache_dir, "/home/u/.cache/rbee");
  EXPECT_EQ(paths->state_dir, "/home/u/.local/state/rbee");
}

TEST(PathsTest, XdgVariablesWin) {
  auto paths = Paths::from_environment({{"HOME", "/home/u"}, {"XDG_CONFIG_HOME", "/cfg"}});
  ASSERT_TRUE(paths);
  EXPECT_EQ(paths->config_dir, "/cfg/rbee");
}

TEST(PathsTest, NoHomeIsAClearError) {
  auto paths = Paths::from_environment({});
  ASSERT_FALSE(paths);
  EXPECT_EQ(paths.error().code, ErrorCode::kFailedPrecondition);
  EXPECT_NE(paths.error().message.find("RBEE_HOME"), std::string::npos);
}

TEST(PathsTest, CreatesPrivateFolders) {
  testing::TestDir dir;
  auto paths = Paths::from_environment({{"RBEE_HOME", (dir.path() / "home").string()}});
  ASSERT_TRUE(paths);
  ASSERT_TRUE(paths->create_directories());
  struct stat info {};
  ASSERT_EQ(::stat(paths->config_dir.c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0700u);
  EXPECT_TRUE(std::filesystem::is_directory(paths->log_dir()));
}

}  // namespace
}  // namespace rbee
