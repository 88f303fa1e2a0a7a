// HfClient against the HuggingFace test server on loopback: listings, selection, verified and
// resumed downloads, faults, gated and missing repos.

#include "provision/hf_client.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <map>
#include <thread>

#include "common/sha256.hpp"
#include "common/test_dir.hpp"
#include "provision/test_support.hpp"

namespace rbee::provision {
namespace {

using namespace rbee::provision::testing;
using rbee::testing::HfFault;
using rbee::testing::HfTestServer;
using rbee::testing::HfTestServerOptions;
using rbee::testing::TestDir;

constexpr const char* kRepo = "org/small";
constexpr const char* kModel = "small-Q4_K_M.gguf";
constexpr const char* kModelTarget = "org/small/small-Q4_K_M.gguf";
constexpr size_t kModelSize = 300000;

HfClient client_for(const HfTestServer& server, std::string token = "") {
  HfClientOptions options;
  options.endpoint = server.url();
  options.token = std::move(token);
  options.transfer = fast_options();
  return HfClient(options);
}

class HfClientTest : public ::testing::Test {
 protected:
  HfClientTest() {
    server_.add_file(kRepo, kModel, content_);
    server_.add_file(kRepo, "small-Q8_0.gguf", patterned_content(1000, 2));
    server_.add_file(kRepo, "README.md", "# small\n");
  }

  // The listing entry of the model file, as a caller would have it.
  RepoFile model_entry() {
    auto files = client_for(server_).list_files(kRepo, "main");
    EXPECT_TRUE(files) << files.error().message;
    for (const auto& file : files ? *files : std::vector<RepoFile>{}) {
      if (file.path == kModel) return file;
    }
    ADD_FAILURE() << "no " << kModel << " in the listing";
    return {};
  }

  Status download(const RepoFile& file, const ProgressFn& progress = {}, std::stop_token stop = {},
                  const std::string& token = "") {
    return client_for(server_, token).download_file(kRepo, "main", file, dest(), progress, stop);
  }

  std::filesystem::path dest() const { return dir_.path() / "models" / kModel; }
  std::vector<std::string> cdn_ranges() const { return ranges_of(server_, "/cdn/"); }

