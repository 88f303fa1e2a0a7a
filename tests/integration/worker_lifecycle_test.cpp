// Worker processes on a real hive, driven through the real queen's job API: spawn (and every
// way it can fail), the process list from the OS, delete, exits the hive notices by itself,
// and what a hive restart or shutdown does to its workers. The model is stories260K from
// ../shared/testdata, imported from a private copy (local imports hard-link, and one test
// damages the catalog's file). Tests that need the real worker skip while
// bin/llm-worker-rbee is not built.

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <thread>

#include "catalog/artifact_id.hpp"
#include "catalog/model_catalog.hpp"
#include "common/files.hpp"
#include "harness.hpp"
#include "hf_test_server.hpp"
#include "lifecycle/proc_info.hpp"
#include "lifecycle/process.hpp"

namespace rbee::integration {
namespace {

using namespace std::chrono_literals;

constexpr const char* kModelId = "local:stories260K";

// Whether something answers HTTP on 127.0.0.1:port.
bool listening(int port) {
  return http::Client({"http://127.0.0.1:" + std::to_string(port), "", 1, 2})
      .get("/health")
      .has_value();
}

bool gone(pid_t pid) {
  auto info = lifecycle::read_process_info(pid);
  return !info || info->zombie();
}

// Every process whose process group is `group` (a worker and whatever it started).
std::vector<pid_t> group_members(pid_t group) {
  std::vector<pid_t> members;
  std::error_code ec;
  for (const auto& item : std::filesystem::directory_iterator("/proc", ec)) {
    std::string name = item.path().filename().string();
    pid_t pid = 0;
    if (std::from_chars(name.data(), name.data() + name.size(), pid).ec != std::errc()) continue;
    auto info = lifecycle::read_process_info(pid);
    if (info && !info->zombie() && info->process_group == group) members.push_back(pid);
  }
  return members;
}

class WorkerLifecycleTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto models = testing::HfTestServer::testdata_models_dir();
    if (!models) GTEST_SKIP() << "../shared/testdata/models is missing";
    model_copy_ = home_.path() / "models-src" / "stories260K.gguf";
    std::filesystem::create_directories(model_copy_.parent_path());
    std::filesystem::copy_file(*models / "stories260K.gguf", model_copy_);
  }

  static bool have_worker() { return std::filesystem::exists(bin_dir() / "llm-worker-rbee"); }

  // Starts the queen and the hive (after any config changes) and imports the model.
  void start() {
    auto started = home_.rbee({"queen", "start"});
    ASSERT_EQ(started.exit_code, 0) << started.err;
    auto imported =
        run_job(home_.queen(), {{"operation", "model_download"}, {"model", model_copy_.string()}});
    ASSERT_EQ(imported.status, "completed") << imported.error_message();
    ASSERT_EQ(imported.result["model"]["id"], kModelId);
  }

  JobOutcome spawn(Json fields = Json::object()) const {
    Json operation{{"operation", "worker_spawn"}, {"model", kModelId}};
    operation.update(fields);
    return run_job(home_.queen(), operation);
  }

  JobOutcome operation(const std::string& name, Json fields = Json::object()) const {
    Json op{{"operation", name}};
    op.update(fields);
    return run_job(home_.queen(), op);
  }

  Json process_list() const { return operation("worker_process_list").result; }

  // The `workers` of the local hive's last heartbeat, as the queen shows it.
  Json heartbeat_workers() const {
    auto hives = home_.queen().get_json("/v1/hives");
    if (!hives) return Json::array();
    for (const auto& hive : (*hives)["hives"]) {
      if (hive["hive_id"] == "localhost") return hive.value("workers", Json::array());
    }
    return Json::array();
  }

  Json heartbeat_entry(const std::string& worker_id, const std::string& state) const {
    for (const auto& entry : heartbeat_workers()) {
      if (entry["worker_id"] == worker_id && entry["state"] == state) return entry;
    }
    return Json();
  }

  // The state of a worker in the queen's registry (empty when it does not know it).
  std::string queen_worker_state(const std::string& worker_id) const {
    auto workers = home_.queen().get_json("/v1/workers");
    if (!workers) return "";
    for (const auto& worker : (*workers)["workers"]) {
      if (worker["worker_id"] == worker_id) return worker.value("state", "");
    }
    return "";
  }

