#include "provision/model_reference.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>

#include "common/test_dir.hpp"

namespace rbee::provision {
namespace {

TEST(ModelReferenceTest, PlainRepo) {
  auto ref = parse_model_reference("TheBloke/Llama-2-7B-GGUF");
  ASSERT_TRUE(ref) << ref.error().message;
  EXPECT_EQ(ref->repo, "TheBloke/Llama-2-7B-GGUF");
  EXPECT_EQ(ref->quant, "");
  EXPECT_EQ(ref->file, "");
  EXPECT_EQ(ref->revision, "main");
  EXPECT_FALSE(ref->is_local());
  EXPECT_EQ(ref->canonical(), "TheBloke/Llama-2-7B-GGUF");
}

TEST(ModelReferenceTest, QuantTagIsUpperCased) {
  auto ref = parse_model_reference("org/repo:q4_k_m");
  ASSERT_TRUE(ref) << ref.error().message;
  EXPECT_EQ(ref->repo, "org/repo");
  EXPECT_EQ(ref->quant, "Q4_K_M");
  EXPECT_EQ(ref->file, "");
  EXPECT_EQ(ref->canonical(), "org/repo:Q4_K_M");
}

TEST(ModelReferenceTest, ExactFile) {
  auto ref = parse_model_reference("org/repo:sub/dir/Model-Q8_0.gguf");
  ASSERT_TRUE(ref) << ref.error().message;
  EXPECT_EQ(ref->file, "sub/dir/Model-Q8_0.gguf");
  EXPECT_EQ(ref->quant, "");
  EXPECT_EQ(ref->canonical(), "org/repo:sub/dir/Model-Q8_0.gguf");
}

TEST(ModelReferenceTest, RevisionFromArgumentOrText) {
  auto from_argument = parse_model_reference("org/repo:Q8_0", "v1.0");
  ASSERT_TRUE(from_argument) << from_argument.error().message;
  EXPECT_EQ(from_argument->revision, "v1.0");
  EXPECT_EQ(from_argument->canonical(), "org/repo:Q8_0@v1.0");

  auto from_text = parse_model_reference(from_argument->canonical(), "");
  ASSERT_TRUE(from_text) << from_text.error().message;
  EXPECT_EQ(from_text->repo, "org/repo");
  EXPECT_EQ(from_text->quant, "Q8_0");
  EXPECT_EQ(from_text->revision, "v1.0");

  auto empty_means_main = parse_model_reference("org/repo", "");
  ASSERT_TRUE(empty_means_main);
  EXPECT_EQ(empty_means_main->revision, "main");

  auto conflict = parse_model_reference("org/repo@v1", "v2");
  ASSERT_FALSE(conflict);
  EXPECT_EQ(conflict.error().code, ErrorCode::kInvalidArgument);
}

TEST(ModelReferenceTest, LocalPaths) {
  auto absolute = parse_model_reference("/models/x.gguf");
  ASSERT_TRUE(absolute) << absolute.error().message;
  EXPECT_TRUE(absolute->is_local());
  EXPECT_EQ(absolute->local_path, "/models/x.gguf");
  EXPECT_EQ(absolute->repo, "");
  EXPECT_EQ(absolute->canonical(), "/models/x.gguf");

  auto relative = parse_model_reference("./a/../b.gguf");
  ASSERT_TRUE(relative) << relative.error().message;
  EXPECT_EQ(relative->local_path, std::filesystem::current_path() / "b.gguf");

  auto parent = parse_model_reference("../m.gguf");
  ASSERT_TRUE(parent) << parent.error().message;
  EXPECT_TRUE(parent->local_path.is_absolute());

  const char* home = std::getenv("HOME");
  if (home != nullptr && *home != '\0') {
    auto tilde = parse_model_reference("~/models/y.gguf");
    ASSERT_TRUE(tilde) << tilde.error().message;
    EXPECT_EQ(tilde->local_path,
              (std::filesystem::path(home) / "models/y.gguf").lexically_normal());
  }
}

TEST(ModelReferenceTest, ExistingGgufFileIsLocalEvenWithoutPrefix) {
  rbee::testing::TestDir dir;
  auto previous = std::filesystem::current_path();
  std::filesystem::current_path(dir.path());
  std::filesystem::create_directories("org");
  std::ofstream("org/model.gguf") << "GGUF";
  auto existing = parse_model_reference("org/model.gguf");
  // A name that only looks like a file is still a repo reference (and then invalid: no quant).
  auto missing = parse_model_reference("org/other.gguf");
  std::filesystem::current_path(previous);
  ASSERT_TRUE(existing) << existing.error().message;
  EXPECT_TRUE(existing->is_local());
  EXPECT_EQ(existing->local_path, dir.path() / "org/model.gguf");
  ASSERT_TRUE(missing) << missing.error().message;
  EXPECT_FALSE(missing->is_local());
  EXPECT_EQ(missing->repo, "org/other.gguf");
}

TEST(ModelReferenceTest, RejectsMalformedReferences) {
  for (const char* text : {"", "llama", "org/", "/", "org/repo/extra", ":Q4_0",
                           "org/repo:", "org/repo@", "or g/repo", "org/re$po", "org/repo:Q4 K",
                           "org/repo:a/", "org/repo:dir/notes.txt", "org/repo:dir//x.gguf"}) {
    auto ref = parse_model_reference(text);
    if (std::string_view(text) == "/") {
      // "/" is a (nonsense) local path; the hive's import will say it is not a file.
      ASSERT_TRUE(ref);
      EXPECT_TRUE(ref->is_local());
      continue;
    }
    ASSERT_FALSE(ref) << "accepted '" << text << "'";
    EXPECT_EQ(ref.error().code, ErrorCode::kInvalidArgument) << text;
    EXPECT_FALSE(ref.error().message.empty());
  }
}

TEST(ModelReferenceTest, RejectsTraversal) {
  for (const char* text :
       {"../etc/passwd", "org/..", "../repo:Q4_0", "org/a..b", "..org/repo", "org/.hidden",
        "-org/repo", "org/repo:../x.gguf", "org/repo:a/../../x.gguf", "org/repo:./x.gguf",
        "org/repo@../main", "org/repo@main/.."}) {
    auto ref = parse_model_reference(text);
    if (ref && ref->is_local()) continue;  // "../..." is a local path by definition
    ASSERT_FALSE(ref) << "accepted '" << text << "'";
    EXPECT_EQ(ref.error().code, ErrorCode::kInvalidArgument) << text;
  }
}

TEST(ModelReferenceTest, ValidatesRepoFilePaths) {
  EXPECT_TRUE(validate_repo_file_path("a.gguf"));
  EXPECT_TRUE(validate_repo_file_path("dir/sub/a-00001-of-00002.gguf"));
  for (const char* bad :
       {"", "/abs.gguf", "../x", "a/../../x", "a//b", "a/./b", "a\\b", "a/", "x\n.gguf"}) {
    EXPECT_FALSE(validate_repo_file_path(bad)) << bad;
  }
}

TEST(ModelReferenceTest, ValidatesRevisions) {
  EXPECT_TRUE(validate_revision("main"));
  EXPECT_TRUE(validate_revision("refs/pr/1"));
  EXPECT_TRUE(validate_revision("0123456789abcdef0123456789abcdef01234567"));
  for (const char* bad : {"", "..", "a/../b", "/main", "main/", "a b", "a?b", "a%2Fb"}) {
    EXPECT_FALSE(validate_revision(bad)) << bad;
  }
}

TEST(ModelReferenceTest, ValidatesRepoNames) {
  EXPECT_TRUE(validate_repo_name("Qwen/Qwen2.5-0.5B-Instruct-GGUF"));
  EXPECT_TRUE(validate_repo_name("a/b"));
  EXPECT_FALSE(validate_repo_name("a/" + std::string(97, 'x')));
  EXPECT_FALSE(validate_repo_name("a/b/c"));
  EXPECT_FALSE(validate_repo_name("a"));
}

}  // namespace
}  // namespace rbee::provision
