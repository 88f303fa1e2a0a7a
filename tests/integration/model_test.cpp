// Models on a real hive, downloaded from the HuggingFace test server (tests/support) through
// the real queen, with the faults real networks have.

#include <gtest/gtest.h>
#include <signal.h>

#include "catalog/artifact_id.hpp"
#include "common/files.hpp"
#include "common/sha256.hpp"
#include "harness.hpp"
#include "hf_test_server.hpp"

namespace rbee::integration {
namespace {

using namespace std::chrono_literals;
using testing::HfFault;
using testing::HfTestServer;

constexpr const char* kRepo = "rbee-test/stories-GGUF";
constexpr const char* kFile = "stories260K.Q8_0.gguf";
constexpr const char* kModelId = "rbee-test/stories-GGUF:Q8_0";

class ModelTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto models = HfTestServer::testdata_models_dir();
    if (!models) GTEST_SKIP() << "../shared/testdata/models is missing";
    source_ = *models / "stories260K.gguf";
    ASSERT_TRUE(hub_.add_file_from_disk(kRepo, kFile, source_));
    ASSERT_TRUE(
        hub_.add_file_from_disk(kRepo, "stories260K.F16.gguf", *models / "stories260K-F16.gguf"));
    hub_.add_file(kRepo, "README.md", "# stories\n");
    auto hash = rbee::sha256_file(source_);
    ASSERT_TRUE(hash);
    source_sha256_ = *hash;
    source_size_ = std::filesystem::file_size(source_);
    home_.set_env("HF_ENDPOINT", hub_.url());
    home_.append_config("[downloads]\nstall_timeout_s = 1\nmax_attempts = 4\n");
  }

  CommandResult rbee(const std::vector<std::string>& args) const { return home_.rbee(args); }

  // The model's entry as `rbee --json model get` prints it.
  Json model_entry(const std::string& id) const {
    auto got = rbee({"--json", "model", "get", id});
    if (got.exit_code != 0) return Json();
    return Json::parse(got.out)["model"];
  }

  std::filesystem::path entry_dir(const std::string& id) const {
    return home_.path() / "cache" / "models" / catalog::directory_name_for_id(id);
  }

  int cdn_gets() const {
    int n = 0;
    for (const auto& request : hub_.requests())
      n += request.path.starts_with("/cdn/") && request.method == "GET";
    return n;
  }

  std::vector<std::string> ranges() const {
    std::vector<std::string> out;
    for (const auto& request : hub_.requests()) {
      if (request.path.starts_with("/cdn/") && !request.range.empty()) out.push_back(request.range);
    }
    return out;
  }

  void expect_ready_and_intact(const std::string& id) {
    Json entry = model_entry(id);
    ASSERT_TRUE(entry.is_object()) << "no entry " << id;
    EXPECT_EQ(entry["state"], "ready");
    auto hash = rbee::sha256_file(entry_dir(id) / kFile);
    ASSERT_TRUE(hash);
    EXPECT_EQ(*hash, source_sha256_);
    EXPECT_FALSE(std::filesystem::exists(entry_dir(id) / (std::string(kFile) + ".part")));
  }

  HfTestServer hub_;
  RbeeHome home_;
  std::filesystem::path source_;
  std::string source_sha256_;
  uint64_t source_size_ = 0;
};

