#include "lifecycle/process.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include "common/files.hpp"
#include "common/test_dir.hpp"

namespace rbee::lifecycle {
namespace {

using namespace std::chrono_literals;

TEST(ProcessTest, SpawnsWithArgvAndLogsOutput) {
  testing::TestDir dir;
  auto log = dir.path() / "out.log";
  // The argument is one argv entry, not shell text: the quotes and $ stay as they are.
  auto pid = spawn_process({{"/bin/echo", "hello $HOME 'x'"}, log, true});
  ASSERT_TRUE(pid) << pid.error().message;
  ASSERT_TRUE(poll_until([&] { return !process_alive(*pid); }, 10s));
  EXPECT_EQ(*read_file(log), "hello $HOME 'x'\n");
}

TEST(ProcessTest, TheChildGetsNoOtherDescriptorOfOurs) {
  testing::TestDir dir;
  // Opened without O_CLOEXEC, as libraries (iostreams) do.
  int leaky = ::open((dir.path() / "open-file").c_str(), O_WRONLY | O_CREAT, 0644);
  ASSERT_GE(leaky, 0);
  auto pid = spawn_process({{"/bin/sleep", "60"}, dir.path() / "out.log", true});
  ::close(leaky);
  ASSERT_TRUE(pid);
  ASSERT_TRUE(poll_until(
      [&] { return std::filesystem::path(process_program(*pid)).filename() == "sleep"; }, 5s));
  // Right after the exec the dynamic loader and the program's start-up still open and close
  // files of their own (libc, the locale archive), so the listing is read once the child is
  // in its sleep (its kernel wait channel names nanosleep): start-up is over then, and an
  // inherited descriptor would still be open. (Polling the listing until it showed only the
  // standard three once raced with the locale archive's open.)
  const auto sleeping = [&] {
    auto channel = read_file("/proc/" + std::to_string(*pid) + "/wchan");
    return channel && channel->find("nanosleep") != std::string::npos;
  };
  ASSERT_TRUE(poll_until(sleeping, 5s));
  const auto open_fds = [&] {
    std::vector<std::string> fds;
    for (const auto& fd :
         std::filesystem::directory_iterator("/proc/" + std::to_string(*pid) + "/fd")) {
      fds.push_back(fd.path().filename().string());
    }
    std::sort(fds.begin(), fds.end());
    return fds;
  };
  const std::vector<std::string> standard_only = {"0", "1", "2"};
  EXPECT_EQ(open_fds(), standard_only);
  ASSERT_TRUE(stop_process(*pid, 2s));
}

TEST(ProcessTest, MissingProgramIsNotFound) {
  auto pid = spawn_process({{"/nonexistent/program"}, "", true});
  ASSERT_FALSE(pid);
  EXPECT_EQ(pid.error().code, ErrorCode::kNotFound);
}

TEST(ProcessTest, StopProcessEndsASleeper) {
  auto pid = spawn_process({{"/bin/sleep", "60"}, "", true});
  ASSERT_TRUE(pid);
  EXPECT_TRUE(process_alive(*pid));
  // Until exec() completes, /proc shows the spawning program.
  EXPECT_TRUE(poll_until(
      [&] { return std::filesystem::path(process_program(*pid)).filename() == "sleep"; }, 5s));
  ASSERT_TRUE(stop_process(*pid, 2s));
  EXPECT_FALSE(process_alive(*pid));
}

TEST(ProcessTest, StopProcessKillsWhatIgnoresSigterm) {
  auto pid =
      spawn_process({{"/bin/sh", "-c", "trap '' TERM; while true; do sleep 0.05; done"}, "", true});
  ASSERT_TRUE(pid);
  ASSERT_TRUE(poll_until([&] { return process_program(*pid) == "/bin/sh"; }, 5s));
  ASSERT_TRUE(stop_process(*pid, 200ms));
  EXPECT_FALSE(process_alive(*pid));
}

TEST(ProcessTest, PidFilesRoundTripAndStaleOnesAreRemoved) {
  testing::TestDir dir;
  auto path = dir.path() / "x.pid";
  ASSERT_TRUE(write_pid_file(path, ::getpid()));
  EXPECT_EQ(*read_pid_file(path), ::getpid());
  // Alive but a different program: not ours, and the file is stale.
  EXPECT_EQ(live_pid_from_file(path, "queen-rbee"), 0);
  EXPECT_FALSE(std::filesystem::exists(path));
  ASSERT_TRUE(write_file_atomic(path, "garbage"));
  EXPECT_EQ(read_pid_file(path).error().code, ErrorCode::kInvalidArgument);
}

TEST(ProcessTest, RunAndCaptureReturnsStdout) {
  auto output = run_and_capture({"printf", "%s,%s", "a b", "c"}, 5s);
  ASSERT_TRUE(output) << output.error().message;
  EXPECT_EQ(*output, "a b,c");
}

TEST(ProcessTest, RunAndCaptureReportsFailures) {
  EXPECT_EQ(run_and_capture({"rbee-no-such-program"}, 5s).error().code, ErrorCode::kNotFound);
  EXPECT_EQ(run_and_capture({"false"}, 5s).error().code, ErrorCode::kInternal);
  EXPECT_EQ(run_and_capture({"sleep", "10"}, 100ms).error().code, ErrorCode::kDeadlineExceeded);
}

TEST(ProcessTest, PollUntilTimesOut) {
  auto start = std::chrono::steady_clock::now();
  EXPECT_FALSE(poll_until([] { return false; }, 100ms));
  EXPECT_GE(std::chrono::steady_clock::now() - start, 100ms);
}

}  // namespace
}  // namespace rbee::lifecycle
