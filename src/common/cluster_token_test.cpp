#include "common/cluster_token.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include "common/files.hpp"
#include "common/test_dir.hpp"

namespace rbee {
namespace {

TEST(ClusterTokenTest, CreatedWithMode0600AndReusedAfter) {
  testing::TestDir dir;
  auto path = dir.path() / "cluster.token";
  auto first = load_or_create_cluster_token(path);
  ASSERT_TRUE(first) << first.error().message;
  EXPECT_EQ(first->size(), 64u);
  struct stat info {};
  ASSERT_EQ(::stat(path.c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0600u);

  auto second = load_or_create_cluster_token(path);
  ASSERT_TRUE(second);
  EXPECT_EQ(*first, *second);
  auto read = read_cluster_token(path);
  ASSERT_TRUE(read);
  EXPECT_EQ(*read, *first);
}

TEST(ClusterTokenTest, LooseModeIsTightened) {
  testing::TestDir dir;
  auto path = dir.path() / "cluster.token";
  ASSERT_TRUE(write_file_atomic(path, "secret\n", 0644));
  auto token = load_or_create_cluster_token(path);
  ASSERT_TRUE(token);
  EXPECT_EQ(*token, "secret");
  struct stat info {};
  ASSERT_EQ(::stat(path.c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0600u);
}

TEST(ClusterTokenTest, MissingFileIsNotFound) {
  testing::TestDir dir;
  auto token = read_cluster_token(dir.path() / "cluster.token");
  ASSERT_FALSE(token);
  EXPECT_EQ(token.error().code, ErrorCode::kNotFound);
}

TEST(ClusterTokenTest, EmptyFileIsAnError) {
  testing::TestDir dir;
  ASSERT_TRUE(write_file_atomic(dir.path() / "t", "\n", 0600));
  auto token = read_cluster_token(dir.path() / "t");
  ASSERT_FALSE(token);
  EXPECT_EQ(token.error().code, ErrorCode::kFailedPrecondition);
}

}  // namespace
}  // namespace rbee