TEST_F(ModelTest, DownloadPicksTheQuantVerifiesAndLists) {
  auto downloaded = rbee({"model", "download", kRepo});
  ASSERT_EQ(downloaded.exit_code, 0) << downloaded.out << downloaded.err;
  expect_ready_and_intact(kModelId);
  Json entry = model_entry(kModelId);
  EXPECT_EQ(entry["metadata"]["info"]["architecture"], "llama");
  EXPECT_EQ(entry["metadata"]["files"][0]["sha256"], source_sha256_);
  EXPECT_EQ(entry["metadata"]["source"]["repo"], kRepo);
  EXPECT_EQ(entry["size_bytes"], source_size_);

  auto listed = rbee({"--json", "model", "list"});
  ASSERT_EQ(listed.exit_code, 0);
  auto models = Json::parse(listed.out)["models"];
  ASSERT_EQ(models.size(), 1u);
  EXPECT_EQ(models[0]["id"], kModelId);
  // The reference finds the entry too, and a second download is a no-op.
  EXPECT_EQ(model_entry(std::string(kRepo) + ":q8_0")["id"], kModelId);
  int gets_before = cdn_gets();
  ASSERT_EQ(rbee({"model", "download", std::string(kRepo) + ":Q8_0"}).exit_code, 0);
  EXPECT_EQ(cdn_gets(), gets_before);
  // An explicit quant picks the other file.
  auto f16 = rbee({"--json", "model", "download", std::string(kRepo) + ":F16"});
  ASSERT_EQ(f16.exit_code, 0) << f16.err;
  EXPECT_EQ(Json::parse(f16.out)["model"]["metadata"]["info"]["quant"], "F16");
  // The queen hears of ready models in the hive's heartbeats.
  EXPECT_TRUE(eventually(
      [&] {
        auto hives = home_.queen().get_json("/v1/hives");
        return hives && hives->dump().find(kModelId) != std::string::npos;
      },
      10s));
}

TEST_F(ModelTest, ResumesAfterDropsAtFirstMiddleAndLastByte) {
  const std::string target = std::string(kRepo) + "/" + kFile;
  for (uint64_t drop_at : {uint64_t{1}, source_size_ / 2, source_size_ - 1}) {
    SCOPED_TRACE("drop after " + std::to_string(drop_at) + " bytes");
    hub_.clear_requests();
    hub_.add_fault({target, HfFault::Kind::kDrop, static_cast<int64_t>(drop_at), 0, 0, 1});
    auto downloaded = rbee({"model", "download", kRepo});
    ASSERT_EQ(downloaded.exit_code, 0) << downloaded.out << downloaded.err;
    expect_ready_and_intact(kModelId);
    auto seen = ranges();
    ASSERT_FALSE(seen.empty()) << "the resume did not use Range";
    EXPECT_EQ(seen.back(), "bytes=" + std::to_string(drop_at) + "-");
    ASSERT_EQ(rbee({"model", "delete", kModelId}).exit_code, 0);
    EXPECT_FALSE(std::filesystem::exists(entry_dir(kModelId)));
  }
}

TEST_F(ModelTest, StalledTransferIsRetried) {
  hub_.add_fault({std::string(kRepo) + "/" + kFile, HfFault::Kind::kStall,
                  static_cast<int64_t>(source_size_ / 3), 30, 0, 1});
  auto downloaded = rbee({"model", "download", kRepo});
  ASSERT_EQ(downloaded.exit_code, 0) << downloaded.out << downloaded.err;
  expect_ready_and_intact(kModelId);
  EXPECT_FALSE(ranges().empty());
}

TEST_F(ModelTest, WrongBytesFailAndLeaveNothingReady) {
  hub_.add_fault({std::string(kRepo) + "/" + kFile, HfFault::Kind::kCorrupt, 0, 0, 0, -1});
  auto downloaded = rbee({"model", "download", kRepo});
  EXPECT_EQ(downloaded.exit_code, 1);
  EXPECT_NE(downloaded.err.find("sha256"), std::string::npos) << downloaded.err;
  EXPECT_NE(downloaded.err.find(source_sha256_), std::string::npos) << downloaded.err;
  Json entry = model_entry(kModelId);
  ASSERT_TRUE(entry.is_object());
  EXPECT_EQ(entry["state"], "failed");
  EXPECT_FALSE(std::filesystem::exists(entry_dir(kModelId) / kFile));
  EXPECT_FALSE(std::filesystem::exists(entry_dir(kModelId) / (std::string(kFile) + ".part")));
}