  std::string content_ = patterned_content(kModelSize);
  HfTestServer server_;
  TestDir dir_;
};

TEST_F(HfClientTest, ListsFilesWithSizesAndSha256) {
  auto files = client_for(server_).list_files(kRepo, "main");
  ASSERT_TRUE(files) << files.error().message;
  std::map<std::string, RepoFile> by_path;
  for (const auto& file : *files) by_path[file.path] = file;
  ASSERT_EQ(by_path.size(), 3u);
  EXPECT_EQ(by_path[kModel].size, kModelSize);
  Sha256 hasher;
  hasher.update(content_);
  EXPECT_EQ(by_path[kModel].sha256, hasher.finish_hex());
  EXPECT_EQ(by_path["README.md"].sha256, "");  // not in LFS
  EXPECT_EQ(ranges_of(server_, "/api/models/org/small/tree/main").size(), 1u);
}

TEST_F(HfClientTest, FollowsListingPages) {
  HfTestServer paged(HfTestServerOptions{"127.0.0.1", 0, 2});
  for (int i = 0; i < 7; ++i) paged.add_file(kRepo, "f" + std::to_string(i) + ".gguf", "x");
  auto files = client_for(paged).list_files(kRepo, "main");
  ASSERT_TRUE(files) << files.error().message;
  EXPECT_EQ(files->size(), 7u);
  EXPECT_EQ(ranges_of(paged, "/api/models/").size(), 4u);
}

TEST_F(HfClientTest, ResolvesReferences) {
  auto client = client_for(server_);
  auto best = client.resolve(*parse_model_reference("org/small"));
  ASSERT_TRUE(best) << best.error().message;
  ASSERT_EQ(best->files.size(), 1u);
  EXPECT_EQ(best->files[0].path, kModel);
  EXPECT_EQ(best->quant, "Q4_K_M");
  auto q8 = client.resolve(*parse_model_reference("org/small:q8_0"));
  ASSERT_TRUE(q8) << q8.error().message;
  EXPECT_EQ(q8->files[0].path, "small-Q8_0.gguf");
  auto local = client.resolve(*parse_model_reference("/x.gguf"));
  ASSERT_FALSE(local);
  EXPECT_EQ(local.error().code, ErrorCode::kInvalidArgument);
}

TEST_F(HfClientTest, NoGgufInTheRepoListsWhatIsThere) {
  server_.add_file("org/safetensors", "model.safetensors", "x");
  server_.add_file("org/safetensors", "config.json", "{}");
  auto selection = client_for(server_).resolve(*parse_model_reference("org/safetensors"));
  ASSERT_FALSE(selection);
  EXPECT_EQ(selection.error().code, ErrorCode::kNotFound);
  EXPECT_NE(selection.error().message.find("config.json, model.safetensors"), std::string::npos)
      << selection.error().message;
}

TEST_F(HfClientTest, DownloadsAndVerifies) {
  ProgressRecorder progress;
  auto status = download(model_entry(), progress.callback());
  ASSERT_TRUE(status) << status.error().message;
  EXPECT_EQ(read_bytes(dest()), content_);
  EXPECT_FALSE(std::filesystem::exists(partial_path(dest())));
  EXPECT_EQ(cdn_ranges(), std::vector<std::string>{""});
  auto calls = progress.calls();
  ASSERT_FALSE(calls.empty());
  EXPECT_EQ(calls.front().bytes_total, kModelSize);  // known from the listing at once
  EXPECT_EQ(calls.back().bytes_done, kModelSize);
}

// A dropped connection at the first, a middle and the last byte: each resumes with Range.
class HfClientDropTest : public HfClientTest, public ::testing::WithParamInterface<int64_t> {};

TEST_P(HfClientDropTest, ResumesAfterADrop) {
  int64_t drop_after = GetParam();
  server_.add_fault({kModelTarget, HfFault::Kind::kDrop, drop_after, 0, 0, 1});
  auto status = download(model_entry());
  ASSERT_TRUE(status) << status.error().message;
  EXPECT_EQ(read_bytes(dest()), content_);
  std::string resume = drop_after == 0 ? "" : "bytes=" + std::to_string(drop_after) + "-";
  EXPECT_EQ(cdn_ranges(), (std::vector<std::string>{"", resume}));
}

INSTANTIATE_TEST_SUITE_P(FirstMiddleLast, HfClientDropTest,
                         ::testing::Values(0, kModelSize / 2, kModelSize - 1));

TEST_F(HfClientTest, ResumesAPartialFromAnEarlierRun) {
  std::filesystem::create_directories(dest().parent_path());
  write_bytes(partial_path(dest()), content_.substr(0, 100000));
  auto status = download(model_entry());
  ASSERT_TRUE(status) << status.error().message;
  EXPECT_EQ(read_bytes(dest()), content_);
  EXPECT_EQ(cdn_ranges(), std::vector<std::string>{"bytes=100000-"});
}

TEST_F(HfClientTest, APartialWithWrongBytesFailsVerificationAndIsDiscarded) {
  std::filesystem::create_directories(dest().parent_path());
  auto wrong = content_.substr(0, 100000);
  wrong[500] = static_cast<char>(wrong[500] ^ 1);
  write_bytes(partial_path(dest()), wrong);
  auto entry = model_entry();
  auto status = download(entry);
  ASSERT_FALSE(status);
  EXPECT_EQ(status.error().code, ErrorCode::kInternal);
  EXPECT_NE(status.error().message.find(entry.sha256), std::string::npos);
  EXPECT_FALSE(std::filesystem::exists(partial_path(dest())));
  EXPECT_FALSE(std::filesystem::exists(dest()));
  // The next attempt starts clean and succeeds.
  ASSERT_TRUE(download(entry));
  EXPECT_EQ(read_bytes(dest()), content_);
}

TEST_F(HfClientTest, AStallIsDetectedAndRetried) {
  server_.add_fault({kModelTarget, HfFault::Kind::kStall, 100000, 60, 0, 1});
  HfClientOptions options;
  options.endpoint = server_.url();
  options.transfer = fast_options();
  options.transfer.stall_timeout_s = 0.3;
  auto entry = model_entry();
  auto started = std::chrono::steady_clock::now();
  auto status = HfClient(options).download_file(kRepo, "main", entry, dest(), {}, {});
  ASSERT_TRUE(status) << status.error().message;
  // Far less than the server's 60 s pause: the client gave up on it and resumed.
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(10));
  EXPECT_EQ(read_bytes(dest()), content_);
  EXPECT_EQ(cdn_ranges(), (std::vector<std::string>{"", "bytes=100000-"}));
}

TEST_F(HfClientTest, AStallBeforeTheAnswerIsRetriedToo) {
  server_.add_fault({kModelTarget, HfFault::Kind::kStall, -1, 60, 0, 1});
  HfClientOptions options;
  options.endpoint = server_.url();
  options.transfer = fast_options();
  options.transfer.stall_timeout_s = 0.3;
  auto status = HfClient(options).download_file(kRepo, "main", model_entry(), dest(), {}, {});
  ASSERT_TRUE(status) << status.error().message;
  EXPECT_EQ(read_bytes(dest()), content_);
}

TEST_F(HfClientTest, CorruptBytesAreRejectedWithBothHashes) {
  server_.add_fault({kModelTarget, HfFault::Kind::kCorrupt, 0, 0, 0, 1});
  auto entry = model_entry();
  auto status = download(entry);
  ASSERT_FALSE(status);
  EXPECT_EQ(status.error().code, ErrorCode::kInternal);
  const auto& message = status.error().message;
  EXPECT_NE(message.find("sha256 mismatch"), std::string::npos) << message;
  EXPECT_NE(message.find("expected " + entry.sha256), std::string::npos) << message;
  auto got = message.find(", got ");
  ASSERT_NE(got, std::string::npos);
  auto actual = message.substr(got + 6, 64);
  EXPECT_TRUE(is_sha256_hex(actual));
  EXPECT_NE(actual, entry.sha256);
  EXPECT_FALSE(std::filesystem::exists(dest()));
  EXPECT_FALSE(std::filesystem::exists(partial_path(dest())));
}

TEST_F(HfClientTest, ServerErrorsAreRetried) {
  server_.add_fault({kRepo, HfFault::Kind::kStatus, 0, 0, 503, 2});
  server_.add_fault({kModelTarget, HfFault::Kind::kStatus, 0, 0, 502, 2});
  auto entry = model_entry();
  EXPECT_EQ(statuses_of(server_, "/api/models/"), (std::vector<int>{503, 503, 200}));
  auto status = download(entry);
  ASSERT_TRUE(status) << status.error().message;
  EXPECT_EQ(read_bytes(dest()), content_);
  EXPECT_EQ(statuses_of(server_, "/org/small/resolve/"), (std::vector<int>{502, 502, 302}));
}

TEST_F(HfClientTest, PersistentServerErrorsGiveUp) {
  auto entry = model_entry();
  server_.add_fault({kModelTarget, HfFault::Kind::kStatus, 0, 0, 503, -1});
  auto status = download(entry);
  ASSERT_FALSE(status);
  EXPECT_EQ(status.error().code, ErrorCode::kUnavailable);
  EXPECT_NE(status.error().message.find("HTTP 503"), std::string::npos) << status.error().message;
  EXPECT_EQ(statuses_of(server_, "/org/small/resolve/").size(), 4u);  // max_attempts
  server_.clear_faults();
  server_.add_fault({kRepo, HfFault::Kind::kStatus, 0, 0, 500, -1});
  auto listing = client_for(server_).list_files(kRepo, "main");
  ASSERT_FALSE(listing);
  EXPECT_EQ(listing.error().code, ErrorCode::kUnavailable);
}

TEST_F(HfClientTest, GatedRepoNeedsTheRightToken) {
  server_.set_gated(kRepo, "hf_good");
  auto entry = model_entry();  // listings of gated repos are public

  auto anonymous = download(entry);
  ASSERT_FALSE(anonymous);
  EXPECT_EQ(anonymous.error().code, ErrorCode::kUnauthenticated);
  EXPECT_NE(anonymous.error().message.find("gated"), std::string::npos);
  EXPECT_NE(anonymous.error().message.find("set HF_TOKEN"), std::string::npos)
      << anonymous.error().message;

  auto wrong = download(entry, {}, {}, "hf_bad");
  ASSERT_FALSE(wrong);
  EXPECT_EQ(wrong.error().code, ErrorCode::kUnauthenticated);
  EXPECT_NE(wrong.error().message.find("has no access"), std::string::npos)
      << wrong.error().message;

  auto right = download(entry, {}, {}, "hf_good");
  ASSERT_TRUE(right) << right.error().message;
  EXPECT_EQ(read_bytes(dest()), content_);
  EXPECT_EQ(server_.requests().back().authorization, "Bearer hf_good");
}

TEST_F(HfClientTest, MissingRepoRevisionAndFile) {
  auto anonymous = client_for(server_).list_files("org/nope", "main");
  ASSERT_FALSE(anonymous);
  // The Hub cannot tell "missing" from "private" to strangers; the message says both.
  EXPECT_EQ(anonymous.error().code, ErrorCode::kUnauthenticated);
  EXPECT_NE(anonymous.error().message.find("org/nope was not found"), std::string::npos)
      << anonymous.error().message;
  EXPECT_NE(anonymous.error().message.find("HF_TOKEN"), std::string::npos);

  auto with_token = client_for(server_, "hf_any").list_files("org/nope", "main");
  ASSERT_FALSE(with_token);
  EXPECT_EQ(with_token.error().code, ErrorCode::kNotFound);
  EXPECT_NE(with_token.error().message.find("repository org/nope not found"), std::string::npos)
      << with_token.error().message;

  auto revision = client_for(server_).list_files(kRepo, "v2");
  ASSERT_FALSE(revision);
  EXPECT_EQ(revision.error().code, ErrorCode::kNotFound);
  EXPECT_NE(revision.error().message.find("revision 'v2' not found in org/small"),
            std::string::npos)
      << revision.error().message;

  auto file = download(RepoFile{"gone-Q4_0.gguf", 10, std::string(64, 'a')});
  ASSERT_FALSE(file);
  EXPECT_FALSE(std::filesystem::exists(partial_path(dest())));  // no empty leftovers
  EXPECT_EQ(file.error().code, ErrorCode::kNotFound);
  EXPECT_NE(
      file.error().message.find("file gone-Q4_0.gguf not found in org/small at revision main"),
      std::string::npos)
      << file.error().message;
}

TEST_F(HfClientTest, OtherRevisionsAndCommitIds) {
  server_.add_revision(kRepo, "v1");
  auto client = client_for(server_);
  ASSERT_TRUE(client.list_files(kRepo, "v1"));
  ASSERT_TRUE(client.list_files(kRepo, server_.commit_of(kRepo)));
  auto status = client.download_file(kRepo, "v1", model_entry(), dest(), {}, {});
  ASSERT_TRUE(status) << status.error().message;
  EXPECT_EQ(ranges_of(server_, "/org/small/resolve/v1/").size(), 1u);
}

TEST_F(HfClientTest, CancelKeepsThePartialForALaterResume) {
  server_.add_fault({kModelTarget, HfFault::Kind::kStall, 150000, 60, 0, 1});
  auto entry = model_entry();
  ProgressRecorder progress;
  std::stop_source stop;
  Status result;
  std::thread worker([&] { result = download(entry, progress.callback(), stop.get_token()); });
  ASSERT_TRUE(progress.wait_for_bytes(150000));
  auto stopped_at = std::chrono::steady_clock::now();
  stop.request_stop();
  worker.join();
  EXPECT_LT(std::chrono::steady_clock::now() - stopped_at, std::chrono::seconds(2));
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code, ErrorCode::kCancelled);
  EXPECT_EQ(std::filesystem::file_size(partial_path(dest())), 150000u);
  EXPECT_FALSE(std::filesystem::exists(dest()));

