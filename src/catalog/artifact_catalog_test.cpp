#include "catalog/artifact_catalog.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <thread>
#include <vector>

#include "catalog/artifact_id.hpp"
#include "catalog/test_models.hpp"
#include "common/test_dir.hpp"

namespace rbee::catalog {
namespace {

namespace fs = std::filesystem;
using ::rbee::catalog::testing::hidden_names;
using ::rbee::catalog::testing::read_text_file;
using ::rbee::catalog::testing::write_text_file;

ArtifactEntry make_entry(const std::string& id) {
  ArtifactEntry entry;
  entry.id = id;
  entry.file = "model.gguf";
  entry.size_bytes = 1234;
  entry.state = ArtifactState::kDownloading;
  entry.progress = 0.25;
  entry.metadata = {{"source", {{"type", "huggingface"}, {"repo", "org/repo"}}}};
  return entry;
}

class ArtifactCatalogTest : public ::testing::Test {
 protected:
  fs::path root() const { return dir_.path() / "models"; }
  rbee::testing::TestDir dir_;
  ArtifactCatalog catalog_{root(), "model"};
};

TEST_F(ArtifactCatalogTest, PutThenGetReturnsTheEntry) {
  Result<ArtifactEntry> stored = catalog_.put(make_entry("org/repo:Q4_K_M"));
  ASSERT_TRUE(stored) << stored.error().message;
  EXPECT_EQ(stored->kind, "model");
  EXPECT_EQ(stored->dir, root() / "org%2Frepo%3AQ4_K_M");
  EXPECT_GT(stored->created_ms, 0);
  EXPECT_EQ(stored->created_ms, stored->updated_ms);

  Result<ArtifactEntry> read = catalog_.get("org/repo:Q4_K_M");
  ASSERT_TRUE(read) << read.error().message;
  EXPECT_EQ(read->id, "org/repo:Q4_K_M");
  EXPECT_EQ(read->kind, "model");
  EXPECT_EQ(read->dir, stored->dir);
  EXPECT_EQ(read->file, "model.gguf");
  EXPECT_EQ(read->file_path(), stored->dir / "model.gguf");
  EXPECT_EQ(read->size_bytes, 1234u);
  EXPECT_EQ(read->state, ArtifactState::kDownloading);
  EXPECT_DOUBLE_EQ(read->progress, 0.25);
  EXPECT_EQ(read->created_ms, stored->created_ms);
  EXPECT_EQ(read->metadata["source"]["repo"], "org/repo");

  // The folder is not stored (a moved cache stays valid).
  std::string text = read_text_file(stored->dir / "metadata.json");
  EXPECT_EQ(text.find("\"dir\""), std::string::npos) << text;
  EXPECT_TRUE(hidden_names(stored->dir).empty());
}

TEST_F(ArtifactCatalogTest, PutKeepsCreationTimeAndUpdatesTheRest) {
  ASSERT_TRUE(catalog_.put(make_entry("a")));
  Result<ArtifactEntry> first = catalog_.get("a");
  ASSERT_TRUE(first);
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  ArtifactEntry ready = make_entry("a");
  ready.state = ArtifactState::kReady;
  ready.progress = 1.0;
  ASSERT_TRUE(catalog_.put(ready));
  Result<ArtifactEntry> second = catalog_.get("a");
  ASSERT_TRUE(second);
  EXPECT_EQ(second->created_ms, first->created_ms);
  EXPECT_GT(second->updated_ms, first->updated_ms);
  EXPECT_TRUE(second->ready());
}

TEST_F(ArtifactCatalogTest, GetOfAMissingEntryIsNotFoundNamingIt) {
  Result<ArtifactEntry> missing = catalog_.get("org/none");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, ErrorCode::kNotFound);
  EXPECT_NE(missing.error().message.find("model 'org/none' not found"), std::string::npos)
      << missing.error().message;
}

TEST_F(ArtifactCatalogTest, InvalidIdsNeverTouchTheDisk) {
  for (const std::string& id :
       std::vector<std::string>{"../x", "a/../b", "/etc/passwd", ".", std::string("a\0b", 3)}) {
    EXPECT_EQ(catalog_.get(id).error().code, ErrorCode::kInvalidArgument) << id;
    EXPECT_EQ(catalog_.put(make_entry(id)).error().code, ErrorCode::kInvalidArgument) << id;
    EXPECT_EQ(catalog_.remove(id).error().code, ErrorCode::kInvalidArgument) << id;
    EXPECT_FALSE(catalog_.entry_dir(id)) << id;
  }
  EXPECT_FALSE(fs::exists(root()));
  EXPECT_FALSE(fs::exists(dir_.path() / "x"));
}

TEST_F(ArtifactCatalogTest, PutRejectsFilesOutsideTheFolderAndBadProgress) {
  ArtifactEntry escaping = make_entry("a");
  escaping.file = "../../etc/passwd";
  EXPECT_EQ(catalog_.put(escaping).error().code, ErrorCode::kInvalidArgument);
  escaping.file = "/etc/passwd";
  EXPECT_EQ(catalog_.put(escaping).error().code, ErrorCode::kInvalidArgument);
  ArtifactEntry too_far = make_entry("a");
  too_far.progress = 1.5;
  EXPECT_EQ(catalog_.put(too_far).error().code, ErrorCode::kInvalidArgument);
  ArtifactEntry nested = make_entry("a");
  nested.file = "bin/llm-worker-rbee";
  EXPECT_TRUE(catalog_.put(nested));
}

TEST_F(ArtifactCatalogTest, ListIsSortedById) {
  for (const char* id : {"zeta", "local:b", "org/a:Q8_0", "alpha"}) {
    ASSERT_TRUE(catalog_.put(make_entry(id)));
  }
  ArtifactListing listing = catalog_.list();
  EXPECT_TRUE(listing.invalid.empty());
  std::vector<std::string> ids;
  for (const ArtifactEntry& entry : listing.entries) ids.push_back(entry.id);
  EXPECT_EQ(ids, (std::vector<std::string>{"alpha", "local:b", "org/a:Q8_0", "zeta"}));
}

TEST_F(ArtifactCatalogTest, ListOfAMissingRootIsEmpty) {
  ArtifactListing listing = catalog_.list();
  EXPECT_TRUE(listing.entries.empty());
  EXPECT_TRUE(listing.invalid.empty());
}

TEST_F(ArtifactCatalogTest, RemoveDeletesTheFolder) {
  Result<ArtifactEntry> stored = catalog_.put(make_entry("org/repo"));
  ASSERT_TRUE(stored);
  write_text_file(stored->dir / "model.gguf", "weights");
  ASSERT_TRUE(catalog_.remove("org/repo"));
  EXPECT_FALSE(fs::exists(stored->dir));
  EXPECT_EQ(catalog_.get("org/repo").error().code, ErrorCode::kNotFound);
  EXPECT_TRUE(catalog_.list().entries.empty());
  EXPECT_TRUE(hidden_names(root()).empty());  // the renamed folder is gone too

  Status again = catalog_.remove("org/repo");
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, ErrorCode::kNotFound);
}