TEST_F(ModelTest, MissingRepoAndFileAreClearErrors) {
  auto repo = rbee({"model", "download", "rbee-test/no-such-repo"});
  EXPECT_EQ(repo.exit_code, 1);
  EXPECT_NE(repo.err.find("rbee-test/no-such-repo"), std::string::npos) << repo.err;
  auto file = rbee({"model", "download", std::string(kRepo) + ":Q2_K"});
  EXPECT_EQ(file.exit_code, 1);
  // No such quant: the message lists what the repo has.
  EXPECT_NE(file.err.find("available: F16, Q8_0"), std::string::npos) << file.err;
  auto listed = rbee({"--json", "model", "list"});
  EXPECT_TRUE(Json::parse(listed.out)["models"].empty());
}

TEST_F(ModelTest, GatedRepoAsksForAToken) {
  hub_.set_gated(kRepo, "secret-token");
  auto refused = rbee({"model", "download", kRepo});
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_NE(refused.err.find("HF_TOKEN"), std::string::npos) << refused.err;
  ASSERT_EQ(rbee({"stop"}).exit_code, 0);
  // With the token in the hive's environment it downloads.
  home_.set_env("HF_TOKEN", "secret-token");
  auto downloaded = rbee({"model", "download", kRepo});
  ASSERT_EQ(downloaded.exit_code, 0) << downloaded.err;
  expect_ready_and_intact(kModelId);
}

TEST_F(ModelTest, ConcurrentDownloadsShareOneTransfer) {
  hub_.add_fault({std::string(kRepo) + "/" + kFile, HfFault::Kind::kStall,
                  static_cast<int64_t>(source_size_ / 2), 0.8, 0, 1});
  ASSERT_EQ(rbee({"queen", "start"}).exit_code, 0);
  auto first = home_.start_rbee({"model", "download", kRepo});
  ASSERT_TRUE(eventually([&] { return cdn_gets() == 1; }, 10s));
  auto second = home_.start_rbee({"model", "download", std::string(kRepo) + ":Q8_0"});
  auto first_result = first->finish(60s);
  auto second_result = second->finish(60s);
  EXPECT_EQ(first_result.exit_code, 0) << first_result.err;
  EXPECT_EQ(second_result.exit_code, 0) << second_result.err;
  EXPECT_NE(second_result.out.find("already downloading"), std::string::npos) << second_result.out;
  EXPECT_EQ(cdn_gets(), 1);
  expect_ready_and_intact(kModelId);
}

TEST_F(ModelTest, CancelKeepsThePartialFileAndTheNextDownloadResumes) {
  hub_.add_fault({std::string(kRepo) + "/" + kFile, HfFault::Kind::kStall,
                  static_cast<int64_t>(source_size_ / 2), 60, 0, 1});
  ASSERT_EQ(rbee({"queen", "start"}).exit_code, 0);
  auto queen = home_.queen();
  std::string job_id = submit_job(queen, {{"operation", "model_download"}, {"model", kRepo}});
  auto part = entry_dir(kModelId) / (std::string(kFile) + ".part");
  ASSERT_TRUE(eventually(
      [&] {
        std::error_code ec;
        return std::filesystem::file_size(part, ec) == source_size_ / 2;
      },
      10s));
  ASSERT_TRUE(queen.delete_json("/v1/jobs/" + job_id));
  auto events = read_events(queen, job_id);
  ASSERT_FALSE(events.empty());
  EXPECT_EQ(Json::parse(events.back().data)["status"], "cancelled");
  Json entry = model_entry(kModelId);
  EXPECT_EQ(entry["state"], "failed");
  EXPECT_NE(entry["error"].get<std::string>().find("cancelled"), std::string::npos);
  EXPECT_EQ(std::filesystem::file_size(part), source_size_ / 2);

  hub_.clear_faults();
  hub_.clear_requests();
  auto resumed = rbee({"model", "download", kRepo});
  ASSERT_EQ(resumed.exit_code, 0) << resumed.err;
  ASSERT_EQ(ranges().size(), 1u);
  EXPECT_EQ(ranges()[0], "bytes=" + std::to_string(source_size_ / 2) + "-");
  expect_ready_and_intact(kModelId);
}

