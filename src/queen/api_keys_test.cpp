#include "queen/api_keys.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include "common/files.hpp"
#include "common/test_dir.hpp"

namespace rbee::queen {
namespace {

TEST(ApiKeyStoreTest, CreatedKeysWorkUntilRevokedAndSurviveReopening) {
  rbee::testing::TestDir dir;
  auto path = dir.path() / "state" / "queen.db";
  std::string key;
  std::string id;
  {
    auto store = ApiKeyStore::open(path);
    ASSERT_TRUE(store) << store.error().message;
    auto created = (*store)->create("laptop");
    ASSERT_TRUE(created) << created.error().message;
    key = created->key;
    id = created->info.id;
    EXPECT_TRUE(key.starts_with("rbee-sk-"));
    EXPECT_EQ(created->info.prefix, key.substr(0, 12));
    EXPECT_TRUE((*store)->valid(key));
    EXPECT_FALSE((*store)->valid(key + "x"));
    EXPECT_FALSE((*store)->valid(""));
  }
  struct stat info {};
  ASSERT_EQ(::stat(path.c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 077, 0u) << "the database is readable by others";
  // The key itself is never stored, only its hash.
  auto bytes = read_file(path);
  ASSERT_TRUE(bytes);
  EXPECT_EQ(bytes->find(key), std::string::npos);

  auto store = ApiKeyStore::open(path);
  ASSERT_TRUE(store);
  EXPECT_TRUE((*store)->valid(key));
  auto listed = (*store)->list();
  ASSERT_TRUE(listed);
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ((*listed)[0].name, "laptop");
  auto revoked = (*store)->revoke(id);
  ASSERT_TRUE(revoked) << revoked.error().message;
  EXPECT_GT(revoked->revoked_ms, 0);
  EXPECT_FALSE((*store)->valid(key));
  EXPECT_TRUE((*store)->revoke(id));  // twice is fine
  EXPECT_EQ((*store)->revoke("key-unknown").error().code, ErrorCode::kNotFound);
}

TEST(ApiKeyStoreTest, NamesAreChecked) {
  rbee::testing::TestDir dir;
  auto store = ApiKeyStore::open(dir.path() / "queen.db");
  ASSERT_TRUE(store);
  EXPECT_EQ((*store)->create("").error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ((*store)->create("a\nb").error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ((*store)->create(std::string(101, 'x')).error().code, ErrorCode::kInvalidArgument);
}

TEST(ApiKeyStoreTest, UnopenableDatabaseIsAClearError) {
  rbee::testing::TestDir dir;
  std::filesystem::create_directories(dir.path() / "queen.db");  // a folder where the file goes
  auto store = ApiKeyStore::open(dir.path() / "queen.db");
  ASSERT_FALSE(store);
  EXPECT_NE(store.error().message.find("queen.db"), std::string::npos);
}

}  // namespace
}  // namespace rbee::queen