  std::filesystem::path record_file(const std::string& worker_id) const {
    return home_.state_dir() / "workers" / (worker_id + ".json");
  }

  // A worker type from a shell script: it answers --version (worker_binary_install asks),
  // otherwise runs `body`.
  void install_script_worker(const std::string& type, const std::string& body) {
    auto script = home_.path() / (type + ".sh");
    std::string text =
        "#!/bin/sh\n[ \"$1\" = --version ] && echo '" + type + " 1.0' && exit 0\n" + body + "\n";
    ASSERT_TRUE(write_file_atomic(script, text, 0755));
    auto installed =
        operation("worker_binary_install", {{"worker_type", type}, {"source", script.string()}});
    ASSERT_EQ(installed.status, "completed") << installed.error_message();
  }

  // Whether the command line the hive recorded for a worker holds `arg`.
  bool argv_has(const std::string& worker_id, const std::string& arg) const {
    auto text = read_file(record_file(worker_id));
    if (!text) return false;
    const Json argv = Json::parse(*text).value("argv", Json::array());
    return std::find(argv.begin(), argv.end(), arg) != argv.end();
  }

  void expect_no_worker_left() const {
    EXPECT_TRUE(home_.recorded_worker_pids().empty());
    Json listed = process_list();
    EXPECT_TRUE(listed["workers"].empty()) << listed.dump();
  }

  RbeeHome home_;
  std::filesystem::path model_copy_;
};

TEST_F(WorkerLifecycleTest, SpawnServesListsAndDeleteStopsAndFreesThePort) {
  if (!have_worker()) GTEST_SKIP() << "bin/llm-worker-rbee is not built yet";
  start();
  auto spawned = spawn({{"parallel", 2}});
  ASSERT_EQ(spawned.status, "completed") << spawned.error_message();
  Json worker = spawned.result["worker"];
  EXPECT_EQ(worker["state"], "ready");
  EXPECT_EQ(worker["model"], kModelId);
  EXPECT_EQ(worker["hive_id"], "localhost");
  EXPECT_EQ(worker["parallel"], 2);
  EXPECT_EQ(worker["worker_type"], "cpu");
  int port = worker["port"];
  EXPECT_GE(port, home_.worker_port_min());
  EXPECT_LE(port, home_.worker_port_max());
  auto pid = static_cast<pid_t>(worker["pid"].get<int64_t>());
  std::string worker_id = worker["worker_id"];
  EXPECT_TRUE(worker_id.starts_with("localhost-")) << worker_id;
  auto health = http::Client({worker["url"], "", 2, 5}).get("/health");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200) << health->body;
  EXPECT_TRUE(std::filesystem::exists(record_file(worker_id)));
  EXPECT_FALSE(argv_has(worker_id, "--no-repack"));
  EXPECT_TRUE(std::filesystem::exists(worker["log_file"].get<std::string>()));

  Json listed = process_list()["workers"];
  ASSERT_EQ(listed.size(), 1u) << listed.dump();
  EXPECT_EQ(listed[0]["pid"], pid);
  EXPECT_EQ(listed[0]["port"], port);
  EXPECT_EQ(listed[0]["model"], kModelId);
  EXPECT_EQ(listed[0]["worker_id"], worker_id);
  EXPECT_GT(listed[0]["rss_bytes"].get<int64_t>(), 0);
  EXPECT_GE(listed[0]["cpu_time_s"].get<double>(), 0.0);
  EXPECT_GE(listed[0]["uptime_s"].get<double>(), 0.0);
  auto got = operation("worker_process_get", {{"pid", pid}});
  ASSERT_EQ(got.status, "completed") << got.error_message();
  EXPECT_EQ(got.result["worker"]["worker_id"], worker_id);
  EXPECT_TRUE(eventually([&] { return heartbeat_entry(worker_id, "running").is_object(); }, 5s))
      << heartbeat_workers().dump();

  // The model is in use: deleting it is refused.
  auto delete_model = operation("model_delete", {{"id", kModelId}});
  EXPECT_EQ(delete_model.status, "failed");
  EXPECT_NE(delete_model.error_message().find("in use"), std::string::npos)
      << delete_model.error_message();

  auto deleted = operation("worker_process_delete", {{"pid", pid}});
  ASSERT_EQ(deleted.status, "completed") << deleted.error_message();
  Json stopped = deleted.result["stopped"];
  EXPECT_EQ(stopped["worker_id"], worker_id);
  EXPECT_FALSE(stopped["forced"].get<bool>()) << stopped.dump();
  EXPECT_EQ(stopped["exit_code"], 0) << stopped.dump();  // it drained on SIGTERM
  EXPECT_TRUE(gone(pid));
  EXPECT_FALSE(listening(port));
  EXPECT_FALSE(std::filesystem::exists(record_file(worker_id)));
  expect_no_worker_left();
  EXPECT_EQ(operation("model_delete", {{"id", kModelId}}).status, "completed");
}