TEST_F(ModelTest, HiveKilledMidDownloadResumesAfterRestart) {
  hub_.add_fault({std::string(kRepo) + "/" + kFile, HfFault::Kind::kStall,
                  static_cast<int64_t>(source_size_ / 2), 60, 0, 1});
  ASSERT_EQ(rbee({"queen", "start"}).exit_code, 0);
  auto download = home_.start_rbee({"model", "download", kRepo});
  auto part = entry_dir(kModelId) / (std::string(kFile) + ".part");
  ASSERT_TRUE(eventually(
      [&] {
        std::error_code ec;
        return std::filesystem::file_size(part, ec) == source_size_ / 2;
      },
      10s));
  pid_t hive = home_.live_pid("rbee-hive");
  ASSERT_NE(hive, 0);
  ::kill(hive, SIGKILL);
  auto interrupted = download->finish(30s);
  EXPECT_NE(interrupted.exit_code, 0);

  hub_.clear_faults();
  hub_.clear_requests();
  ASSERT_EQ(rbee({"hive", "start"}).exit_code, 0);
  // The restarted hive does not pretend the download is still running.
  Json entry = model_entry(kModelId);
  EXPECT_EQ(entry["state"], "failed");
  EXPECT_NE(entry["error"].get<std::string>().find("interrupted"), std::string::npos);
  auto resumed = rbee({"model", "download", kRepo});
  ASSERT_EQ(resumed.exit_code, 0) << resumed.err;
  ASSERT_FALSE(ranges().empty());
  EXPECT_EQ(ranges()[0], "bytes=" + std::to_string(source_size_ / 2) + "-");
  expect_ready_and_intact(kModelId);
}

TEST_F(ModelTest, CatalogSurvivesLeftoversOfAKilledWrite) {
  ASSERT_EQ(rbee({"model", "download", kRepo}).exit_code, 0);
  ASSERT_EQ(rbee({"stop"}).exit_code, 0);
  // What a hive killed inside a metadata write or an import leaves: a half-written temporary
  // metadata file, a staging folder, and a folder that is no entry at all.
  auto dir = entry_dir(kModelId);
  ASSERT_TRUE(write_file_atomic(dir / "metadata.json.tmp.12345", "{\"id\":\"rbee-te"));
  std::filesystem::create_directories(dir.parent_path() / ".staging-abc123");
  std::filesystem::create_directories(dir.parent_path() / "not-an-entry");
  auto listed = rbee({"--json", "model", "list"});
  ASSERT_EQ(listed.exit_code, 0) << listed.err;
  auto result = Json::parse(listed.out);
  ASSERT_EQ(result["models"].size(), 1u);
  EXPECT_EQ(result["models"][0]["state"], "ready");
  ASSERT_EQ(result["invalid"].size(), 1u);
  EXPECT_NE(result["invalid"][0]["dir"].get<std::string>().find("not-an-entry"), std::string::npos);
  EXPECT_FALSE(std::filesystem::exists(dir / "metadata.json.tmp.12345"));
  EXPECT_FALSE(std::filesystem::exists(dir.parent_path() / ".staging-abc123"));
}

TEST_F(ModelTest, TraversalAttemptsAreRejectedAndTouchNothing) {
  ASSERT_EQ(rbee({"queen", "start"}).exit_code, 0);
  auto sentinel = home_.path() / "cache" / "sentinel";
  ASSERT_TRUE(write_file_atomic(sentinel, "keep me"));
  for (const char* id : {"../sentinel", "../../cache/sentinel", "a/../../sentinel", "/etc/passwd",
                         "x/./y", "..", "org/..:Q8_0"}) {
    SCOPED_TRACE(id);
    auto deleted = rbee({"model", "delete", id});
    EXPECT_NE(deleted.exit_code, 0);
    auto got = rbee({"model", "get", id});
    EXPECT_NE(got.exit_code, 0);
    EXPECT_FALSE(got.err.empty());
  }
  for (const char* reference : {"org/..", "../org/repo", "org/repo:../../x.gguf"}) {
    SCOPED_TRACE(reference);
    EXPECT_NE(rbee({"model", "download", reference}).exit_code, 0);
  }
  for (const char* type : {"../x", "a/b", ".."}) {
    auto got = rbee({"worker", "binary", "get", type});
    EXPECT_EQ(got.exit_code, 1);
    EXPECT_NE(got.err.find("worker_type"), std::string::npos) << got.err;
  }
  EXPECT_EQ(read_file(sentinel).value(), "keep me");
}

