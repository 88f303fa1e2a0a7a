// The transfer engine through download_url (worker binaries), against the HuggingFace test
// server used as a plain file server and against small servers that misbehave on purpose.

#include "provision/download.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/file.h>
#include <unistd.h>

#include <mutex>
#include <thread>

#include "common/sha256.hpp"
#include "common/test_dir.hpp"
#include "http/server.hpp"
#include "http/test_server.hpp"
#include "provision/test_support.hpp"

namespace rbee::provision {
namespace {

using namespace rbee::provision::testing;
using rbee::testing::HfFault;
using rbee::testing::HfTestServer;
using rbee::testing::TestDir;

std::string sha256_of(const std::string& bytes) {
  Sha256 hasher;
  hasher.update(bytes);
  return hasher.finish_hex();
}

class DownloadUrlTest : public ::testing::Test {
 protected:
  DownloadUrlTest() {
    server_.add_file("org/bin", "worker.gguf", content_);  // through the CDN redirect
    server_.add_file("org/bin", "worker.bin", content_);   // served directly
  }
  std::string url(const std::string& file = "worker.gguf") const {
    return server_.url() + "/org/bin/resolve/main/" + file;
  }
  std::filesystem::path dest() const { return dir_.path() / "bin" / "worker"; }

  std::string content_ = patterned_content(300000);
  std::string sha256_ = sha256_of(content_);
  HfTestServer server_;
  TestDir dir_;
};

TEST_F(DownloadUrlTest, DownloadsVerifiesAndReportsProgress) {
  ProgressRecorder progress;
  auto status = download_url(url(), dest(), sha256_, progress.callback(), {}, fast_options());
  ASSERT_TRUE(status) << status.error().message;
  EXPECT_EQ(read_bytes(dest()), content_);
  EXPECT_FALSE(std::filesystem::exists(partial_path(dest())));
  auto calls = progress.calls();
  ASSERT_FALSE(calls.empty());
  for (size_t i = 1; i < calls.size(); ++i) {
    EXPECT_GE(calls[i].bytes_done, calls[i - 1].bytes_done);
  }
  EXPECT_EQ(calls.back().bytes_done, content_.size());
  EXPECT_EQ(calls.back().bytes_total, content_.size());
  EXPECT_EQ(calls.back().eta_s, 0);
}

TEST_F(DownloadUrlTest, WithoutShaAndWithoutRedirect) {
  auto status = download_url(url("worker.bin"), dest(), std::nullopt, {}, {}, fast_options());
  ASSERT_TRUE(status) << status.error().message;
  EXPECT_EQ(read_bytes(dest()), content_);
}

TEST_F(DownloadUrlTest, WrongShaDiscardsTheBytes) {
  std::string wrong(64, '0');
  auto status = download_url(url(), dest(), wrong, {}, {}, fast_options());
  ASSERT_FALSE(status);
  EXPECT_EQ(status.error().code, ErrorCode::kInternal);
  EXPECT_NE(status.error().message.find(wrong), std::string::npos) << status.error().message;
  EXPECT_NE(status.error().message.find(sha256_), std::string::npos) << status.error().message;
  EXPECT_FALSE(std::filesystem::exists(dest()));
  EXPECT_FALSE(std::filesystem::exists(partial_path(dest())));
}

TEST_F(DownloadUrlTest, RejectsBadArguments) {
  auto ftp = download_url("ftp://example.com/x", dest(), std::nullopt, {}, {});
  ASSERT_FALSE(ftp);
  EXPECT_EQ(ftp.error().code, ErrorCode::kInvalidArgument);
  auto sha = download_url(url(), dest(), std::string("abc"), {}, {});
  ASSERT_FALSE(sha);
  EXPECT_EQ(sha.error().code, ErrorCode::kInvalidArgument);
}

TEST_F(DownloadUrlTest, ResumesAnExistingPartial) {
  std::filesystem::create_directories(dest().parent_path());
  write_bytes(partial_path(dest()), content_.substr(0, 123456));
  auto status = download_url(url(), dest(), sha256_, {}, {}, fast_options());
  ASSERT_TRUE(status) << status.error().message;
  EXPECT_EQ(read_bytes(dest()), content_);
  EXPECT_EQ(ranges_of(server_, "/cdn/"), std::vector<std::string>{"bytes=123456-"});
}

TEST_F(DownloadUrlTest, ACompletePartialNeedsOnlyA416) {
  // Without a known size the engine cannot tell the partial is whole until it asks.
  std::filesystem::create_directories(dest().parent_path());
  write_bytes(partial_path(dest()), content_);
  auto status = download_url(url(), dest(), sha256_, {}, {}, fast_options());
  ASSERT_TRUE(status) << status.error().message;
  EXPECT_EQ(read_bytes(dest()), content_);
  EXPECT_EQ(statuses_of(server_, "/cdn/"), std::vector<int>{416});
}

TEST_F(DownloadUrlTest, ResumesAfterDrops) {
  server_.add_fault({"org/bin/worker.gguf", HfFault::Kind::kDrop, 1000, 0, 0, 1});
  server_.add_fault({"org/bin/worker.gguf", HfFault::Kind::kDrop, 200000, 0, 0, 1});
  auto status = download_url(url(), dest(), sha256_, {}, {}, fast_options());
  ASSERT_TRUE(status) << status.error().message;
  EXPECT_EQ(read_bytes(dest()), content_);
  // Each drop cost one request, and each retry asked for the rest only.
  EXPECT_EQ(ranges_of(server_, "/cdn/"),
            (std::vector<std::string>{"", "bytes=1000-", "bytes=201000-"}));
}

TEST_F(DownloadUrlTest, GivesUpAfterFruitlessAttemptsAndKeepsThePartial) {
  server_.add_fault({"org/bin/worker.gguf", HfFault::Kind::kDrop, 5000, 0, 0, 1});
  server_.add_fault({"org/bin/worker.gguf", HfFault::Kind::kDrop, 0, 0, 0, -1});
  auto status = download_url(url(), dest(), sha256_, {}, {}, fast_options());
  ASSERT_FALSE(status);
  EXPECT_EQ(status.error().code, ErrorCode::kUnavailable);
  EXPECT_NE(status.error().message.find("4 attempts"), std::string::npos) << status.error().message;
  EXPECT_NE(status.error().message.find(host_of(server_.url())), std::string::npos);
  // One productive attempt, then four without a byte.
  EXPECT_EQ(ranges_of(server_, "/cdn/").size(), 5u);
  EXPECT_EQ(std::filesystem::file_size(partial_path(dest())), 5000u);
  EXPECT_FALSE(std::filesystem::exists(dest()));
}

TEST_F(DownloadUrlTest, ClientErrorsAreNotRetried) {
  auto status = download_url(url("missing.bin"), dest(), std::nullopt, {}, {}, fast_options());
  ASSERT_FALSE(status);
  EXPECT_EQ(status.error().code, ErrorCode::kNotFound);
  EXPECT_EQ(statuses_of(server_, "/org/bin/"), std::vector<int>{404});
}

TEST_F(DownloadUrlTest, UnreachableHostIsUnavailable) {
  auto options = fast_options();
  options.max_attempts = 2;
  auto status = download_url("http://127.0.0.1:1/x", dest(), std::nullopt, {}, {}, options);
  ASSERT_FALSE(status);
  EXPECT_EQ(status.error().code, ErrorCode::kUnavailable);
  EXPECT_NE(status.error().message.find("127.0.0.1:1"), std::string::npos)
      << status.error().message;
}

TEST_F(DownloadUrlTest, DiskFullMidwayIsResourceExhausted) {
  // /dev/full answers every write with ENOSPC: the partial file "lives" there.
  if (!std::filesystem::exists("/dev/full")) GTEST_SKIP() << "no /dev/full";
  std::filesystem::create_directories(dest().parent_path());
  std::filesystem::create_symlink("/dev/full", partial_path(dest()));
  auto status = download_url(url(), dest(), sha256_, {}, {}, fast_options());
  ASSERT_FALSE(status);
  EXPECT_EQ(status.error().code, ErrorCode::kResourceExhausted);
  EXPECT_NE(status.error().message.find("disk is full"), std::string::npos)
      << status.error().message;
  EXPECT_FALSE(std::filesystem::exists(dest()));
  EXPECT_EQ(ranges_of(server_, "/cdn/").size(), 1u);  // not retried
}

TEST_F(DownloadUrlTest, ASecondWriterIsRefused) {
  std::filesystem::create_directories(dest().parent_path());
  int fd = ::open(partial_path(dest()).c_str(), O_RDWR | O_CREAT, 0644);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::flock(fd, LOCK_EX | LOCK_NB), 0);
  auto status = download_url(url(), dest(), sha256_, {}, {}, fast_options());
  ::close(fd);
  ASSERT_FALSE(status);
  EXPECT_EQ(status.error().code, ErrorCode::kFailedPrecondition);
  EXPECT_TRUE(std::filesystem::exists(partial_path(dest())));  // the other writer's file
  EXPECT_TRUE(server_.requests().empty());
}

TEST_F(DownloadUrlTest, CancelStopsAStalledTransferPromptlyAndKeepsThePartial) {
  server_.add_fault({"org/bin/worker.gguf", HfFault::Kind::kStall, 70000, 60, 0, 1});
  ProgressRecorder progress;
  std::stop_source stop;
  Status result;
  std::thread download([&] {
    result =
        download_url(url(), dest(), sha256_, progress.callback(), stop.get_token(), fast_options());
  });
  ASSERT_TRUE(progress.wait_for_bytes(70000));
  auto stop_time = std::chrono::steady_clock::now();
  stop.request_stop();
  download.join();
  auto took = std::chrono::steady_clock::now() - stop_time;
  EXPECT_LT(took, std::chrono::seconds(2));
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code, ErrorCode::kCancelled);
  EXPECT_EQ(std::filesystem::file_size(partial_path(dest())), 70000u);
  EXPECT_FALSE(std::filesystem::exists(dest()));