TEST_F(WorkerLifecycleTest, WorkersServeFromTheMappedFileWhenRepackingIsOff) {
  if (!have_worker()) GTEST_SKIP() << "bin/llm-worker-rbee is not built yet";
  home_.set_workers_setting("repack_weights", "false");
  start();
  auto spawned = spawn();
  ASSERT_EQ(spawned.status, "completed") << spawned.error_message();
  const std::string worker_id = spawned.result["worker"]["worker_id"];
  EXPECT_EQ(spawned.result["worker"]["state"], "ready");
  EXPECT_TRUE(argv_has(worker_id, "--no-repack"));
  auto pid = static_cast<pid_t>(spawned.result["worker"]["pid"].get<int64_t>());
  ASSERT_EQ(operation("worker_process_delete", {{"pid", pid}}).status, "completed");
  expect_no_worker_left();
}

TEST_F(WorkerLifecycleTest, ConcurrentSpawnsGetTheirOwnPortsAndHiveShutdownStopsThem) {
  if (!have_worker()) GTEST_SKIP() << "bin/llm-worker-rbee is not built yet";
  start();
  JobOutcome first;
  JobOutcome second;
  std::thread other([&] { second = spawn({{"worker_id", "twin-b"}}); });
  first = spawn({{"worker_id", "twin-a"}});
  other.join();
  ASSERT_EQ(first.status, "completed") << first.error_message();
  ASSERT_EQ(second.status, "completed") << second.error_message();
  EXPECT_NE(first.result["worker"]["port"], second.result["worker"]["port"]);
  // A live worker's id cannot be taken again.
  auto duplicate = spawn({{"worker_id", "twin-a"}});
  EXPECT_EQ(duplicate.status, "failed");
  EXPECT_EQ(duplicate.error.value("code", ""), "already_exists") << duplicate.error.dump();
  std::vector<pid_t> pids;
  for (const auto* outcome : {&first, &second}) {
    pids.push_back(static_cast<pid_t>(outcome->result["worker"]["pid"].get<int64_t>()));
    auto health = http::Client({outcome->result["worker"]["url"], "", 2, 5}).get("/health");
    ASSERT_TRUE(health);
    EXPECT_EQ(health->status, 200);
  }
  EXPECT_EQ(process_list()["workers"].size(), 2u);

  // SIGTERM to the hive stops its workers before it exits.
  pid_t hive = home_.live_pid("rbee-hive");
  ASSERT_NE(hive, 0);
  ::kill(hive, SIGTERM);
  ASSERT_TRUE(eventually([&] { return gone(hive); }, 20s));
  for (pid_t pid : pids) EXPECT_TRUE(gone(pid)) << "worker " << pid << " outlived its hive";
  EXPECT_TRUE(home_.recorded_worker_pids().empty());
}