// Anything that is not a valid entry is reported, and the valid entries still list.
TEST_F(ArtifactCatalogTest, InvalidFoldersAreReportedNotFatal) {
  ASSERT_TRUE(catalog_.put(make_entry("good/one")));
  ASSERT_TRUE(catalog_.put(make_entry("good/two")));
  Result<ArtifactEntry> corrupt = catalog_.put(make_entry("corrupt"));
  ASSERT_TRUE(corrupt);
  write_text_file(corrupt->dir / "metadata.json", "{\"id\": \"corrupt\", \"ki");
  fs::create_directory(root() / "stray");          // no metadata.json
  fs::create_directory(root() / "not%zzencoded");  // not an encoding
  fs::create_directory(root() / "a..%2F..%2Fb");   // decodes to an invalid id
  fs::create_directory(root() / "mismatch");       // metadata of another id
  fs::copy_file(root() / "good%2Fone" / "metadata.json", root() / "mismatch" / "metadata.json");
  write_text_file(root() / "loose-file", "x");       // not a folder
  fs::create_directory(root() / ".staging-abc123");  // the catalog's own: ignored

  ArtifactListing listing = catalog_.list();
  ASSERT_EQ(listing.entries.size(), 2u);
  EXPECT_EQ(listing.entries[0].id, "good/one");
  EXPECT_EQ(listing.entries[1].id, "good/two");
  std::map<std::string, std::string> reasons;
  for (const InvalidEntry& invalid : listing.invalid) {
    reasons[invalid.dir.filename().string()] = invalid.reason;
  }
  ASSERT_EQ(reasons.size(), 6u);
  EXPECT_NE(reasons["corrupt"].find("corrupt"), std::string::npos) << reasons["corrupt"];
  EXPECT_NE(reasons["stray"].find("no metadata.json"), std::string::npos) << reasons["stray"];
  EXPECT_NE(reasons["not%zzencoded"].find("not an encoded"), std::string::npos);
  EXPECT_NE(reasons["a..%2F..%2Fb"].find("'..'"), std::string::npos) << reasons["a..%2F..%2Fb"];
  EXPECT_NE(reasons["mismatch"].find("names 'good/one'"), std::string::npos) << reasons["mismatch"];
  EXPECT_NE(reasons["loose-file"].find("not a folder"), std::string::npos);

  Result<ArtifactEntry> read_corrupt = catalog_.get("corrupt");
  ASSERT_FALSE(read_corrupt);
  EXPECT_EQ(read_corrupt.error().code, ErrorCode::kInternal);
  EXPECT_EQ(catalog_.get("stray").error().code, ErrorCode::kNotFound);
  // A broken entry can be overwritten or removed.
  EXPECT_TRUE(catalog_.put(make_entry("corrupt")));
  EXPECT_TRUE(catalog_.remove("stray"));
}

