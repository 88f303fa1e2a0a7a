// The multi-host rig against real namespaces, sshd and ssh: each namespace is its own host,
// reachable only with the rig's key and host keys, and nothing of it is left after teardown.

#include "netns_rig.hpp"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <iterator>
#include <memory>
#include <sstream>

#include "lifecycle/process.hpp"

namespace rbee::testing {
namespace {

using namespace std::chrono_literals;

class NetnsRigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string why = NetnsRig::unavailable_reason();
    if (!why.empty()) GTEST_SKIP() << why;
  }
};

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// argv with its UserKnownHostsFile option pointed at another file.
std::vector<std::string> with_known_hosts(std::vector<std::string> argv,
                                          const std::filesystem::path& file) {
  for (auto& arg : argv) {
    if (arg.rfind("UserKnownHostsFile=", 0) == 0) arg = "UserKnownHostsFile=" + file.string();
  }
  return argv;
}

std::string line_for(const std::string& text, const std::string& start) {
  std::stringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.rfind(start, 0) == 0) return line;
  }
  return "";
}

TEST_F(NetnsRigTest, SshIntoEachNamespaceRunsThere) {
  NetnsRig rig(2);
  ASSERT_NE(rig.address(0), rig.address(1));
  for (size_t i = 0; i < rig.size(); ++i) {
    CommandOutcome run =
        run_command(rig.ssh_argv(i, "ip netns identify; ip -o -4 addr show dev eth0"));
    ASSERT_TRUE(run.ok()) << "ssh into " << rig.name(i) << ": " << run.output
                          << "\nsshd log: " << std::ifstream(rig.sshd_log(i)).rdbuf();
    EXPECT_TRUE(contains(run.output, rig.name(i) + "\n")) << run.output;
    EXPECT_TRUE(contains(run.output, "inet " + rig.address(i) + "/24")) << run.output;
    EXPECT_FALSE(contains(run.output, "inet " + rig.address(1 - i) + "/")) << run.output;
  }
  // The ssh_config entries name the same hosts.
  CommandOutcome by_alias =
      run_command({"ssh", "-F", rig.ssh_config().string(), rig.name(1), "ip netns identify"});
  ASSERT_TRUE(by_alias.ok()) << by_alias.output;
  EXPECT_EQ(by_alias.output, rig.name(1) + "\n");
  // scp (the SFTP protocol, served by sshd's internal-sftp) uploads to a namespace.
  std::filesystem::path local = rig.dir() / "payload";
  std::ofstream(local) << "payload for " << rig.name(1) << "\n";
  std::string remote = (rig.dir() / "uploaded").string();
  CommandOutcome copied = run_command(rig.scp_argv(local, 1, remote));
  ASSERT_TRUE(copied.ok()) << copied.output;
  CommandOutcome shown = run_command(rig.ssh_argv(1, "cat " + remote));
  ASSERT_TRUE(shown.ok()) << shown.output;
  EXPECT_EQ(shown.output, "payload for " + rig.name(1) + "\n");
}