TEST_F(WorkerLifecycleTest, AKilledWorkerIsNoticedAndReported) {
  if (!have_worker()) GTEST_SKIP() << "bin/llm-worker-rbee is not built yet";
  start();
  auto spawned = spawn();
  ASSERT_EQ(spawned.status, "completed") << spawned.error_message();
  auto pid = static_cast<pid_t>(spawned.result["worker"]["pid"].get<int64_t>());
  std::string worker_id = spawned.result["worker"]["worker_id"];
  int port = spawned.result["worker"]["port"];
  // The queen knows the worker from its own heartbeats.
  ASSERT_TRUE(eventually([&] { return queen_worker_state(worker_id) == "ready"; }, 10s));
  ::kill(pid, SIGKILL);
  // The hive's next heartbeat (0.2 s here) lists it as exited, with the signal.
  ASSERT_TRUE(eventually([&] { return heartbeat_entry(worker_id, "exited").is_object(); }, 5s))
      << heartbeat_workers().dump();
  Json entry = heartbeat_entry(worker_id, "exited");
  EXPECT_EQ(entry["signal"], SIGKILL);
  EXPECT_EQ(entry["exit_code"], -1);
  EXPECT_EQ(entry["pid"], pid);
  EXPECT_EQ(entry["model"], kModelId);
  Json listed = process_list();
  EXPECT_TRUE(listed["workers"].empty()) << listed.dump();
  ASSERT_EQ(listed["exited"].size(), 1u);
  EXPECT_NE(listed["exited"][0]["reason"].get<std::string>().find("SIGKILL"), std::string::npos);
  EXPECT_FALSE(std::filesystem::exists(record_file(worker_id)));
  EXPECT_FALSE(listening(port));
  // The queen heard at once (event or heartbeat): the worker is no longer routable.
  EXPECT_TRUE(eventually([&] { return queen_worker_state(worker_id) == "failed"; }, 5s))
      << queen_worker_state(worker_id);
  // The model is free again.
  EXPECT_EQ(operation("model_delete", {{"id", kModelId}}).status, "completed");
}

TEST_F(WorkerLifecycleTest, ARestartedHiveAdoptsRunningWorkersAndReportsDeadOnes) {
  if (!have_worker()) GTEST_SKIP() << "bin/llm-worker-rbee is not built yet";
  start();
  auto kept = spawn({{"worker_id", "keeper"}});
  auto lost = spawn({{"worker_id", "goner"}});
  ASSERT_EQ(kept.status, "completed") << kept.error_message();
  ASSERT_EQ(lost.status, "completed") << lost.error_message();
  auto kept_pid = static_cast<pid_t>(kept.result["worker"]["pid"].get<int64_t>());
  auto lost_pid = static_cast<pid_t>(lost.result["worker"]["pid"].get<int64_t>());

  pid_t hive = home_.live_pid("rbee-hive");
  ASSERT_NE(hive, 0);
  ::kill(hive, SIGKILL);
  ASSERT_TRUE(eventually([&] { return gone(hive); }, 5s));
  EXPECT_FALSE(gone(kept_pid)) << "workers run on when their hive is killed";
  ::kill(lost_pid, SIGKILL);
  ASSERT_TRUE(eventually([&] { return gone(lost_pid); }, 5s));

  auto restarted = home_.rbee({"hive", "start"});
  ASSERT_EQ(restarted.exit_code, 0) << restarted.err;
  Json listed = process_list();
  ASSERT_EQ(listed["workers"].size(), 1u) << listed.dump();
  EXPECT_EQ(listed["workers"][0]["pid"], kept_pid);
  EXPECT_EQ(listed["workers"][0]["worker_id"], "keeper");
  EXPECT_TRUE(listed["workers"][0]["adopted"].get<bool>());
  EXPECT_GT(listed["workers"][0]["rss_bytes"].get<int64_t>(), 0);
  ASSERT_EQ(listed["exited"].size(), 1u) << listed.dump();
  EXPECT_EQ(listed["exited"][0]["worker_id"], "goner");
  EXPECT_NE(listed["exited"][0]["reason"].get<std::string>().find("not running"),
            std::string::npos);
  EXPECT_FALSE(std::filesystem::exists(record_file("goner")));
  EXPECT_TRUE(eventually([&] { return heartbeat_entry("goner", "exited").is_object(); }, 5s));
  // The adopted worker is the model's user again, and the hive's to stop.
  EXPECT_EQ(operation("model_delete", {{"id", kModelId}}).status, "failed");
  auto stopped = home_.rbee({"hive", "stop"});
  ASSERT_EQ(stopped.exit_code, 0) << stopped.err;
  EXPECT_TRUE(eventually([&] { return gone(kept_pid); }, 10s));
  EXPECT_FALSE(std::filesystem::exists(record_file("keeper")));
}