// A crash in the middle of write_file_atomic leaves a temporary file beside metadata.json:
// the previous metadata stays what readers see, and remove_leftovers() tidies up.
TEST_F(ArtifactCatalogTest, InterruptedWritesLeaveThePreviousMetadataReadable) {
  Result<ArtifactEntry> stored = catalog_.put(make_entry("org/repo"));
  ASSERT_TRUE(stored);
  write_text_file(stored->dir / "metadata.json.tmp.99999", "{\"id\":\"org/repo\",\"sta");
  fs::create_directory(root() / ".removing-0123456789abcdef");
  write_text_file(root() / ".removing-0123456789abcdef" / "model.gguf", "half deleted");
  fs::create_directory(root() / ".staging-XyZ123");

  Result<ArtifactEntry> read = catalog_.get("org/repo");
  ASSERT_TRUE(read) << read.error().message;
  EXPECT_DOUBLE_EQ(read->progress, 0.25);
  ArtifactListing listing = catalog_.list();
  EXPECT_EQ(listing.entries.size(), 1u);
  EXPECT_TRUE(listing.invalid.empty());

  // A later write replaces the metadata whatever was left behind.
  ASSERT_TRUE(catalog_.update("org/repo", [](ArtifactEntry& entry) { entry.progress = 0.5; }));
  EXPECT_DOUBLE_EQ(catalog_.get("org/repo")->progress, 0.5);

  EXPECT_EQ(catalog_.remove_leftovers(), 3u);
  EXPECT_TRUE(hidden_names(root()).empty());
  EXPECT_FALSE(fs::exists(stored->dir / "metadata.json.tmp.99999"));
  EXPECT_TRUE(fs::exists(stored->dir / "metadata.json"));
  EXPECT_TRUE(catalog_.get("org/repo"));
}