  auto resumed = download(entry);
  ASSERT_TRUE(resumed) << resumed.error().message;
  EXPECT_EQ(read_bytes(dest()), content_);
  EXPECT_EQ(cdn_ranges(), (std::vector<std::string>{"", "bytes=150000-"}));
}

TEST_F(HfClientTest, NotEnoughDiskSpaceIsCheckedBeforeStarting) {
  constexpr uint64_t kHuge = uint64_t{1} << 50;  // 1 PiB
  server_.add_listed_only(kRepo, "huge-F16.gguf", kHuge, std::string(64, 'b'));
  auto files = client_for(server_).list_files(kRepo, "main");
  ASSERT_TRUE(files);
  RepoFile huge;
  for (const auto& file : *files) {
    if (file.path == "huge-F16.gguf") huge = file;
  }
  ASSERT_EQ(huge.size, kHuge);
  server_.clear_requests();
  auto status =
      client_for(server_).download_file(kRepo, "main", huge, dir_.path() / "huge.gguf", {}, {});
  ASSERT_FALSE(status);
  EXPECT_EQ(status.error().code, ErrorCode::kResourceExhausted);
  EXPECT_NE(status.error().message.find("not enough disk space"), std::string::npos)
      << status.error().message;
  EXPECT_NE(status.error().message.find("1.0 PiB"), std::string::npos) << status.error().message;
  EXPECT_TRUE(server_.requests().empty());  // nothing was even asked for
  EXPECT_FALSE(std::filesystem::exists(partial_path(dir_.path() / "huge.gguf")));
}

