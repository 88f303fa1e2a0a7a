#include "lifecycle/process_watcher.hpp"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

#include <charconv>
#include <future>

#include "common/files.hpp"
#include "common/test_dir.hpp"
#include "lifecycle/proc_info.hpp"
#include "lifecycle/process.hpp"

namespace rbee::lifecycle {
namespace {

using namespace std::chrono_literals;

struct Reported {
  std::promise<ExitStatus> promise;
  std::future<ExitStatus> future = promise.get_future();
  ProcessWatcher::OnExit callback() {
    return [this](pid_t, const ExitStatus& status) { promise.set_value(status); };
  }
};

pid_t spawn(std::vector<std::string> argv) {
  auto pid = spawn_process({std::move(argv), "", true});
  if (!pid) std::abort();
  return *pid;
}

pid_t read_pid_from(const std::filesystem::path& file) {
  pid_t pid = 0;
  if (!poll_until(
          [&] {
            auto text = read_file(file);
            return text &&
                   std::from_chars(text->data(), text->data() + text->size(), pid).ec ==
                       std::errc() &&
                   pid > 0;
          },
          5s)) {
    return 0;
  }
  return pid;
}

bool gone(pid_t pid) {
  auto info = read_process_info(pid);
  return !info || info->zombie();
}

TEST(ProcessWatcherTest, ReportsAChildsExitCodeAndReapsIt) {
  ProcessWatcher watcher;
  Reported reported;
  pid_t pid = spawn({"/bin/sh", "-c", "exit 7"});
  ASSERT_TRUE(watcher.watch(pid, reported.callback()));
  ASSERT_EQ(reported.future.wait_for(10s), std::future_status::ready);
  ExitStatus status = reported.future.get();
  EXPECT_TRUE(status.known);
  EXPECT_EQ(status.exit_code, 7);
  EXPECT_EQ(status.signal, 0);
  EXPECT_EQ(describe_exit(status), "exited with code 7");
  // Reaped: no zombie is left, and wait_exit still knows how it ended.
  EXPECT_EQ(read_process_info(pid).error().code, ErrorCode::kNotFound);
  EXPECT_EQ(watcher.wait_exit(pid, 0ms)->exit_code, 7);
  EXPECT_FALSE(watcher.running(pid));
}

TEST(ProcessWatcherTest, NoticesAKillAtOnce) {
  ProcessWatcher watcher;
  Reported reported;
  pid_t pid = spawn({"/bin/sleep", "60"});
  ASSERT_TRUE(watcher.watch(pid, reported.callback()));
  EXPECT_TRUE(watcher.running(pid));
  EXPECT_EQ(watcher.watch(pid, {}).error().code, ErrorCode::kAlreadyExists);
  auto killed_at = std::chrono::steady_clock::now();
  ASSERT_TRUE(watcher.send_signal(pid, SIGKILL));
  ASSERT_EQ(reported.future.wait_for(10s), std::future_status::ready);
  EXPECT_LT(std::chrono::steady_clock::now() - killed_at, 1s);
  ExitStatus status = reported.future.get();
  EXPECT_TRUE(status.known);
  EXPECT_EQ(status.exit_code, -1);
  EXPECT_EQ(status.signal, SIGKILL);
  EXPECT_EQ(describe_exit(status), "killed by signal 9 (SIGKILL)");
  EXPECT_EQ(watcher.send_signal(pid, SIGTERM).error().code, ErrorCode::kNotFound);
}

TEST(ProcessWatcherTest, NoticesTheExitOfAProcessThatIsNotItsChild) {
  testing::TestDir dir;
  auto pid_file = dir.path() / "sleeper.pid";
  // The shell starts a sleeper and exits: the sleeper is then nobody's child of ours.
  auto started = run_and_capture(
      {"/bin/sh", "-c", "sleep 60 </dev/null >/dev/null 2>&1 & echo $! > " + pid_file.string()},
      5s);
  ASSERT_TRUE(started) << started.error().message;
  pid_t sleeper = read_pid_from(pid_file);
  ASSERT_GT(sleeper, 0);
  ProcessWatcher watcher;
  Reported reported;
  ASSERT_TRUE(watcher.watch(sleeper, reported.callback()));
  ::kill(sleeper, SIGKILL);
  ASSERT_EQ(reported.future.wait_for(10s), std::future_status::ready);
  ExitStatus status = reported.future.get();
  // Unless this test runs as a subreaper, the OS keeps the status from us.
  if (!status.known) {
    EXPECT_EQ(status.exit_code, -1);
    EXPECT_NE(describe_exit(status).find("unknown"), std::string::npos);
  } else {
    EXPECT_EQ(status.signal, SIGKILL);
  }
  EXPECT_TRUE(poll_until([&] { return gone(sleeper); }, 5s));
}

TEST(ProcessWatcherTest, WatchingAMissingProcessIsNotFound) {
  ProcessWatcher watcher;
  auto pid = spawn({"/bin/true"});
  ASSERT_EQ(::waitpid(pid, nullptr, 0), pid);  // reaped here
  EXPECT_EQ(watcher.watch(pid, {}).error().code, ErrorCode::kNotFound);
  EXPECT_FALSE(watcher.wait_exit(pid, 10ms).has_value());
}

TEST(ProcessWatcherTest, StopTerminatesPoliteProcessesAndKillsStubbornOnes) {
  ProcessWatcher watcher;
  testing::TestDir dir;
  auto trapped = dir.path() / "trapped";
  pid_t polite = spawn({"/bin/sleep", "60"});
  pid_t stubborn =
      spawn({"/bin/sh", "-c",
             "trap '' TERM; touch " + trapped.string() + "; while :; do sleep 0.05; done"});
  ASSERT_TRUE(poll_until([&] { return std::filesystem::exists(trapped); }, 5s));
  ASSERT_TRUE(watcher.watch(polite, {}));
  ASSERT_TRUE(watcher.watch(stubborn, {}));
  auto started = std::chrono::steady_clock::now();
  auto outcomes = watcher.stop({polite, stubborn}, 300ms, true);
  // Both were waited for together, not one grace period after the other.
  EXPECT_LT(std::chrono::steady_clock::now() - started, 3s);
  ASSERT_EQ(outcomes.size(), 2u);
  EXPECT_TRUE(outcomes[0].gone);
  EXPECT_FALSE(outcomes[0].forced);
  EXPECT_EQ(outcomes[0].status.signal, SIGTERM);
  EXPECT_TRUE(outcomes[1].gone);
  EXPECT_TRUE(outcomes[1].forced);
  EXPECT_EQ(outcomes[1].status.signal, SIGKILL);
  EXPECT_EQ(read_process_info(polite).error().code, ErrorCode::kNotFound);
  EXPECT_EQ(read_process_info(stubborn).error().code, ErrorCode::kNotFound);
}

TEST(ProcessWatcherTest, StoppingTheGroupEndsWhatTheProcessStarted) {
  testing::TestDir dir;
  auto pid_file = dir.path() / "helper.pid";
  ProcessWatcher watcher;
  pid_t leader = spawn({"/bin/sh", "-c", "sleep 60 & echo $! > " + pid_file.string() + "; wait"});
  pid_t helper = read_pid_from(pid_file);
  ASSERT_GT(helper, 0);
  ASSERT_TRUE(watcher.watch(leader, {}));
  auto outcomes = watcher.stop({leader}, 2s, true);
  ASSERT_TRUE(outcomes[0].gone);
  EXPECT_TRUE(poll_until([&] { return gone(helper); }, 5s)) << "the helper outlived its group";
}

}  // namespace
}  // namespace rbee::lifecycle
