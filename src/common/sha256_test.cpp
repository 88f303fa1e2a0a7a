#include "common/sha256.hpp"

#include <gtest/gtest.h>

#include <cstdio>
#include <string>

#include "common/files.hpp"
#include "common/test_dir.hpp"

namespace rbee {
namespace {

// Writes bytes to a test file (aborts the test on failure).
void write_text_file(const std::filesystem::path& path, const std::string& bytes) {
  ASSERT_TRUE(write_file_atomic(path, bytes));
}

// FIPS 180-2 test vectors.
constexpr const char* kEmptyHash =
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
constexpr const char* kAbcHash = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";

// A few MiB that are not a multiple of the block size.
std::string sample_bytes() {
  std::string bytes(3 * kFileBlockBytes + 17, '\0');
  uint32_t state = 12345;
  for (char& c : bytes) {
    state = state * 1103515245u + 12345u;
    c = static_cast<char>(state >> 24);
  }
  return bytes;
}

// What coreutils' sha256sum says, or empty when it is not installed.
std::string sha256sum_of(const std::filesystem::path& path) {
  std::string command = "sha256sum '" + path.string() + "' 2>/dev/null";
  FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) return "";
  char buffer[65] = {};
  size_t n = std::fread(buffer, 1, 64, pipe);
  ::pclose(pipe);
  return n == 64 ? std::string(buffer, 64) : "";
}

TEST(Sha256Test, KnownVectors) {
  EXPECT_EQ(sha256_hex(""), kEmptyHash);
  EXPECT_EQ(sha256_hex("abc"), kAbcHash);
  EXPECT_EQ(sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

TEST(Sha256Test, IncrementalEqualsOneShot) {
  Sha256 hasher;
  hasher.update("a");
  hasher.update("bc");
  EXPECT_EQ(hasher.finish_hex(), kAbcHash);
  // The hasher starts over after finishing.
  EXPECT_EQ(hasher.finish_hex(), kEmptyHash);
}

TEST(Sha256Test, FileHashMatchesMemoryAndSha256sum) {
  rbee::testing::TestDir dir;
  std::string bytes = sample_bytes();
  auto path = dir.path() / "blob.bin";
  write_text_file(path, bytes);

  uint64_t last_done = 0;
  uint64_t last_total = 0;
  int n_calls = 0;
  Result<std::string> hash = sha256_file(path, [&](uint64_t done, uint64_t total) {
    EXPECT_GT(done, last_done);
    last_done = done;
    last_total = total;
    ++n_calls;
  });
  ASSERT_TRUE(hash) << hash.error().message;
  EXPECT_EQ(*hash, sha256_hex(bytes));
  EXPECT_EQ(last_done, bytes.size());
  EXPECT_EQ(last_total, bytes.size());
  EXPECT_EQ(n_calls, 4);

  std::string reference = sha256sum_of(path);
  if (!reference.empty()) {
    EXPECT_EQ(*hash, reference);
  }

  write_text_file(dir.path() / "empty", "");
  EXPECT_EQ(*sha256_file(dir.path() / "empty"), kEmptyHash);
}

TEST(Sha256Test, StopsWhenCancelled) {
  rbee::testing::TestDir dir;
  write_text_file(dir.path() / "blob.bin", sample_bytes());
  std::stop_source stop;
  stop.request_stop();
  Result<std::string> hash = sha256_file(dir.path() / "blob.bin", {}, stop.get_token());
  ASSERT_FALSE(hash);
  EXPECT_EQ(hash.error().code, ErrorCode::kCancelled);
}

TEST(Sha256Test, MissingFileIsNotFound) {
  Result<std::string> hash = sha256_file("/nonexistent/rbee/file");
  ASSERT_FALSE(hash);
  EXPECT_EQ(hash.error().code, ErrorCode::kNotFound);
  EXPECT_NE(hash.error().message.find("/nonexistent/rbee/file"), std::string::npos);
}

TEST(Sha256Test, RecognizesHexDigests) {
  EXPECT_TRUE(is_sha256_hex(kAbcHash));
  EXPECT_TRUE(is_sha256_hex(
      to_lower_ascii("BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD")));
  EXPECT_TRUE(is_sha256_hex("BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD"));
  EXPECT_FALSE(is_sha256_hex(""));
  EXPECT_FALSE(is_sha256_hex(std::string(63, 'a')));
  EXPECT_FALSE(is_sha256_hex(std::string(63, 'a') + "g"));
  EXPECT_EQ(to_lower_ascii("AbC-9"), "abc-9");
}

}  // namespace
}  // namespace rbee