TEST_F(ModelTest, LocalGgufIsImported) {
  auto imported = rbee({"--json", "model", "download", source_.string()});
  ASSERT_EQ(imported.exit_code, 0) << imported.err;
  auto entry = Json::parse(imported.out)["model"];
  EXPECT_EQ(entry["id"], "local:stories260K");
  EXPECT_EQ(entry["state"], "ready");
  EXPECT_EQ(entry["metadata"]["files"][0]["sha256"], source_sha256_);
  // Not a GGUF: refused, nothing added.
  auto text = home_.path() / "notes.gguf";
  ASSERT_TRUE(write_file_atomic(text, "hello, not a model"));
  auto refused = rbee({"model", "download", text.string()});
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_NE(refused.err.find("GGUF"), std::string::npos) << refused.err;
  auto listed = Json::parse(rbee({"--json", "model", "list"}).out);
  EXPECT_EQ(listed["models"].size(), 1u);
}

TEST_F(ModelTest, NoRoomOnDiskIsAClearErrorBeforeAnyByte) {
  hub_.add_listed_only(kRepo, "huge.Q4_K_M.gguf", uint64_t{1} << 50, std::string(64, 'a'));
  auto refused = rbee({"model", "download", kRepo});  // Q4_K_M is preferred
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_NE(refused.err.find("space"), std::string::npos) << refused.err;
  Json entry = model_entry(std::string(kRepo) + ":Q4_K_M");
  if (entry.is_object()) {
    EXPECT_NE(entry["state"], "ready");
  }
}

TEST_F(ModelTest, WorkerBinariesInstallFromAFileOrUrlAndVerify) {
  auto script = home_.path() / "fake-worker.sh";
  std::string body =
      "#!/bin/sh\n[ \"$1\" = --version ] && echo 'fake-worker 1.2.3' && exit 0\nexit 1\n";
  ASSERT_TRUE(write_file_atomic(script, body, 0755));
  auto installed = rbee({"--json", "worker", "binary", "install", "fake", script.string()});
  ASSERT_EQ(installed.exit_code, 0) << installed.err;
  EXPECT_EQ(Json::parse(installed.out)["worker"]["metadata"]["version"], "fake-worker 1.2.3");

  hub_.add_file("tools/workers", "fake-worker.sh", body);
  std::string url = hub_.url() + "/tools/workers/resolve/main/fake-worker.sh";
  auto bad = rbee({"worker", "binary", "install", "remote", url, "--sha256", std::string(64, '0')});
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_NE(bad.err.find("sha256"), std::string::npos) << bad.err;
  auto good =
      rbee({"worker", "binary", "install", "remote", url, "--sha256", rbee::sha256_hex(body)});
  ASSERT_EQ(good.exit_code, 0) << good.err;

  auto listed = Json::parse(rbee({"--json", "worker", "binary", "list"}).out)["workers"];
  std::vector<std::string> types;
  for (const auto& worker : listed) types.push_back(worker["id"]);
  EXPECT_NE(std::find(types.begin(), types.end(), "fake"), types.end());
  EXPECT_NE(std::find(types.begin(), types.end(), "remote"), types.end());
  ASSERT_EQ(rbee({"worker", "binary", "delete", "fake"}).exit_code, 0);
  EXPECT_EQ(rbee({"worker", "binary", "get", "fake"}).exit_code, 1);
}

}  // namespace
}  // namespace rbee::integration