TEST_F(WorkerLifecycleTest, AWorkerThatCrashesWhileLoadingFailsTheSpawn) {
  if (!have_worker()) GTEST_SKIP() << "bin/llm-worker-rbee is not built yet";
  start();
  // Damage the catalog's copy (a new file under the old name; the import hard-linked the
  // original, which stays intact).
  auto stored = home_.path() / "cache" / "models" / catalog::directory_name_for_id(kModelId) /
                "stories260K.gguf";
  auto bytes = read_file(stored);
  ASSERT_TRUE(bytes);
  ASSERT_TRUE(write_file_atomic(stored, bytes->substr(0, bytes->size() / 3)));
  auto spawned = spawn();
  ASSERT_EQ(spawned.status, "failed");
  std::string message = spawned.error_message();
  EXPECT_NE(message.find("before it was ready"), std::string::npos) << message;
  EXPECT_NE(message.find("exited with code"), std::string::npos) << message;
  EXPECT_NE(message.find("last lines of"), std::string::npos) << message;
  expect_no_worker_left();
  Json exited = process_list()["exited"];
  ASSERT_EQ(exited.size(), 1u);
  EXPECT_FALSE(exited[0]["last_log_lines"].empty());
}

TEST_F(WorkerLifecycleTest, AWorkerThatIsNeverReadyIsKilledAtTheDeadline) {
  home_.set_workers_setting("ready_timeout_s", "1.5");
  start();
  // Its first start finds "its port taken" (exit 3): the hive starts it again on another
  // port. The second start never answers /health; a helper it started must go too.
  auto marker = home_.path() / "started-once";
  auto helper_file = home_.path() / "sleepy.pgid";
  install_script_worker("sleepy", "if [ ! -e " + marker.string() + " ]; then touch " +
                                      marker.string() + "; exit 3; fi\necho $$ > " +
                                      helper_file.string() + "\nsleep 1000\nexit 0");
  auto started = std::chrono::steady_clock::now();
  auto spawned = spawn({{"worker_type", "sleepy"}});
  auto took = std::chrono::steady_clock::now() - started;
  ASSERT_EQ(spawned.status, "failed");
  EXPECT_EQ(spawned.error.value("code", ""), "deadline_exceeded") << spawned.error.dump();
  EXPECT_NE(spawned.error_message().find("not ready within 1.5 s"), std::string::npos)
      << spawned.error_message();
  EXPECT_LT(took, 15s);
  int n_starts = 0;
  bool retried = false;
  for (const auto& narration : spawned.data_of("narration")) {
    n_starts += narration.value("action", "") == "worker_start";
    retried = retried || narration.value("action", "") == "worker_port_taken";
  }
  EXPECT_EQ(n_starts, 2);
  EXPECT_TRUE(retried);
  auto text = read_file(helper_file);
  ASSERT_TRUE(text);
  pid_t group = std::stoi(*text);
  EXPECT_TRUE(eventually([&] { return group_members(group).empty(); }, 5s))
      << "the script's sleep outlived the kill";
  expect_no_worker_left();
}

TEST_F(WorkerLifecycleTest, LoadProgressIsReportedAndACancelledSpawnLeavesNothing) {
  if (!have_worker()) GTEST_SKIP() << "bin/llm-worker-rbee is not built yet";
  start();
  // The real worker, loading slowly (its test hook paces the read).
  std::string worker = (bin_dir() / "llm-worker-rbee").string();
  install_script_worker("slow1", "exec " + worker + " \"$@\" --test-min-load-ms 1500");
  install_script_worker("slow9", "exec " + worker + " \"$@\" --test-min-load-ms 9000");
  auto spawned = spawn({{"worker_type", "slow1"}});
  ASSERT_EQ(spawned.status, "completed") << spawned.error_message();
  std::vector<int64_t> loaded;
  for (const auto& progress : spawned.data_of("progress")) {
    EXPECT_EQ(progress["phase"], "load");
    loaded.push_back(progress["steps_done"].get<int64_t>());
    EXPECT_EQ(progress["steps_total"], 100);
  }
  ASSERT_GE(loaded.size(), 2u) << "no load progress was reported";
  EXPECT_TRUE(std::is_sorted(loaded.begin(), loaded.end()));
  EXPECT_LT(loaded.front(), loaded.back());
  auto first_pid = static_cast<pid_t>(spawned.result["worker"]["pid"].get<int64_t>());

  // Cancelling a spawn that is still loading stops that worker.
  std::string job_id = submit_job(home_.queen(), {{"operation", "worker_spawn"},
                                                  {"model", kModelId},
                                                  {"worker_type", "slow9"},
                                                  {"worker_id", "cancelled-one"}});
  ASSERT_TRUE(
      eventually([&] { return std::filesystem::exists(record_file("cancelled-one")); }, 10s));
  auto record = Json::parse(read_file(record_file("cancelled-one")).value());
  auto loading_pid = static_cast<pid_t>(record["pid"].get<int64_t>());
  auto cancelled = home_.queen().del("/v1/jobs/" + job_id);
  ASSERT_TRUE(cancelled);
  EXPECT_EQ(cancelled->status, 202) << cancelled->body;
  auto events = read_events(home_.queen(), job_id);
  ASSERT_FALSE(events.empty());
  EXPECT_EQ(events.back().event, "done");
  EXPECT_NE(events.back().data.find("cancelled"), std::string::npos) << events.back().data;
  EXPECT_TRUE(eventually([&] { return gone(loading_pid); }, 10s));
  EXPECT_TRUE(
      eventually([&] { return !std::filesystem::exists(record_file("cancelled-one")); }, 5s));
  // The first worker is untouched.
  Json listed = process_list()["workers"];
  ASSERT_EQ(listed.size(), 1u) << listed.dump();
  EXPECT_EQ(listed[0]["pid"], first_pid);
}