  // The next run picks up where the cancelled one stopped.
  auto resumed = download_url(url(), dest(), sha256_, {}, {}, fast_options());
  ASSERT_TRUE(resumed) << resumed.error().message;
  EXPECT_EQ(read_bytes(dest()), content_);
  EXPECT_EQ(ranges_of(server_, "/cdn/"), (std::vector<std::string>{"", "bytes=70000-"}));
}

TEST_F(DownloadUrlTest, CancelledBeforeStarting) {
  std::stop_source stop;
  stop.request_stop();
  auto status = download_url(url(), dest(), sha256_, {}, stop.get_token(), fast_options());
  ASSERT_FALSE(status);
  EXPECT_EQ(status.error().code, ErrorCode::kCancelled);
}

// Servers that get ranges wrong, built on rbee's own HTTP server.
class MisbehavingServerTest : public ::testing::Test {
 protected:
  MisbehavingServerTest() : server_(http::ServerOptions{"misbehaving", 1024, 8, ""}) {
    // Ignores Range: always the whole file with 200.
    server_.route("GET", "/ignores-range", http::Access::kPublic, [this](const http::Request& req) {
      see(req);
      return whole(200, "");
    });
    // Answers any range with the file's first bytes (a wrong Content-Range).
    server_.route("GET", "/wrong-range", http::Access::kPublic, [this](const http::Request& req) {
      see(req);
      if (req.header("Range").empty()) return whole(200, "");
      return whole(206, "bytes 0-" + std::to_string(content_.size() - 1) + "/" +
                            std::to_string(content_.size()));
    });
  }
  void see(const http::Request& req) {
    std::lock_guard lock(mu_);
    ranges_seen_.push_back(req.header("Range"));
  }
  std::vector<std::string> ranges_seen() {
    std::lock_guard lock(mu_);
    return ranges_seen_;
  }
  http::Response whole(int status, const std::string& content_range) {
    http::Response response;
    response.status = status;
    response.content_type = "application/octet-stream";
    if (!content_range.empty()) response.headers.emplace_back("Content-Range", content_range);
    response.stream_length = static_cast<int64_t>(content_.size());
    response.stream = [this](http::StreamSink& sink) { sink.write(content_); };
    return response;
  }