// A symlink planted where an entry folder would be could lead anywhere: it is no entry.
TEST_F(ArtifactCatalogTest, SymlinkedFoldersAreNotEntries) {
  ArtifactCatalog elsewhere(dir_.path() / "elsewhere", "model");
  Result<ArtifactEntry> outside = elsewhere.put(make_entry("linked"));
  ASSERT_TRUE(outside);
  fs::create_directories(root());
  fs::create_directory_symlink(outside->dir, root() / "linked");

  EXPECT_EQ(catalog_.get("linked").error().code, ErrorCode::kNotFound);
  ArtifactListing listing = catalog_.list();
  EXPECT_TRUE(listing.entries.empty());
  ASSERT_EQ(listing.invalid.size(), 1u);
  EXPECT_EQ(listing.invalid[0].reason, "not a folder");
  EXPECT_FALSE(catalog_.put(make_entry("linked")));
  EXPECT_EQ(catalog_.remove("linked").error().code, ErrorCode::kNotFound);
  EXPECT_TRUE(fs::exists(outside->dir / "metadata.json"));
}

TEST_F(ArtifactCatalogTest, UpdateChangesOneEntryUnderTheLock) {
  ArtifactEntry entry = make_entry("counter");
  entry.metadata = {{"count", 0}};
  ASSERT_TRUE(catalog_.put(entry));
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([this] {
      for (int i = 0; i < 10; ++i) {
        Result<ArtifactEntry> updated = catalog_.update("counter", [](ArtifactEntry& e) {
          e.metadata["count"] = e.metadata["count"].get<int>() + 1;
        });
        ASSERT_TRUE(updated) << updated.error().message;
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(catalog_.get("counter")->metadata["count"], 80);

  Result<ArtifactEntry> missing = catalog_.update("nothing", [](ArtifactEntry&) {});
  EXPECT_EQ(missing.error().code, ErrorCode::kNotFound);
}

TEST_F(ArtifactCatalogTest, CommitStagingReplacesAnEntryInOneStep) {
  Result<ArtifactEntry> old_entry = catalog_.put(make_entry("org/repo"));
  ASSERT_TRUE(old_entry);
  write_text_file(old_entry->dir / "old.gguf", "old weights");

  Result<fs::path> staging = catalog_.create_staging_dir();
  ASSERT_TRUE(staging) << staging.error().message;
  EXPECT_EQ(staging->parent_path(), root());
  write_text_file(*staging / "new.gguf", "new weights");
  EXPECT_EQ(catalog_.list().entries.size(), 1u);  // staging is invisible

  ArtifactEntry fresh = make_entry("org/repo");
  fresh.file = "new.gguf";
  fresh.state = ArtifactState::kReady;
  fresh.progress = 1.0;
  Result<ArtifactEntry> committed = catalog_.commit_staging(*staging, fresh);
  ASSERT_TRUE(committed) << committed.error().message;
  EXPECT_EQ(committed->dir, old_entry->dir);
  EXPECT_EQ(committed->created_ms, old_entry->created_ms);
  EXPECT_EQ(read_text_file(committed->file_path()), "new weights");
  EXPECT_FALSE(fs::exists(committed->dir / "old.gguf"));
  EXPECT_FALSE(fs::exists(*staging));
  EXPECT_TRUE(hidden_names(root()).empty());
  EXPECT_TRUE(catalog_.get("org/repo")->ready());
}

TEST_F(ArtifactCatalogTest, CommitStagingCreatesANewEntry) {
  Result<fs::path> staging = catalog_.create_staging_dir();
  ASSERT_TRUE(staging);
  ArtifactEntry entry = make_entry("new");
  Result<ArtifactEntry> committed = catalog_.commit_staging(*staging, entry);
  ASSERT_TRUE(committed) << committed.error().message;
  EXPECT_TRUE(catalog_.get("new"));
}

TEST_F(ArtifactCatalogTest, CommitStagingAcceptsOnlyItsOwnStagingFolders) {
  fs::create_directories(dir_.path() / "elsewhere");
  Result<ArtifactEntry> outside =
      catalog_.commit_staging(dir_.path() / "elsewhere", make_entry("a"));
  ASSERT_FALSE(outside);
  EXPECT_EQ(outside.error().code, ErrorCode::kInvalidArgument);
  ASSERT_TRUE(catalog_.put(make_entry("b")));
  Result<ArtifactEntry> entry_folder = catalog_.commit_staging(root() / "b", make_entry("a"));
  EXPECT_FALSE(entry_folder);
  catalog_.discard_staging(root() / "b");  // not a staging folder: left alone
  EXPECT_TRUE(catalog_.get("b"));
}

TEST_F(ArtifactCatalogTest, CustomValidatorGuardsIds) {
  ArtifactCatalog workers(dir_.path() / "workers", "worker", [](const std::string& id) -> Status {
    if (id.find(':') != std::string::npos) {
      return make_error(ErrorCode::kInvalidArgument, "no colons");
    }
    return ok_status();
  });
  EXPECT_EQ(workers.get("a:b").error().code, ErrorCode::kInvalidArgument);
  ASSERT_TRUE(workers.put(make_entry("cpu")));
  EXPECT_EQ(workers.get("cpu")->kind, "worker");
  fs::create_directory(dir_.path() / "workers" / "a%3Ab");
  ArtifactListing listing = workers.list();
  EXPECT_EQ(listing.entries.size(), 1u);
  ASSERT_EQ(listing.invalid.size(), 1u);
  EXPECT_EQ(listing.invalid[0].reason, "no colons");
}

TEST(ArtifactEntryJsonTest, RoundTrips) {
  ArtifactEntry entry = make_entry("org/repo:Q8_0");
  entry.kind = "model";
  entry.state = ArtifactState::kFailed;
  entry.error = "sha256 mismatch";
  entry.created_ms = 1700000000000;
  entry.updated_ms = 1700000000123;
  entry.dir = "/cache/models/x";
  Json json = to_json(entry);
  EXPECT_EQ(json["state"], "failed");
  EXPECT_EQ(json["error"], "sha256 mismatch");
  EXPECT_EQ(json["dir"], "/cache/models/x");
  Result<ArtifactEntry> back = parse_artifact_entry(json);
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(back->id, entry.id);
  EXPECT_EQ(back->state, ArtifactState::kFailed);
  EXPECT_EQ(back->error, entry.error);
  EXPECT_EQ(back->created_ms, entry.created_ms);
  EXPECT_EQ(back->updated_ms, entry.updated_ms);
  EXPECT_EQ(back->size_bytes, entry.size_bytes);
  EXPECT_EQ(back->metadata, entry.metadata);
  EXPECT_EQ(back->dir, entry.dir);
}

TEST(ArtifactEntryJsonTest, StatesOnTheWire) {
  EXPECT_EQ(state_name(ArtifactState::kDownloading), "downloading");
  EXPECT_EQ(state_name(ArtifactState::kReady), "ready");
  EXPECT_EQ(state_name(ArtifactState::kFailed), "failed");
  for (ArtifactState state :
       {ArtifactState::kDownloading, ArtifactState::kReady, ArtifactState::kFailed}) {
    EXPECT_EQ(parse_artifact_state(state_name(state)), state);
  }
  EXPECT_FALSE(parse_artifact_state("Ready").has_value());
}

TEST(ArtifactEntryJsonTest, RejectsBadFields) {
  Json good = to_json(make_entry("a"));
  good["kind"] = "model";
  ASSERT_TRUE(parse_artifact_entry(good));
  auto expect_rejected = [&](const char* key, Json value, const char* mention) {
    Json bad = good;
    bad[key] = std::move(value);
    Result<ArtifactEntry> parsed = parse_artifact_entry(bad);
    ASSERT_FALSE(parsed) << key;
    EXPECT_EQ(parsed.error().code, ErrorCode::kInvalidArgument);
    EXPECT_NE(parsed.error().message.find(mention), std::string::npos) << parsed.error().message;
  };
  expect_rejected("state", "done", "state");
  expect_rejected("progress", 1.5, "progress");
  expect_rejected("size_bytes", -1, "size_bytes");
  expect_rejected("file", "../x", "file");
  expect_rejected("file", "/etc/passwd", "file");
  expect_rejected("metadata", "text", "metadata");
  expect_rejected("id", 5, "id");
  EXPECT_FALSE(parse_artifact_entry(Json::array()));
  Json unknown = good;
  unknown["added_later"] = true;  // newer writers may add fields
  EXPECT_TRUE(parse_artifact_entry(unknown));
}

}  // namespace
}  // namespace rbee::catalog
