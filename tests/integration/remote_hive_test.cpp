// Remote hives over real ssh (issue #7): the queen in one network namespace of the rig, the
// hive's machine in another, each namespace with its own sshd. hive_install, hive_start,
// hive_stop and hive_uninstall run through the system's OpenSSH client exactly as for a
// real machine; only the ssh_config (the rig's key and known_hosts) is the test's.

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <stdexcept>

#include "common/config.hpp"
#include "harness.hpp"
#include "hf_test_server.hpp"
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
  // Namespace 0 is the queen's machine, the others hives'.
  virtual size_t n_hosts() const { return 2; }

  void SetUp() override {
    if (auto why = NetnsRig::unavailable_reason(); !why.empty()) {
      GTEST_SKIP() << "no network namespaces with sshd here: " << why;
    }
    try {
      rig_ = std::make_unique<NetnsRig>(n_hosts());
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

  // The queen listens on the rig's network: jobs take the cluster token.
  http::Client queen() const {
    return http::Client({"http://" + rig_->address(0) + ":" + std::to_string(home_->queen_port()),
                         home_->cluster_token(), 2, 120});
  }

  Json hive_entry(const std::string& alias) const {
    JobOutcome list = run_job(queen(), Json{{"operation", "hive_list"}});
    for (const auto& hive : list.result.value("hives", Json::array())) {
      if (hive.value("hive_id", "") == alias) return hive;
    }
    return nullptr;
  }

  // The processes of `program` running in namespace i.
  std::vector<pid_t> processes(size_t i, const std::string& program) const {
    auto pids = testing::run_command({"ip", "netns", "pids", rig_->name(i)});
    std::vector<pid_t> found;
    std::istringstream in(pids.output);
    for (pid_t pid = 0; in >> pid;) {
      if (fs::path(lifecycle::process_program(pid)).filename() == program) found.push_back(pid);
    }
    return found;
  }
  std::vector<pid_t> hive_processes(size_t i) const { return processes(i, "rbee-hive"); }

  std::string queen_url() const {
    return "http://" + rig_->address(0) + ":" + std::to_string(home_->queen_port());
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
  CommandResult stop = home_->rbee({"--queen-url", queen_url(), "hive", "stop", "attic"});
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

// Two remote hives (namespaces 1 and 2) and the queen (namespace 0); the models come from the
// HuggingFace test server in the root namespace, which each hive's own config.toml names (a
// hive started over ssh has no HF_ENDPOINT in its environment).
class MultiHostTest : public RemoteHiveTest {
 protected:
  static constexpr const char* kRepo = "rbee-test/stories-GGUF";
  static constexpr auto kHeartbeat = 250ms;

  size_t n_hosts() const override { return 3; }

  void SetUp() override {
    RemoteHiveTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    auto models = testing::HfTestServer::testdata_models_dir();
    if (!models) GTEST_SKIP() << "../shared/testdata/models is missing";
    expected_ = stories260k_reference_continuation();
    ASSERT_FALSE(expected_.empty());
    hub_ = std::make_unique<testing::HfTestServer>(
        testing::HfTestServerOptions{rig_->root_address(), 0, 0});
    ASSERT_TRUE(hub_->add_file_from_disk(kRepo, "stories260K.gguf", *models / "stories260K.gguf"));
    for (size_t i = 1; i < n_hosts(); ++i) {
      fs::create_directories(rig_->home(i) / ".config/rbee");
      std::ofstream(rig_->home(i) / ".config/rbee/config.toml")
          << "[hive]\nheartbeat_s = " << kHeartbeat.count() / 1000.0
          << "\n[downloads]\nhf_endpoint = \"" << hub_->url()
          << "\"\n[workers]\nstop_grace_s = 3\n";
    }
    configure({remote(1), remote(2)});
    start_queen();
  }

  static std::string alias(size_t i) { return i == 1 ? "attic" : "garage"; }

  RemoteHiveConfig remote(size_t i) const {
    RemoteHiveConfig config = attic();
    config.alias = alias(i);
    config.host = rig_->address(i);
    return config;
  }

  JobOutcome hive_operation(const std::string& operation, size_t i) const {
    return run_job(queen(), Json{{"operation", operation}, {"alias", alias(i)}});
  }

  std::string hive_state(size_t i) const {
    Json entry = hive_entry(alias(i));
    return entry.is_object() ? entry.value("state", "") : "";
  }

  CommandResult infer() const {
    return home_->rbee({"--queen-url", queen_url(), "infer", "--model", kRepo, "--temperature", "0",
                        "--max-tokens", "32", "Once upon a time"},
                       120s);
  }

  Json workers() const {
    auto listed = queen().get_json("/v1/workers");
    return listed ? (*listed)["workers"] : Json::array();
  }

  // The routable workers on hive i.
  std::vector<Json> routable_on(size_t i) const {
    std::vector<Json> found;
    for (const auto& worker : workers()) {
      if (worker.value("hive_id", "") == alias(i) && worker.value("routable", false)) {
        found.push_back(worker);
      }
    }
    return found;
  }

  // Whether hive i's catalog (as its heartbeat reports it) holds the test model.
  bool has_model(size_t i) const {
    Json entry = hive_entry(alias(i));
    if (!entry.is_object()) return false;
    for (const auto& model : entry.value("models", Json::array())) {
      if (model.value("id", "").rfind(kRepo, 0) == 0) return true;
    }
    return false;
  }

  void install_and_start_both() {
    for (size_t i : {1u, 2u}) {
      JobOutcome install = hive_operation("hive_install", i);
      ASSERT_EQ(install.status, "completed") << alias(i) << ": " << install.error_message();
      JobOutcome start = hive_operation("hive_start", i);
      ASSERT_EQ(start.status, "completed") << alias(i) << ": " << start.error_message();
    }
    ASSERT_EQ(hive_state(1), "online");
    ASSERT_EQ(hive_state(2), "online");
  }

  // Asserts that `rbee infer` printed llama.cpp's greedy text.
  void expect_reference(const CommandResult& result) const {
    ASSERT_EQ(result.exit_code, 0) << result.out << result.err;
    EXPECT_EQ(result.out, expected_ + "\n") << result.err;
  }

  std::unique_ptr<testing::HfTestServer> hub_;
  std::string expected_;
};

TEST_F(MultiHostTest, TwoHivesServeInferenceThenStopAndUninstallClean) {
  install_and_start_both();
  CommandResult first = infer();
  expect_reference(first);
  // A worker on one of the remote hives served it, listening on that machine's address.
  size_t served = !routable_on(1).empty() ? 1 : 2;
  auto worker = routable_on(served);
  ASSERT_EQ(worker.size(), 1u) << workers();
  EXPECT_EQ(worker[0].value("url", "").rfind("http://" + rig_->address(served) + ":", 0), 0u)
      << worker[0];
  EXPECT_EQ(processes(served, "llm-worker-rbee").size(), 1u);
  EXPECT_NE(first.err.find("on hive '" + alias(served) + "'"), std::string::npos) << first.err;

  for (size_t i : {1u, 2u}) {
    JobOutcome stop = hive_operation("hive_stop", i);
    EXPECT_EQ(stop.status, "completed") << alias(i) << ": " << stop.error_message();
    JobOutcome uninstall = hive_operation("hive_uninstall", i);
    EXPECT_EQ(uninstall.status, "completed") << alias(i) << ": " << uninstall.error_message();
    EXPECT_TRUE(hive_processes(i).empty()) << alias(i);
    EXPECT_TRUE(processes(i, "llm-worker-rbee").empty()) << alias(i);
    EXPECT_FALSE(fs::exists(rig_->home(i) / ".local/bin/rbee-hive")) << alias(i);
    EXPECT_FALSE(fs::exists(rig_->home(i) / ".local/bin/llm-worker-rbee")) << alias(i);
    EXPECT_FALSE(fs::exists(rig_->home(i) / ".config/rbee/cluster.token")) << alias(i);
  }
  // The queen heard their workers stop: none is left to route to.
  EXPECT_TRUE(routable_on(1).empty() && routable_on(2).empty()) << workers();
}

TEST_F(MultiHostTest, LinkDownFailsOverToTheOtherHiveAndKilledHiveRestartsWithItsModels) {
  install_and_start_both();
  expect_reference(infer());
  const size_t lost = !routable_on(1).empty() ? 1 : 2;
  const size_t other = 3 - lost;
  ASSERT_EQ(routable_on(lost).size(), 1u) << workers();
  ASSERT_TRUE(routable_on(other).empty()) << workers();

  // Unplugged: unreachable within three beats (plus the time to ask), its worker with it.
  rig_->set_link(lost, false);
  auto unplugged = std::chrono::steady_clock::now();
  EXPECT_TRUE(eventually([&] { return hive_state(lost) == "unreachable"; }, 3 * kHeartbeat + 500ms))
      << hive_entry(alias(lost));
  EXPECT_LE(std::chrono::steady_clock::now() - unplugged, 3 * kHeartbeat + 500ms);
  EXPECT_TRUE(routable_on(lost).empty()) << workers();
  // A new request is served by the other hive (which fetches the model first).
  CommandResult failover = infer();
  expect_reference(failover);
  EXPECT_NE(failover.err.find("on hive '" + alias(other) + "'"), std::string::npos) << failover.err;
  EXPECT_EQ(routable_on(other).size(), 1u) << workers();
  EXPECT_EQ(hive_state(lost), "unreachable");

  // Plugged back in: online again, and its worker routable again.
  rig_->set_link(lost, true);
  EXPECT_TRUE(eventually([&] { return hive_state(lost) == "online"; }, 10s))
      << hive_entry(alias(lost));
  EXPECT_TRUE(eventually([&] { return routable_on(lost).size() == 1; }, 5s)) << workers();

  // kill -9 of the other hive: detected, restarted by hive_start, its model still there.
  ASSERT_TRUE(has_model(other));
  auto hives = hive_processes(other);
  ASSERT_EQ(hives.size(), 1u);
  ASSERT_EQ(::kill(hives[0], SIGKILL), 0);
  EXPECT_TRUE(
      eventually([&] { return hive_state(other) == "unreachable"; }, 3 * kHeartbeat + 500ms))
      << hive_entry(alias(other));
  EXPECT_TRUE(routable_on(other).empty()) << workers();
  JobOutcome restart = hive_operation("hive_start", other);
  ASSERT_EQ(restart.status, "completed") << restart.error_message();
  EXPECT_EQ(hive_state(other), "online");
  auto restarted = hive_processes(other);
  ASSERT_EQ(restarted.size(), 1u);
  EXPECT_NE(restarted[0], hives[0]);
  EXPECT_TRUE(has_model(other)) << hive_entry(alias(other));
  JobOutcome listed =
      run_job(queen(), Json{{"operation", "model_list"}, {"hive_id", alias(other)}});
  ASSERT_EQ(listed.status, "completed") << listed.error_message();
  EXPECT_NE(listed.result.dump().find(kRepo), std::string::npos) << listed.result;

  for (size_t i : {1u, 2u}) {
    JobOutcome stop = hive_operation("hive_stop", i);
    EXPECT_EQ(stop.status, "completed") << alias(i) << ": " << stop.error_message();
    EXPECT_TRUE(hive_processes(i).empty()) << alias(i);
  }
}

TEST_F(MultiHostTest, HiveWithAnotherClusterTokenIsRefusedAndItsLogSaysWhy) {
  JobOutcome install = hive_operation("hive_install", 1);
  ASSERT_EQ(install.status, "completed") << install.error_message();
  // Another queen's token on that machine.
  const fs::path token_file = rig_->home(1) / ".config/rbee/cluster.token";
  std::string token = home_->cluster_token();
  token[0] = token[0] == 'a' ? 'b' : 'a';
  std::ofstream(token_file, std::ios::trunc) << token << "\n";

  auto started = std::chrono::steady_clock::now();
  JobOutcome start = hive_operation("hive_start", 1);
  EXPECT_EQ(start.status, "failed");
  EXPECT_NE(start.error_message().find("another cluster token"), std::string::npos)
      << start.error_message();
  // Told at once, not after the 30 s wait for a first beat.
  EXPECT_LT(std::chrono::steady_clock::now() - started, 15s);
  EXPECT_EQ(hive_processes(1).size(), 1u);  // it runs, but the queen does not count it
  EXPECT_EQ(hive_state(1), "not running") << hive_entry(alias(1));  // never online
  // Its log there says why, naming the token file.
  std::ifstream log_in(rig_->home(1) / ".local/state/rbee/logs/rbee-hive.log");
  std::string log((std::istreambuf_iterator<char>(log_in)), {});
  EXPECT_NE(log.find("heartbeat to " + queen_url() + " failed: refused: the cluster token in " +
                     token_file.string() + " is not the queen's"),
            std::string::npos)
      << log;

  JobOutcome stop = hive_operation("hive_stop", 1);
  EXPECT_EQ(stop.status, "completed") << stop.error_message();
  EXPECT_TRUE(hive_processes(1).empty());
}

}  // namespace
}  // namespace rbee::integration