  std::string content_ = patterned_content(50000, 7);
  std::mutex mu_;
  std::vector<std::string> ranges_seen_;  // guarded by mu_
  http::Server server_;
  TestDir dir_;
};

TEST_F(MisbehavingServerTest, AServerIgnoringRangeRestartsFromZero) {
  http::testing::RunningServer running(server_);
  auto dest = dir_.path() / "f";
  write_bytes(partial_path(dest), std::string(20000, 'x'));  // not even the right bytes
  auto status = download_url(running.url() + "/ignores-range", dest, sha256_of(content_), {}, {},
                             fast_options());
  ASSERT_TRUE(status) << status.error().message;
  EXPECT_EQ(read_bytes(dest), content_);
  EXPECT_EQ(ranges_seen(), std::vector<std::string>{"bytes=20000-"});
}

TEST_F(MisbehavingServerTest, AWrongContentRangeRestartsFromZero) {
  http::testing::RunningServer running(server_);
  auto dest = dir_.path() / "f";
  write_bytes(partial_path(dest), content_.substr(0, 20000));
  auto status = download_url(running.url() + "/wrong-range", dest, sha256_of(content_), {}, {},
                             fast_options());
  ASSERT_TRUE(status) << status.error().message;
  EXPECT_EQ(read_bytes(dest), content_);
  EXPECT_EQ(ranges_seen(), (std::vector<std::string>{"bytes=20000-", ""}));
}

TEST(HostOfTest, NamesHostAndPort) {
  EXPECT_EQ(host_of("https://huggingface.co/api/models"), "huggingface.co");
  EXPECT_EQ(host_of("http://user:pw@127.0.0.1:8080?x"), "127.0.0.1:8080");
  EXPECT_EQ(host_of("not a url"), "not a url");
}

TEST(DescribeBytesTest, HumanAndExact) {
  EXPECT_EQ(describe_bytes(512), "512 bytes");
  EXPECT_EQ(describe_bytes(1536), "1.5 KiB (1536 bytes)");
  EXPECT_EQ(describe_bytes(uint64_t{3} << 30), "3.0 GiB (3221225472 bytes)");
}

}  // namespace
}  // namespace rbee::provision