TEST_F(HfClientTest, UnreachableEndpointNamesTheHost) {
  HfClientOptions options;
  options.endpoint = "http://127.0.0.1:1";
  options.transfer = fast_options();
  options.transfer.max_attempts = 2;
  auto files = HfClient(options).list_files(kRepo, "main");
  ASSERT_FALSE(files);
  EXPECT_EQ(files.error().code, ErrorCode::kUnavailable);
  EXPECT_NE(files.error().message.find("cannot reach 127.0.0.1:1"), std::string::npos)
      << files.error().message;
}

TEST_F(HfClientTest, RejectsUnsafeNames) {
  auto client = client_for(server_);
  EXPECT_EQ(client.list_files("../etc", "main").error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(client.list_files(kRepo, "../x").error().code, ErrorCode::kInvalidArgument);
  auto status = client.download_file(kRepo, "main", RepoFile{"../evil.gguf", 1, ""},
                                     dir_.path() / "x", {}, {});
  ASSERT_FALSE(status);
  EXPECT_EQ(status.error().code, ErrorCode::kInvalidArgument);
  EXPECT_TRUE(server_.requests().empty());
}

TEST_F(HfClientTest, EscapesPathsInUrls) {
  auto client = client_for(server_);
  EXPECT_EQ(client.resolve_url("a/b", "refs/pr/1", "dir/x y.gguf"),
            server_.url() + "/a/b/resolve/refs%2Fpr%2F1/dir/x%20y.gguf");
}

class EnvironmentTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const char* name :
         {"HF_ENDPOINT", "HF_TOKEN", "HF_TOKEN_PATH", "HF_HOME", "RBEE_DOWNLOAD_STALL_TIMEOUT_S"}) {
      const char* value = std::getenv(name);
      saved_[name] = value == nullptr ? std::nullopt : std::optional<std::string>(value);
      ::unsetenv(name);
    }
    // No accidental token from the developer's own login.
    ::setenv("HF_HOME", dir_.path().c_str(), 1);
  }
  void TearDown() override {
    for (const auto& [name, value] : saved_) {
      if (value) {
        ::setenv(name.c_str(), value->c_str(), 1);
      } else {
        ::unsetenv(name.c_str());
      }
    }
  }
  std::map<std::string, std::optional<std::string>> saved_;
  TestDir dir_;
};

