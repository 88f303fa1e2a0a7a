#include "lifecycle/proc_info.hpp"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/files.hpp"
#include "common/test_dir.hpp"
#include "lifecycle/process.hpp"

namespace rbee::lifecycle {
namespace {

using namespace std::chrono_literals;

// A child started for a test and always stopped at the end.
class Child {
 public:
  explicit Child(std::vector<std::string> argv) {
    auto pid = spawn_process({std::move(argv), "", true});
    if (!pid) std::abort();
    pid_ = *pid;
  }
  ~Child() { (void)stop_process(pid_, 1s); }
  pid_t pid() const { return pid_; }

 private:
  pid_t pid_ = 0;
};

TEST(ProcInfoTest, DescribesAChildOfThisProcess) {
  Child child({"/bin/sleep", "60"});
  // Until exec() completes, /proc shows this test program.
  ASSERT_TRUE(poll_until(
      [&] {
        auto info = read_process_info(child.pid());
        // The resident set is briefly empty while exec() swaps the memory map.
        return info && info->cmdline == std::vector<std::string>{"/bin/sleep", "60"} &&
               info->rss_bytes > 0;
      },
      5s));
  auto info = read_process_info(child.pid());
  ASSERT_TRUE(info) << info.error().message;
  EXPECT_EQ(info->pid, child.pid());
  EXPECT_EQ(info->parent_pid, ::getpid());
  EXPECT_EQ(info->process_group, child.pid());  // a new session leads its own group
  EXPECT_NE(info->state, 'Z');
  EXPECT_GT(info->rss_bytes, 0);
  EXPECT_GT(info->start_ticks, 0u);
  EXPECT_GE(info->uptime_s, 0);
  EXPECT_LT(info->uptime_s, 30);
  EXPECT_EQ(process_start_ticks(child.pid()).value(), info->start_ticks);
  // Our own start was earlier (or in the same tick).
  EXPECT_LE(read_process_info(::getpid())->start_ticks, info->start_ticks);
}

TEST(ProcInfoTest, CountsCpuTime) {
  Child child({"/bin/sh", "-c", "while :; do :; done"});
  EXPECT_TRUE(poll_until(
      [&] {
        auto info = read_process_info(child.pid());
        return info && info->cpu_time_s >= 0.1;
      },
      10s));
}

TEST(ProcInfoTest, AGoneProcessIsNotFound) {
  auto pid = spawn_process({{"/bin/true"}, "", true});
  ASSERT_TRUE(pid);
  ASSERT_EQ(::waitpid(*pid, nullptr, 0), *pid);
  EXPECT_EQ(read_process_info(*pid).error().code, ErrorCode::kNotFound);
  EXPECT_EQ(process_start_ticks(*pid).error().code, ErrorCode::kNotFound);
  EXPECT_EQ(read_process_info(-1).error().code, ErrorCode::kNotFound);
}

TEST(ProcInfoTest, LastLinesOfALog) {
  testing::TestDir dir;
  auto log = dir.path() / "worker.log";
  EXPECT_TRUE(last_lines(log, 3).empty());
  ASSERT_TRUE(write_file_atomic(log, "one\ntwo\nthree\nfour\n"));
  EXPECT_EQ(last_lines(log, 2), (std::vector<std::string>{"three", "four"}));
  EXPECT_EQ(last_lines(log, 10), (std::vector<std::string>{"one", "two", "three", "four"}));
  // A long log: only its end is read, and the first (cut) line is not returned.
  std::string big(200 * 1024, 'x');
  ASSERT_TRUE(write_file_atomic(log, big + "\nlast words"));
  EXPECT_EQ(last_lines(log, 3), (std::vector<std::string>{"last words"}));
}

}  // namespace
}  // namespace rbee::lifecycle
