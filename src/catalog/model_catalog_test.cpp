#include "catalog/model_catalog.hpp"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "catalog/file_ops.hpp"
#include "catalog/test_models.hpp"
#include "common/test_dir.hpp"

namespace rbee::catalog {
namespace {

namespace fs = std::filesystem;
using ::rbee::catalog::testing::hidden_names;
using ::rbee::catalog::testing::read_text_file;
using ::rbee::catalog::testing::testdata_dir;
using ::rbee::catalog::testing::write_text_file;
using ::rbee::catalog::testing::write_tiny_gguf;

ino_t inode_of(const fs::path& path) {
  struct stat info {};
  EXPECT_EQ(::stat(path.c_str(), &info), 0) << path;
  return info.st_ino;
}

// The hash listed for `file` in the test models' SHA256SUMS.
std::string listed_sha256(const std::string& file) {
  std::ifstream sums(testdata_dir() / "models" / "SHA256SUMS");
  std::string hash;
  std::string name;
  while (sums >> hash >> name) {
    if (name == file || name == "*" + file) return hash;
  }
  return "";
}

class ModelCatalogTest : public ::testing::Test {
 protected:
  fs::path cache() const { return dir_.path() / "cache"; }
  fs::path models_root() const { return cache() / "models"; }
  fs::path originals() const { return dir_.path() / "originals"; }
  void SetUp() override { fs::create_directories(originals()); }