TEST_F(EnvironmentTest, Defaults) {
  auto options = HfClientOptions::from_environment();
  EXPECT_EQ(options.endpoint, "https://huggingface.co");
  EXPECT_EQ(options.token, "");
  EXPECT_EQ(options.transfer.stall_timeout_s, 30);
}

TEST_F(EnvironmentTest, FromVariables) {
  ::setenv("HF_ENDPOINT", "http://mirror.local:8080/", 1);
  ::setenv("HF_TOKEN", " hf_abc\n", 1);
  ::setenv("RBEE_DOWNLOAD_STALL_TIMEOUT_S", "2.5", 1);
  auto options = HfClientOptions::from_environment();
  EXPECT_EQ(options.endpoint, "http://mirror.local:8080");
  EXPECT_EQ(options.token, "hf_abc");
  EXPECT_EQ(options.transfer.stall_timeout_s, 2.5);
}

TEST_F(EnvironmentTest, TokenFromTheLoginFile) {
  std::ofstream(dir_.path() / "token") << "hf_saved\n";
  EXPECT_EQ(HfClientOptions::from_environment().token, "hf_saved");
  std::ofstream(dir_.path() / "other") << "hf_other";
  ::setenv("HF_TOKEN_PATH", (dir_.path() / "other").c_str(), 1);
  EXPECT_EQ(HfClientOptions::from_environment().token, "hf_other");
  ::setenv("HF_TOKEN", "hf_env", 1);
  EXPECT_EQ(HfClientOptions::from_environment().token, "hf_env");
}