TEST_F(NetnsRigTest, HostKeysAreChecked) {
  NetnsRig rig(2);
  std::ifstream in(rig.known_hosts());
  std::string known((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::string entry_1 = line_for(known, rig.address(1) + " ");
  ASSERT_FALSE(entry_1.empty()) << known;

  // Namespace 1's host key claimed for namespace 0's address: a changed host key.
  std::filesystem::path wrong = rig.dir() / "wrong_known_hosts";
  std::ofstream(wrong) << rig.address(0) << entry_1.substr(rig.address(1).size()) << "\n";
  CommandOutcome mismatch = run_command(with_known_hosts(rig.ssh_argv(0, "true"), wrong));
  EXPECT_EQ(mismatch.exit_code, 255) << mismatch.output;
  EXPECT_TRUE(contains(mismatch.output, "Host key verification failed")) << mismatch.output;

  // No entry at all: refused, never accepted on first use.
  std::filesystem::path empty = rig.dir() / "empty_known_hosts";
  std::ofstream(empty).flush();
  CommandOutcome unknown = run_command(with_known_hosts(rig.ssh_argv(0, "true"), empty));
  EXPECT_EQ(unknown.exit_code, 255) << unknown.output;
  EXPECT_TRUE(contains(unknown.output, "Host key verification failed")) << unknown.output;
  std::ifstream still_empty(empty);
  EXPECT_EQ(still_empty.peek(), std::ifstream::traits_type::eof()) << "ssh wrote a host key";

  // The rig's own known_hosts: accepted.
  CommandOutcome right = run_command(rig.ssh_argv(0, "true"));
  EXPECT_TRUE(right.ok()) << right.output;
}

TEST_F(NetnsRigTest, OneNamespaceReachesAnother) {
  NetnsRig rig(2);
  CommandOutcome here = rig.run_in(0, {"ip", "netns", "identify"});
  ASSERT_TRUE(here.ok()) << here.output;
  EXPECT_EQ(here.output, rig.name(0) + "\n");
  CommandOutcome there = rig.run_in(0, rig.ssh_argv(1, "ip netns identify"));
  ASSERT_TRUE(there.ok()) << there.output;
  EXPECT_EQ(there.output, rig.name(1) + "\n");
}

TEST_F(NetnsRigTest, LinkDownMakesANamespaceUnreachableAndUpBringsItBack) {
  NetnsRig rig(2);
  ASSERT_TRUE(rig.reachable(1));
  rig.set_link(1, false);
  EXPECT_TRUE(lifecycle::poll_until([&] { return !rig.reachable(1, NetnsRig::kSshPort, 200ms); },
                                    5s, 100ms))
      << rig.name(1) << " still reachable with its link down";
  EXPECT_TRUE(rig.reachable(0)) << "the other namespace lost its link too";
  std::vector<std::string> quick = rig.ssh_argv(1, "true");
  quick.insert(quick.begin() + 1, {"-o", "ConnectTimeout=1"});  // the first value wins
  CommandOutcome cut_off = run_command(quick);
  EXPECT_FALSE(cut_off.ok()) << cut_off.output;

  rig.set_link(1, true);
  EXPECT_TRUE(lifecycle::poll_until([&] { return rig.reachable(1); }, 5s, 100ms))
      << rig.name(1) << " not reachable after its link came back";
  CommandOutcome back = run_command(rig.ssh_argv(1, "ip netns identify"));
  ASSERT_TRUE(back.ok()) << back.output;
  EXPECT_EQ(back.output, rig.name(1) + "\n");
}

TEST_F(NetnsRigTest, TeardownLeavesNothingBehind) {
  auto rig = std::make_unique<NetnsRig>(2);
  // A process sshd started (not the rig's child) and one the rig started itself.
  CommandOutcome detached =
      run_command(rig->ssh_argv(0, "sleep 300 </dev/null >/dev/null 2>&1 & echo $!"));
  ASSERT_TRUE(detached.ok()) << detached.output;
  pid_t remote_sleep = std::stoi(detached.output);
  pid_t spawned = rig->spawn_in(1, {"/bin/sleep", "300"}, rig->dir() / "sleep.log");
  std::vector<pid_t> sshd = rig->sshd_pids();
  ASSERT_EQ(sshd.size(), 2u);
  std::vector<pid_t> all = sshd;
  all.push_back(remote_sleep);
  all.push_back(spawned);
  for (pid_t pid : all) ASSERT_TRUE(lifecycle::process_alive(pid)) << pid;
  std::string id = rig->id();
  std::string root_interface = rig->root_interface();
  std::filesystem::path dir = rig->dir();
  ASSERT_TRUE(run_command({"ip", "link", "show", "dev", root_interface}).ok());

  rig.reset();

  CommandOutcome namespaces = run_command({"ip", "netns", "list"});
  ASSERT_TRUE(namespaces.ok()) << namespaces.output;
  EXPECT_FALSE(contains(namespaces.output, "rbee-t-" + id)) << namespaces.output;
  for (pid_t pid : all) EXPECT_FALSE(lifecycle::process_alive(pid)) << pid << " still runs";
  EXPECT_FALSE(run_command({"ip", "link", "show", "dev", root_interface}).ok());
  EXPECT_FALSE(std::filesystem::exists(dir)) << dir;
}

TEST_F(NetnsRigTest, RemoveStaleDeletesOnlyWhatDeadProcessesLeft) {
  pid_t dead = ::fork();
  if (dead == 0) ::_exit(0);
  ASSERT_GT(dead, 0);
  ::waitpid(dead, nullptr, 0);
  std::string stale = "rbee-t-deadbeef-" + std::to_string(dead) + "-0";
  std::string live = "rbee-t-deadbeef-" + std::to_string(::getpid()) + "-0";
  ASSERT_TRUE(run_command({"ip", "netns", "add", stale}).ok());
  ASSERT_TRUE(run_command({"ip", "netns", "add", live}).ok());

  NetnsRig::remove_stale();

  CommandOutcome namespaces = run_command({"ip", "netns", "list"});
  run_command({"ip", "netns", "del", live});
  run_command({"ip", "netns", "del", stale});
  EXPECT_FALSE(contains(namespaces.output, stale + "\n") ||
               contains(namespaces.output, stale + " "))
      << namespaces.output;
  EXPECT_TRUE(contains(namespaces.output, live)) << namespaces.output;
}

}  // namespace
}  // namespace rbee::testing
