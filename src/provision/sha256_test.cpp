#include "provision/sha256.hpp"

#include <gtest/gtest.h>

#include <fstream>

#include "common/test_dir.hpp"

namespace rbee::provision {
namespace {

TEST(Sha256Test, KnownDigests) {
  Sha256 hasher;
  EXPECT_EQ(hasher.hex_digest(),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  hasher.update("ab");
  hasher.update("c");
  EXPECT_EQ(hasher.hex_digest(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(Sha256Test, FileAndErrors) {
  rbee::testing::TestDir dir;
  std::ofstream(dir.path() / "f") << "abc";
  auto digest = sha256_file(dir.path() / "f");
  ASSERT_TRUE(digest) << digest.error().message;
  EXPECT_EQ(*digest, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  auto missing = sha256_file(dir.path() / "nope");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, ErrorCode::kNotFound);
  std::stop_source stop;
  stop.request_stop();
  auto cancelled = sha256_file(dir.path() / "f", stop.get_token());
  ASSERT_FALSE(cancelled);
  EXPECT_EQ(cancelled.error().code, ErrorCode::kCancelled);
}

TEST(Sha256Test, RecognizesHex) {
  EXPECT_TRUE(is_sha256_hex(std::string(64, 'A')));
  EXPECT_FALSE(is_sha256_hex(std::string(63, 'a')));
  EXPECT_FALSE(is_sha256_hex(std::string(63, 'a') + "g"));
}

}  // namespace
}  // namespace rbee::provision
