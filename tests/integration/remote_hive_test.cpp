// Remote hives over real ssh (issue #7): the queen in one network namespace of the rig, the
// hive's machine in another, each namespace with its own sshd. hive_install, hive_start,
// hive_stop and hive_uninstall run through the system's OpenSSH client exactly as for a
// real machine; only the ssh_config (the rig's key and known_hosts) is the test's.

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <stdexcept>

#include "common/config.hpp"
#include "harness.hpp"
#include "lifecycle/process.hpp"
#include "netns_rig.hpp"

namespace rbee::integration {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using testing::NetnsRig;

constexpr int kHivePort = 17835;

class RemoteHiveTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (auto why = NetnsRig::unavailable_reason(); !why.empty()) {
      GTEST_SKIP() << "no network namespaces with sshd here: " << why;
    }
    try {
      rig_ = std::make_unique<NetnsRig>(2);
    } catch (const std::runtime_error& e) {
      GTEST_SKIP() << "the netns rig cannot be built here: " << e.what();
    }
    home_ = std::make_unique<RbeeHome>();
    // The user's ssh defaults, except where the rig's throw-away keys are.
    ssh_config_ = rig_->dir() / "queen_ssh_config";
    std::ofstream(ssh_config_) << "UserKnownHostsFile " << rig_->known_hosts().string()
                               << "\nGlobalKnownHostsFile /dev/null\n"
                                  "StrictHostKeyChecking yes\nLogLevel ERROR\n";
    home_->set_queen_setting("host", "\"" + rig_->address(0) + "\"");
    home_->set_queen_setting("ssh_config", "\"" + ssh_config_.string() + "\"");
  }

  RemoteHiveConfig attic() const {
    RemoteHiveConfig remote;
    remote.alias = "attic";
    remote.host = rig_->address(1);
    remote.user = rig_->user();
    remote.identity_file = rig_->client_key().string();
    remote.hive_port = kHivePort;
    return remote;
  }

  void configure(const std::vector<RemoteHiveConfig>& hives) const {
    ASSERT_TRUE(save_hives_file(home_->config_dir() / "hives.toml", hives));
  }

  void start_queen() {
    rig_->spawn_in(0,
                   {"/usr/bin/env", "RBEE_HOME=" + home_->path().string(),
                    (bin_dir() / "queen-rbee").string()},
                   rig_->dir() / "queen.log");
    http::Client client = queen();
    ASSERT_TRUE(eventually([&] { return client.get("/health").has_value(); }, 15s))
        << "the queen did not come up in namespace 0";
  }

  http::Client queen() const {
    return http::Client(
        {"http://" + rig_->address(0) + ":" + std::to_string(home_->queen_port()), "", 2, 120});
  }

  Json hive_entry(const std::string& alias) const {
    JobOutcome list = run_job(queen(), Json{{"operation", "hive_list"}});
    for (const auto& hive : list.result.value("hives", Json::array())) {
      if (hive.value("hive_id", "") == alias) return hive;
    }
    return nullptr;
  }

  // The rbee-hive processes running in namespace i.
  std::vector<pid_t> hive_processes(size_t i) const {
    auto pids = testing::run_command({"ip", "netns", "pids", rig_->name(i)});
    std::vector<pid_t> hives;
    std::istringstream in(pids.output);
    for (pid_t pid = 0; in >> pid;) {
      if (fs::path(lifecycle::process_program(pid)).filename() == "rbee-hive") hives.push_back(pid);
    }
    return hives;
  }

  std::unique_ptr<NetnsRig> rig_;
  std::unique_ptr<RbeeHome> home_;
  fs::path ssh_config_;
};

