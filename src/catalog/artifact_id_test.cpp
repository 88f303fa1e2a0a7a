#include "catalog/artifact_id.hpp"

#include <gtest/gtest.h>

#include <random>
#include <set>
#include <string>
#include <vector>

namespace rbee::catalog {
namespace {

void expect_invalid(const std::string& id, const std::string& reason_part) {
  Status status = validate_artifact_id(id, "model");
  ASSERT_FALSE(status) << "accepted '" << id << "'";
  EXPECT_EQ(status.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(status.error().message.find("model"), std::string::npos) << status.error().message;
  EXPECT_NE(status.error().message.find(reason_part), std::string::npos)
      << "'" << status.error().message << "' does not mention '" << reason_part << "'";
}

TEST(ArtifactIdTest, AcceptsModelReferencesAndWorkerTypes) {
  for (const std::string& id : std::vector<std::string>{
           "TheBloke/TinyLlama-1.1B-GGUF:Q4_K_M", "local:my-model", "cpu", "org/repo",
           "org/repo:dir/file.gguf", "org/repo:model-00001-of-00002.gguf", "a..b", ".hidden/x",
           "名前/モデル", std::string(kMaxArtifactIdBytes, 'a')}) {
    Status status = validate_artifact_id(id, "model");
    EXPECT_TRUE(status) << id << ": " << status.error().message;
  }
}

TEST(ArtifactIdTest, RejectsTraversalAndOddBytes) {
  expect_invalid("", "empty");
  expect_invalid(std::string(kMaxArtifactIdBytes + 1, 'a'), "too long");
  expect_invalid("../x", "'..'");
  expect_invalid("a/../b", "'..'");
  expect_invalid("a/..", "'..'");
  expect_invalid("..", "'..'");
  expect_invalid(".", "'.'");
  expect_invalid("a/./b", "'.'");
  expect_invalid("/etc/passwd", "absolute");
  expect_invalid(std::string("a\0b", 3), "control character");
  expect_invalid("a\nb", "control character");
  expect_invalid("a\x7f", "control character");
  expect_invalid("a\\b", "backslash");
  expect_invalid("..\\..\\x", "backslash");
  expect_invalid("a//b", "empty path segment");
  expect_invalid("a/", "empty path segment");
  expect_invalid("\xff\xfe", "UTF-8");
  expect_invalid("\xc0\xaf", "UTF-8");      // overlong '/'
  expect_invalid("\xed\xa0\x80", "UTF-8");  // a surrogate
  expect_invalid("a\xe2\x82", "UTF-8");     // truncated
  // 200 bytes, but each ':' takes three in the directory name: more than NAME_MAX.
  expect_invalid(std::string(200, ':'), "directory name");
}

TEST(ArtifactIdTest, ControlCharactersAreShownEscapedInErrors) {
  Status status = validate_artifact_id(std::string("a\0b", 3), "model");
  ASSERT_FALSE(status);
  EXPECT_NE(status.error().message.find("a\\x00b"), std::string::npos) << status.error().message;
  EXPECT_EQ(status.error().message.find('\0'), std::string::npos);
}

TEST(ArtifactIdTest, DirectoryNamesEscapeEverythingOutsideThePortableSet) {
  EXPECT_EQ(directory_name_for_id("cpu"), "cpu");
  EXPECT_EQ(directory_name_for_id("TheBloke/TinyLlama-1.1B-GGUF:Q4_K_M"),
            "TheBloke%2FTinyLlama-1.1B-GGUF%3AQ4_K_M");
  EXPECT_EQ(directory_name_for_id("local:my model"), "local%3Amy%20model");
  EXPECT_EQ(directory_name_for_id("100%"), "100%25");
  EXPECT_EQ(directory_name_for_id(".x"), "%2Ex");
  EXPECT_EQ(directory_name_for_id("."), "%2E");
  EXPECT_EQ(directory_name_for_id(".."), "%2E.");
  EXPECT_EQ(directory_name_for_id("x."), "x.");
}

// Every string maps to a name and back, names never hide or climb, and two ids never share
// a name.
TEST(ArtifactIdTest, DirectoryNamesAreOneToOne) {
  std::vector<std::string> ids = {"cpu",
                                  "CPU",
                                  "a",
                                  "a.",
                                  ".a",
                                  "a/b",
                                  "a%2Fb",
                                  "a:b",
                                  "a%3Ab",
                                  "%",
                                  "%%",
                                  "%25",
                                  "..",
                                  ".",
                                  "a b",
                                  "a+b",
                                  "ü",
                                  "\xff",
                                  std::string("\0", 1),
                                  "TheBloke/TinyLlama-1.1B-GGUF:Q4_K_M"};
  std::mt19937 random(1234);
  std::uniform_int_distribution<int> length(1, 24);
  std::uniform_int_distribution<int> byte(0, 255);
  std::uniform_int_distribution<int> tricky(0, 7);
  const char tricky_bytes[] = {'%', '.', '/', ':', '2', 'F', 'e', 'E'};
  for (int i = 0; i < 5000; ++i) {
    std::string id;
    int n = length(random);
    for (int k = 0; k < n; ++k) {
      // Half the bytes from a small set that collides easily with escapes.
      id += (k % 2 == 0) ? static_cast<char>(byte(random)) : tricky_bytes[tricky(random)];
    }
    ids.push_back(id);
  }
  std::set<std::string> distinct_ids(ids.begin(), ids.end());
  std::set<std::string> names;
  for (const std::string& id : distinct_ids) {
    std::string name = directory_name_for_id(id);
    ASSERT_FALSE(name.empty());
    EXPECT_NE(name[0], '.') << name;
    EXPECT_NE(name, ".");
    EXPECT_NE(name, "..");
    for (char c : name) {
      bool portable = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                      c == '_' || c == '-' || c == '.' || c == '%';
      ASSERT_TRUE(portable) << name;
    }
    std::optional<std::string> back = id_from_directory_name(name);
    ASSERT_TRUE(back.has_value()) << name;
    EXPECT_EQ(*back, id);
    names.insert(name);
  }
  EXPECT_EQ(names.size(), distinct_ids.size());
}

TEST(ArtifactIdTest, RejectsNamesThatAreNotCanonicalEncodings) {
  for (const char* name : {"", ".hidden", ".", "..", "%41", "a%2f", "a%2", "a%", "a%ZZ", "a b",
                           "a:b", "a%2Eb", "%2e"}) {
    EXPECT_FALSE(id_from_directory_name(name).has_value()) << name;
  }
  EXPECT_EQ(id_from_directory_name("%2E"), std::optional<std::string>("."));
  EXPECT_EQ(id_from_directory_name("local%3Atiny"), std::optional<std::string>("local:tiny"));
}

}  // namespace
}  // namespace rbee::catalog