// The real models of the shared test data, served as a repo.
class HfClientTestdataTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto models = HfTestServer::testdata_models_dir();
    if (!models) GTEST_SKIP() << "../shared/testdata/models is not here";
    models_ = *models;
    ASSERT_TRUE(server_.add_folder("test/models", models_));
  }
  std::filesystem::path models_;
  HfTestServer server_;
  TestDir dir_;
};

TEST_F(HfClientTestdataTest, ListingMatchesSha256Sums) {
  auto files = client_for(server_).list_files("test/models", "main");
  ASSERT_TRUE(files) << files.error().message;
  std::map<std::string, std::string> sums;
  std::ifstream in(models_ / "SHA256SUMS");
  std::string hash, name;
  while (in >> hash >> name) sums[name] = hash;
  size_t checked = 0;
  for (const auto& file : *files) {
    if (file.sha256.empty()) continue;
    EXPECT_EQ(file.sha256, sums[file.path]) << file.path;
    EXPECT_EQ(file.size, std::filesystem::file_size(models_ / file.path)) << file.path;
    ++checked;
  }
  EXPECT_EQ(checked, sums.size());
}

TEST_F(HfClientTestdataTest, SelectsAndDownloadsARealModel) {
  auto client = client_for(server_);
  auto best = client.resolve(*parse_model_reference("test/models"));
  ASSERT_TRUE(best) << best.error().message;
  EXPECT_EQ(best->quant, "Q4_K_M");
  EXPECT_EQ(best->files.at(0).path, "rand-llama-q-Q4_K_M.gguf");

  auto exact = client.resolve(*parse_model_reference("test/models:stories260K.gguf"));
  ASSERT_TRUE(exact) << exact.error().message;
  const auto& file = exact->files.at(0);
  auto dest = dir_.path() / file.path;
  auto status = client.download_file("test/models", "main", file, dest, {}, {});
  ASSERT_TRUE(status) << status.error().message;
  EXPECT_EQ(read_bytes(dest), read_bytes(models_ / file.path));
}

}  // namespace
}  // namespace rbee::provision