TEST_F(WorkerLifecycleTest, SpawnFailsClearlyForMissingBinariesAndModels) {
  start();
  auto unknown_type = spawn({{"worker_type", "nope"}});
  EXPECT_EQ(unknown_type.status, "failed");
  EXPECT_EQ(unknown_type.error.value("code", ""), "not_found");
  EXPECT_NE(unknown_type.error_message().find("not installed"), std::string::npos)
      << unknown_type.error_message();

  install_script_worker("vanishing", "sleep 1000");
  std::filesystem::remove(home_.path() / "cache" / "workers" / "vanishing" / "bin" /
                          "vanishing.sh");
  auto missing_binary = spawn({{"worker_type", "vanishing"}});
  EXPECT_EQ(missing_binary.status, "failed");
  EXPECT_NE(missing_binary.error_message().find("missing"), std::string::npos)
      << missing_binary.error_message();

  auto unknown_model = spawn({{"model", "local:no-such-model"}});
  EXPECT_EQ(unknown_model.status, "failed");
  EXPECT_EQ(unknown_model.error.value("code", ""), "not_found");

  // A model still downloading is named with its progress.
  catalog::ModelCatalog models(home_.path() / "cache");
  catalog::ArtifactEntry downloading;
  downloading.id = "org/repo:Q4_K_M";
  downloading.kind = catalog::kModelKind;
  downloading.file = "repo.Q4_K_M.gguf";
  downloading.state = catalog::ArtifactState::kDownloading;
  downloading.progress = 0.42;
  ASSERT_TRUE(models.put(downloading));
  auto not_ready = spawn({{"model", "org/repo:Q4_K_M"}});
  EXPECT_EQ(not_ready.status, "failed");
  EXPECT_NE(not_ready.error_message().find("downloading 42%"), std::string::npos)
      << not_ready.error_message();
  expect_no_worker_left();
}

TEST_F(WorkerLifecycleTest, PidsTheHiveDidNotStartAreNeverSignalled) {
  start();
  auto sleeper = lifecycle::spawn_process({{"/bin/sleep", "60"}, "", true});
  ASSERT_TRUE(sleeper);
  for (pid_t pid : {::getpid(), *sleeper}) {
    for (const char* name : {"worker_process_delete", "worker_process_get"}) {
      auto refused = operation(name, {{"pid", pid}});
      EXPECT_EQ(refused.status, "failed") << name;
      EXPECT_NE(refused.error_message().find("not a worker"), std::string::npos)
          << refused.error_message();
    }
  }
  EXPECT_FALSE(gone(*sleeper));
  // A pid with no process at all.
  auto done = lifecycle::spawn_process({{"/bin/true"}, "", true});
  ASSERT_TRUE(done);
  ASSERT_EQ(::waitpid(*done, nullptr, 0), *done);
  auto unknown = operation("worker_process_delete", {{"pid", *done}});
  EXPECT_EQ(unknown.status, "failed");
  EXPECT_EQ(unknown.error.value("code", ""), "not_found") << unknown.error.dump();
  (void)lifecycle::stop_process(*sleeper, 1s);
}

}  // namespace
}  // namespace rbee::integration