TEST_F(RemoteHiveTest, InstallStartStopUninstallOverSsh) {
  configure({attic()});
  start_queen();
  const fs::path remote_home = rig_->home(1);
  const fs::path remote_bin = remote_home / ".local/bin";
  const fs::path remote_token = remote_home / ".config/rbee/cluster.token";

  JobOutcome install = run_job(queen(), Json{{"operation", "hive_install"}, {"alias", "attic"}});
  ASSERT_EQ(install.status, "completed") << install.error_message();
  EXPECT_EQ(install.result.value("version", ""), std::string("rbee-hive ") + RBEE_VERSION);
  EXPECT_TRUE(fs::exists(remote_bin / "rbee-hive"));
  EXPECT_TRUE(fs::exists(remote_bin / "llm-worker-rbee"));
  ASSERT_TRUE(fs::exists(remote_token));
  struct stat token_stat {};
  ASSERT_EQ(::stat(remote_token.c_str(), &token_stat), 0);
  EXPECT_EQ(token_stat.st_mode & 0777, 0600u);
  std::ifstream token_in(remote_token);
  std::string copied_token((std::istreambuf_iterator<char>(token_in)), {});
  EXPECT_EQ(copied_token, home_->cluster_token() + (copied_token.back() == '\n' ? "\n" : ""));
  // Every step is told as it happens.
  std::vector<std::string> actions;
  for (const auto& narration : install.data_of("narration")) {
    actions.push_back(narration.value("action", ""));
  }
  for (const char* step : {"hive_install_probe", "hive_install_copy", "hive_install_libraries",
                           "hive_install_token", "hive_install_verify"}) {
    EXPECT_NE(std::find(actions.begin(), actions.end(), step), actions.end()) << step;
  }
  auto version =
      rig_->run_in(0, rig_->ssh_argv(1, "\"$HOME/.local/bin/rbee-hive\" --version"), 20s);
  ASSERT_TRUE(version.ok()) << version.output;
  EXPECT_NE(version.output.find("rbee-hive"), std::string::npos);

  JobOutcome start = run_job(queen(), Json{{"operation", "hive_start"}, {"alias", "attic"}});
  ASSERT_EQ(start.status, "completed") << start.error_message();
  Json online = hive_entry("attic");
  ASSERT_TRUE(online.is_object());
  EXPECT_EQ(online.value("state", ""), "online");
  EXPECT_EQ(online.value("url", ""),
            "http://" + rig_->address(1) + ":" + std::to_string(kHivePort));
  EXPECT_EQ(hive_processes(1).size(), 1u);

  // The CLI's way in: `rbee hive stop ALIAS` submits hive_stop and tells its story.
  std::string queen_url = "http://" + rig_->address(0) + ":" + std::to_string(home_->queen_port());
  CommandResult stop = home_->rbee({"--queen-url", queen_url, "hive", "stop", "attic"});
  ASSERT_EQ(stop.exit_code, 0) << stop.out << stop.err;
  EXPECT_NE((stop.out + stop.err).find("Asking hive 'attic'"), std::string::npos)
      << stop.out << stop.err;
  EXPECT_TRUE(hive_processes(1).empty());
  EXPECT_EQ(hive_entry("attic").value("state", ""), "not running");

  JobOutcome uninstall =
      run_job(queen(), Json{{"operation", "hive_uninstall"}, {"alias", "attic"}});
  ASSERT_EQ(uninstall.status, "completed") << uninstall.error_message();
  EXPECT_FALSE(fs::exists(remote_bin / "rbee-hive"));
  EXPECT_FALSE(fs::exists(remote_bin / "llm-worker-rbee"));
  EXPECT_FALSE(fs::exists(remote_token));
  EXPECT_TRUE(hive_processes(1).empty());
}

TEST_F(RemoteHiveTest, UnreachableOrUnknownHostIsAClearError) {
  RemoteHiveConfig refused = attic();
  refused.alias = "refused";
  refused.ssh_port = 2222;  // nothing listens there
  RemoteHiveConfig stranger = attic();
  stranger.alias = "stranger";
  stranger.host = rig_->address(0);  // an sshd whose host key is not the one known for it
  configure({refused, stranger});
  // The known_hosts entry for address(0) gets replaced by address(1)'s key.
  std::ofstream(ssh_config_) << "UserKnownHostsFile "
                             << (rig_->dir() / "wrong_known_hosts").string()
                             << "\nGlobalKnownHostsFile /dev/null\nStrictHostKeyChecking yes\n";
  std::ifstream known_in(rig_->known_hosts());
  std::ofstream wrong(rig_->dir() / "wrong_known_hosts");
  for (std::string address, type, key; known_in >> address >> type >> key;) {
    if (address == rig_->address(1)) wrong << rig_->address(0) << " " << type << " " << key << "\n";
  }
  wrong.close();
  start_queen();

  JobOutcome no_ssh = run_job(queen(), Json{{"operation", "hive_install"}, {"alias", "refused"}});
  EXPECT_EQ(no_ssh.status, "failed");
  EXPECT_NE(no_ssh.error_message().find("cannot reach hive 'refused'"), std::string::npos)
      << no_ssh.error_message();
  EXPECT_NE(no_ssh.error_message().find("Connection refused"), std::string::npos)
      << no_ssh.error_message();

  JobOutcome wrong_key =
      run_job(queen(), Json{{"operation", "hive_install"}, {"alias", "stranger"}});
  EXPECT_EQ(wrong_key.status, "failed");
  EXPECT_NE(wrong_key.error_message().find("cannot reach hive 'stranger'"), std::string::npos)
      << wrong_key.error_message();
  EXPECT_NE(wrong_key.error_message().find("Host key verification failed"), std::string::npos)
      << wrong_key.error_message();
  EXPECT_FALSE(fs::exists(rig_->home(0) / ".local/bin/rbee-hive"));

  JobOutcome unknown = run_job(queen(), Json{{"operation", "hive_install"}, {"alias", "nowhere"}});
  EXPECT_EQ(unknown.status, "failed");
  EXPECT_NE(unknown.error_message().find("no hive 'nowhere'"), std::string::npos)
      << unknown.error_message();
}

}  // namespace
}  // namespace rbee::integration