  rbee::testing::TestDir dir_;
  ModelCatalog catalog_{cache()};
};

TEST_F(ModelCatalogTest, ImportHardLinksHashesAndDescribes) {
  fs::path source = originals() / "tiny.gguf";
  write_tiny_gguf(source);
  Result<ArtifactEntry> entry = catalog_.import_local_gguf(source);
  ASSERT_TRUE(entry) << entry.error().message;

  EXPECT_EQ(entry->id, "local:tiny");
  EXPECT_EQ(entry->kind, "model");
  EXPECT_TRUE(entry->ready());
  EXPECT_DOUBLE_EQ(entry->progress, 1.0);
  EXPECT_EQ(entry->dir, models_root() / "local%3Atiny");
  EXPECT_EQ(entry->file, "tiny.gguf");
  EXPECT_EQ(entry->size_bytes, fs::file_size(source));
  // Same file system: the entry's file is the original's inode, not a copy.
  EXPECT_EQ(inode_of(entry->file_path()), inode_of(source));

  Result<ModelMetadata> metadata = parse_model_metadata(entry->metadata);
  ASSERT_TRUE(metadata) << metadata.error().message;
  EXPECT_EQ(metadata->source.type, "local");
  EXPECT_EQ(metadata->source.path, source.string());
  ASSERT_EQ(metadata->files.size(), 1u);
  EXPECT_EQ(metadata->files[0].name, "tiny.gguf");
  EXPECT_TRUE(metadata->files[0].hard_linked);
  EXPECT_EQ(metadata->files[0].size_bytes, fs::file_size(source));
  EXPECT_EQ(metadata->files[0].sha256, *sha256_file(source));
  ASSERT_TRUE(metadata->info.has_value());
  EXPECT_EQ(metadata->info->architecture, "llama");
  EXPECT_EQ(metadata->info->name, "tiny");
  EXPECT_EQ(metadata->info->n_parameters, 32u * 4 + 32);

  // What get() and list() see is what import returned.
  Result<ArtifactEntry> read = catalog_.get("local:tiny");
  ASSERT_TRUE(read);
  EXPECT_EQ(read->metadata, entry->metadata);
  ArtifactListing listing = catalog_.list();
  ASSERT_EQ(listing.entries.size(), 1u);
  EXPECT_TRUE(listing.invalid.empty());
  EXPECT_TRUE(hidden_names(models_root()).empty());
}

TEST_F(ModelCatalogTest, ImportingTheSameFileAgainGivesTheSameEntry) {
  fs::path source = originals() / "tiny.gguf";
  write_tiny_gguf(source);
  Result<ArtifactEntry> first = catalog_.import_local_gguf(source);
  ASSERT_TRUE(first) << first.error().message;
  std::string metadata_before = read_text_file(first->dir / "metadata.json");

  Result<ArtifactEntry> second = catalog_.import_local_gguf(source);
  ASSERT_TRUE(second) << second.error().message;
  EXPECT_EQ(second->id, first->id);
  EXPECT_EQ(second->created_ms, first->created_ms);
  EXPECT_EQ(second->updated_ms, first->updated_ms);
  EXPECT_EQ(read_text_file(first->dir / "metadata.json"), metadata_before);
  EXPECT_EQ(inode_of(second->file_path()), inode_of(source));
  EXPECT_EQ(catalog_.list().entries.size(), 1u);
  EXPECT_TRUE(hidden_names(models_root()).empty());

  // A relative path to the same file is the same import.
  fs::path previous = fs::current_path();
  fs::current_path(originals());
  Result<ArtifactEntry> relative = catalog_.import_local_gguf("tiny.gguf");
  fs::current_path(previous);
  ASSERT_TRUE(relative) << relative.error().message;
  EXPECT_EQ(relative->updated_ms, first->updated_ms);
}

TEST_F(ModelCatalogTest, AChangedFileReplacesTheEntry) {
  fs::path source = originals() / "tiny.gguf";
  write_tiny_gguf(source, 4, 1.0f);
  Result<ArtifactEntry> first = catalog_.import_local_gguf(source);
  ASSERT_TRUE(first);
  write_tiny_gguf(source, 4, 3.0f);  // same size, other bytes
  Result<ArtifactEntry> second = catalog_.import_local_gguf(source);
  ASSERT_TRUE(second) << second.error().message;
  EXPECT_EQ(second->created_ms, first->created_ms);
  EXPECT_NE(second->metadata["files"][0]["sha256"], first->metadata["files"][0]["sha256"]);
  EXPECT_EQ(second->metadata["files"][0]["sha256"], *sha256_file(source));
  EXPECT_EQ(inode_of(second->file_path()), inode_of(source));
  EXPECT_TRUE(hidden_names(models_root()).empty());
}

TEST_F(ModelCatalogTest, AnIdFromElsewhereIsNotTakenOver) {
  write_tiny_gguf(originals() / "tiny.gguf");
  fs::create_directories(originals() / "other");
  write_tiny_gguf(originals() / "other" / "tiny.gguf", 4, 5.0f);
  ASSERT_TRUE(catalog_.import_local_gguf(originals() / "tiny.gguf"));
  Result<ArtifactEntry> clash = catalog_.import_local_gguf(originals() / "other" / "tiny.gguf");
  ASSERT_FALSE(clash);
  EXPECT_EQ(clash.error().code, ErrorCode::kAlreadyExists);
  EXPECT_NE(clash.error().message.find("local:tiny"), std::string::npos) << clash.error().message;

  ImportOptions options;
  options.id = "local:tiny-other";
  Result<ArtifactEntry> renamed =
      catalog_.import_local_gguf(originals() / "other" / "tiny.gguf", options);
  ASSERT_TRUE(renamed) << renamed.error().message;
  EXPECT_EQ(renamed->id, "local:tiny-other");
  EXPECT_EQ(catalog_.list().entries.size(), 2u);
}

TEST_F(ModelCatalogTest, AnUnfinishedDownloadUnderTheIdIsReplaced) {
  ArtifactEntry downloading;
  downloading.id = "local:tiny";
  downloading.state = ArtifactState::kFailed;
  downloading.error = "interrupted";
  ASSERT_TRUE(catalog_.put(downloading));
  write_tiny_gguf(originals() / "tiny.gguf");
  Result<ArtifactEntry> entry = catalog_.import_local_gguf(originals() / "tiny.gguf");
  ASSERT_TRUE(entry) << entry.error().message;
  EXPECT_TRUE(entry->ready());
  EXPECT_EQ(entry->error, "");
}

TEST_F(ModelCatalogTest, InvalidFilesLeaveNothingBehind) {
  write_text_file(originals() / "notes.gguf", "not a model");
  Result<ArtifactEntry> text = catalog_.import_local_gguf(originals() / "notes.gguf");
  ASSERT_FALSE(text);
  EXPECT_EQ(text.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(text.error().message.find("notes.gguf"), std::string::npos);

  Result<ArtifactEntry> missing = catalog_.import_local_gguf(originals() / "missing.gguf");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, ErrorCode::kNotFound);

  write_tiny_gguf(originals() / "tiny.gguf");
  ImportOptions bad_id;
  bad_id.id = "../escape";
  EXPECT_EQ(catalog_.import_local_gguf(originals() / "tiny.gguf", bad_id).error().code,
            ErrorCode::kInvalidArgument);

  EXPECT_TRUE(catalog_.list().entries.empty());
  if (fs::exists(models_root())) {
    EXPECT_TRUE(hidden_names(models_root()).empty());
  }
  EXPECT_FALSE(fs::exists(dir_.path() / "escape"));
}

TEST_F(ModelCatalogTest, CancelledImportLeavesNothingBehind) {
  write_tiny_gguf(originals() / "tiny.gguf");
  std::stop_source stop;
  stop.request_stop();
  ImportOptions options;
  options.stop = stop.get_token();
  Result<ArtifactEntry> entry = catalog_.import_local_gguf(originals() / "tiny.gguf", options);
  ASSERT_FALSE(entry);
  EXPECT_EQ(entry.error().code, ErrorCode::kCancelled);
  EXPECT_TRUE(catalog_.list().entries.empty());
  EXPECT_TRUE(hidden_names(models_root()).empty());
  EXPECT_TRUE(fs::exists(originals() / "tiny.gguf"));
}

TEST_F(ModelCatalogTest, RemovingAnImportKeepsTheOriginal) {
  fs::path source = originals() / "tiny.gguf";
  write_tiny_gguf(source);
  std::string bytes = read_text_file(source);
  ASSERT_TRUE(catalog_.import_local_gguf(source));
  ASSERT_TRUE(catalog_.remove("local:tiny"));
  EXPECT_EQ(read_text_file(source), bytes);
  EXPECT_TRUE(catalog_.list().entries.empty());
}

TEST_F(ModelCatalogTest, SplitModelsImportAllParts) {
  fs::path first = originals() / split_file_name("big", 1, 2);
  fs::path second = originals() / split_file_name("big", 2, 2);
  write_tiny_gguf(first, 4, 1.0f);
  write_tiny_gguf(second, 8, 2.0f);
  uint64_t last_done = 0;
  uint64_t last_total = 0;
  ImportOptions options;
  options.progress = [&](uint64_t done, uint64_t total) {
    EXPECT_GE(done, last_done);
    last_done = done;
    last_total = total;
  };
  // Any part names the model.
  Result<ArtifactEntry> entry = catalog_.import_local_gguf(second, options);
  ASSERT_TRUE(entry) << entry.error().message;
  EXPECT_EQ(entry->id, "local:big");
  EXPECT_EQ(entry->file, first.filename().string());
  uint64_t total = fs::file_size(first) + fs::file_size(second);
  EXPECT_EQ(entry->size_bytes, total);
  EXPECT_EQ(last_done, total);
  EXPECT_EQ(last_total, total);
  EXPECT_TRUE(fs::exists(entry->dir / first.filename()));
  EXPECT_TRUE(fs::exists(entry->dir / second.filename()));
  Result<ModelMetadata> metadata = parse_model_metadata(entry->metadata);
  ASSERT_TRUE(metadata);
  EXPECT_EQ(metadata->source.path, first.string());
  ASSERT_EQ(metadata->files.size(), 2u);
  EXPECT_EQ(metadata->files[1].sha256, *sha256_file(second));
  EXPECT_EQ(metadata->info->n_files, 2u);
}

TEST_F(ModelCatalogTest, ImportsASharedTestModel) {
  RBEE_SKIP_WITHOUT_TESTDATA();
  // Copied into the test's own folder first: the shared data is never linked from a cache.
  fs::path source = originals() / "stories260K.gguf";
  fs::copy_file(testdata_dir() / "models" / "stories260K.gguf", source);
  Result<ArtifactEntry> entry = catalog_.import_local_gguf(source);
  ASSERT_TRUE(entry) << entry.error().message;
  EXPECT_EQ(entry->id, "local:stories260K");
  EXPECT_EQ(inode_of(entry->file_path()), inode_of(source));
  std::string expected = listed_sha256("stories260K.gguf");
  ASSERT_FALSE(expected.empty());
  EXPECT_EQ(entry->metadata["files"][0]["sha256"], expected);
  EXPECT_EQ(entry->metadata["info"]["parameters"], 292800);
  EXPECT_EQ(entry->metadata["info"]["context_length"], 2048);
}

// Across file systems a hard link is impossible: the file is copied (through a temporary
// name) and the copy is what gets hashed.
TEST_F(ModelCatalogTest, CopiesAcrossFileSystems) {
  std::string pattern = "/dev/shm/rbee-test-XXXXXX";
  if (!fs::is_directory("/dev/shm") || ::mkdtemp(pattern.data()) == nullptr) {
    GTEST_SKIP() << "no /dev/shm";
  }
  fs::path other_fs = pattern;
  struct Cleanup {
    fs::path path;
    ~Cleanup() { detail::remove_all_quietly(path); }
  } cleanup{other_fs};
  struct stat shm_info {};
  struct stat cache_info {};
  ::stat(other_fs.c_str(), &shm_info);
  ::stat(dir_.path().c_str(), &cache_info);
  if (shm_info.st_dev == cache_info.st_dev) GTEST_SKIP() << "/dev/shm is on the same file system";

  fs::path source = other_fs / "far.gguf";
  write_tiny_gguf(source);
  Result<ArtifactEntry> entry = catalog_.import_local_gguf(source);
  ASSERT_TRUE(entry) << entry.error().message;
  EXPECT_NE(inode_of(entry->file_path()), inode_of(source));
  EXPECT_EQ(read_text_file(entry->file_path()), read_text_file(source));
  EXPECT_FALSE(entry->metadata["files"][0]["hard_linked"].get<bool>());
  EXPECT_EQ(entry->metadata["files"][0]["sha256"], *sha256_file(source));
  EXPECT_TRUE(hidden_names(entry->dir).empty());
  EXPECT_TRUE(hidden_names(models_root()).empty());
}

TEST(ModelMetadataJsonTest, RoundTripsBothSources) {
  ModelMetadata downloaded;
  downloaded.source.type = "huggingface";
  downloaded.source.repo = "TheBloke/TinyLlama-1.1B-Chat-v1.0-GGUF";
  downloaded.source.revision = "main";
  downloaded.source.files = {"tinyllama-1.1b-chat-v1.0.Q4_K_M.gguf"};
  downloaded.files = {
      {"tinyllama-1.1b-chat-v1.0.Q4_K_M.gguf", 668788096, std::string(64, 'a'), false}};
  Json json = to_json(downloaded);
  EXPECT_EQ(json["format"], "gguf");
  EXPECT_FALSE(json.contains("info"));
  Result<ModelMetadata> back = parse_model_metadata(json);
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_FALSE(back->info.has_value());
  EXPECT_EQ(back->source.repo, downloaded.source.repo);
  EXPECT_EQ(back->source.revision, "main");
  EXPECT_EQ(back->source.files, downloaded.source.files);
  ASSERT_EQ(back->files.size(), 1u);
  EXPECT_EQ(back->files[0].size_bytes, 668788096u);
  EXPECT_EQ(back->files[0].sha256, std::string(64, 'a'));

  ModelMetadata local;
  local.source.type = "local";
  local.source.path = "/data/m.gguf";
  Result<ModelMetadata> local_back = parse_model_metadata(to_json(local));
  ASSERT_TRUE(local_back);
  EXPECT_EQ(local_back->source.path, "/data/m.gguf");

  Json unknown_source = to_json(local);
  unknown_source["source"]["type"] = "ftp";
  Result<ModelMetadata> rejected = parse_model_metadata(unknown_source);
  ASSERT_FALSE(rejected);
  EXPECT_NE(rejected.error().message.find("metadata.source.type"), std::string::npos)
      << rejected.error().message;
  Json escaping_file = to_json(downloaded);
  escaping_file["files"][0]["name"] = "../../x";
  EXPECT_FALSE(parse_model_metadata(escaping_file));
}

TEST(DefaultLocalModelIdTest, UsesTheStem) {
  EXPECT_EQ(default_local_model_id("/m/tiny.gguf"), "local:tiny");
  EXPECT_EQ(default_local_model_id("/m/Qwen2-7B-00001-of-00003.gguf"), "local:Qwen2-7B");
  EXPECT_EQ(default_local_model_id("rel/a.b.gguf"), "local:a.b");
}

}  // namespace
}  // namespace rbee::catalog
