#include "harness.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <random>
#include <thread>

#include "common/cluster_token.hpp"
#include "common/files.hpp"
#include "hf_test_server.hpp"
#include "lifecycle/proc_info.hpp"
#include "lifecycle/process.hpp"

extern char** environ;

namespace rbee::integration {

std::filesystem::path bin_dir() {
  return RBEE_TEST_BIN_DIR;
}

int free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0) std::abort();
  socklen_t length = sizeof(address);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
  ::close(fd);
  return ntohs(address.sin_port);
}

RunningCommand::RunningCommand(const std::vector<std::string>& argv,
                               const std::map<std::string, std::string>& env) {
  int out_pipe[2];
  int err_pipe[2];
  if (::pipe2(out_pipe, O_CLOEXEC) != 0 || ::pipe2(err_pipe, O_CLOEXEC) != 0) std::abort();
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, out_pipe[1], STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&actions, err_pipe[1], STDERR_FILENO);

  std::map<std::string, std::string> merged;
  for (char** entry = environ; *entry; ++entry) {
    std::string text = *entry;
    size_t equals = text.find('=');
    if (equals != std::string::npos) merged[text.substr(0, equals)] = text.substr(equals + 1);
  }
  merged.erase("RBEE_QUEEN_URL");
  for (const auto& [key, value] : env) merged[key] = value;
  std::vector<std::string> env_strings;
  for (const auto& [key, value] : merged) env_strings.push_back(key + "=" + value);
  std::vector<char*> envp;
  for (auto& entry : env_strings) envp.push_back(entry.data());
  envp.push_back(nullptr);
  std::vector<char*> args;
  for (const auto& arg : argv) args.push_back(const_cast<char*>(arg.c_str()));
  args.push_back(nullptr);
  if (::posix_spawn(&pid_, argv[0].c_str(), &actions, nullptr, args.data(), envp.data()) != 0)
    std::abort();
  posix_spawn_file_actions_destroy(&actions);
  ::close(out_pipe[1]);
  ::close(err_pipe[1]);
  out_fd_ = out_pipe[0];
  err_fd_ = err_pipe[0];
}

RunningCommand::~RunningCommand() {
  if (!exit_code_) {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
  }
  if (out_fd_ >= 0) ::close(out_fd_);
  if (err_fd_ >= 0) ::close(err_fd_);
}

void RunningCommand::pump(std::chrono::milliseconds wait) {
  pollfd fds[2] = {{out_fd_, POLLIN, 0}, {err_fd_, POLLIN, 0}};
  int n_open = (out_fd_ >= 0) + (err_fd_ >= 0);
  if (n_open == 0) {
    std::this_thread::sleep_for(wait);
    return;
  }
  if (::poll(fds, 2, static_cast<int>(wait.count())) <= 0) return;
  char buffer[4096];
  for (int i = 0; i < 2; ++i) {
    if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP))) continue;
    ssize_t n = ::read(fds[i].fd, buffer, sizeof(buffer));
    if (n > 0) {
      (i == 0 ? result_.out : result_.err).append(buffer, static_cast<size_t>(n));
    } else {
      ::close(fds[i].fd);
      (i == 0 ? out_fd_ : err_fd_) = -1;
    }
  }
}

bool RunningCommand::wait_for_output(const std::string& text, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (result_.out.find(text) == std::string::npos) {
    if (std::chrono::steady_clock::now() >= deadline || (out_fd_ < 0 && err_fd_ < 0)) return false;
    pump(std::chrono::milliseconds(50));
  }
  return true;
}

void RunningCommand::send_signal(int signal) {
  ::kill(pid_, signal);
}

CommandResult RunningCommand::finish(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!exit_code_) {
    pump(std::chrono::milliseconds(20));
    int status = 0;
    pid_t done = ::waitpid(pid_, &status, WNOHANG);
    if (done == pid_) {
      exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    } else if (std::chrono::steady_clock::now() >= deadline) {
      ADD_FAILURE() << "command " << pid_ << " did not finish in time; killing it";
      ::kill(pid_, SIGKILL);
    }
  }
  while (out_fd_ >= 0 || err_fd_ >= 0) pump(std::chrono::milliseconds(20));
  result_.exit_code = *exit_code_;
  return result_;
}

namespace {

// A live process recorded in a worker record file: (pid, start time) when it still runs.
std::optional<pid_t> recorded_live_pid(const std::filesystem::path& record_file) {
  auto text = read_file(record_file);
  if (!text) return std::nullopt;
  auto json = Json::parse(*text, nullptr, false);
  if (!json.is_object() || !json.contains("pid") || !json.contains("start_ticks")) {
    return std::nullopt;
  }
  auto pid = static_cast<pid_t>(json["pid"].get<int64_t>());
  auto info = lifecycle::read_process_info(pid);
  if (!info || info->zombie() || info->start_ticks != json["start_ticks"].get<uint64_t>()) {
    return std::nullopt;
  }
  return pid;
}

}  // namespace

RbeeHome::RbeeHome(double heartbeat_s) : heartbeat_s_(heartbeat_s) {
  std::string pattern = (std::filesystem::temp_directory_path() / "rbee-it-XXXXXX").string();
  if (!::mkdtemp(pattern.data())) std::abort();
  path_ = pattern;
  queen_port_ = free_port();
  hive_port_ = free_port();
  while (hive_port_ == queen_port_) hive_port_ = free_port();
  static std::mt19937 random(std::random_device{}());
  constexpr int kWorkerPorts = 40;
  worker_port_min_ = std::uniform_int_distribution<int>(20000, 60000 - kWorkerPorts)(random);
  worker_port_max_ = worker_port_min_ + kWorkerPorts - 1;
  std::filesystem::create_directories(config_dir());
  queen_settings_ = {{"port", std::to_string(queen_port_)}};
  base_config_ = "\n[hive]\nport = " + std::to_string(hive_port_) +
                 "\nheartbeat_s = " + std::to_string(heartbeat_s) + "\n";
  workers_settings_ = {{"port_min", std::to_string(worker_port_min_)},
                       {"port_max", std::to_string(worker_port_max_)},
                       {"stop_grace_s", "3"}};
  write_config();
}

RbeeHome::~RbeeHome() {
  for (const char* program : {"rbee-hive", "queen-rbee"}) {
    pid_t pid = live_pid(program);
    if (pid != 0) (void)lifecycle::stop_process(pid, std::chrono::seconds(5));
    EXPECT_EQ(live_pid(program), 0) << program << " outlived its test";
  }
  // Workers outlive a hive that was killed (they run in sessions of their own). Their whole
  // process group goes, so that helpers a worker started go too.
  for (pid_t pid : recorded_worker_pids()) {
    ::kill(-pid, SIGKILL);
    ::kill(pid, SIGKILL);
    lifecycle::poll_until(
        [pid] {
          auto info = lifecycle::read_process_info(pid);
          return !info || info->zombie();
        },
        std::chrono::seconds(5));
  }
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

void RbeeHome::write_config() const {
  std::string queen = "[queen]\n";
  for (const auto& [key, value] : queen_settings_) queen += key + " = " + value + "\n";
  std::string workers = "\n[workers]\n";
  for (const auto& [key, value] : workers_settings_) workers += key + " = " + value + "\n";
  if (!write_file_atomic(config_dir() / "config.toml",
                         queen + base_config_ + workers + appended_config_)) {
    std::abort();
  }
}

void RbeeHome::set_queen_setting(const std::string& key, const std::string& value) {
  queen_settings_[key] = value;
  write_config();
}

void RbeeHome::set_workers_setting(const std::string& key, const std::string& value) {
  workers_settings_[key] = value;
  write_config();
}

std::vector<pid_t> RbeeHome::recorded_worker_pids() const {
  std::vector<pid_t> pids;
  std::error_code ec;
  for (const auto& item : std::filesystem::directory_iterator(state_dir() / "workers", ec)) {
    if (item.path().extension() != ".json") continue;
    if (auto pid = recorded_live_pid(item.path())) pids.push_back(*pid);
  }
  return pids;
}

std::map<std::string, std::string> RbeeHome::env() const {
  auto env = extra_env_;
  env["RBEE_HOME"] = path_.string();
  return env;
}

void RbeeHome::append_config(const std::string& toml) {
  appended_config_ += "\n" + toml + "\n";
  write_config();
}

CommandResult RbeeHome::rbee(const std::vector<std::string>& args,
                             std::chrono::milliseconds timeout) const {
  return start_rbee(args)->finish(timeout);
}

std::unique_ptr<RunningCommand> RbeeHome::start_rbee(const std::vector<std::string>& args) const {
  std::vector<std::string> argv{(bin_dir() / "rbee").string()};
  argv.insert(argv.end(), args.begin(), args.end());
  return std::make_unique<RunningCommand>(argv, env());
}

pid_t RbeeHome::live_pid(const std::string& program) const {
  auto pid = lifecycle::read_pid_file(state_dir() / (program + ".pid"));
  if (!pid || !lifecycle::process_alive(*pid)) return 0;
  return *pid;
}

std::string RbeeHome::cluster_token() const {
  auto token = read_cluster_token(config_dir() / "cluster.token");
  return token ? *token : "";
}

std::string RbeeHome::hive_state(const std::string& hive_id) const {
  auto hives = queen().get_json("/v1/hives");
  if (!hives) return "";
  for (const auto& hive : (*hives)["hives"]) {
    if (hive["hive_id"] == hive_id) return hive["state"];
  }
  return "";
}

std::string stories260k_reference_continuation() {
  auto models = testing::HfTestServer::testdata_models_dir();
  if (!models) return "";
  std::ifstream in(models->parent_path() / "golden" / "stories260K" / "p1_once.json");
  Json reference = Json::parse(in, nullptr, false);
  if (reference.is_discarded() || !reference.contains("generated_text")) return "";
  return reference["generated_text"].get<std::string>();
}

bool eventually(const std::function<bool()>& ready, std::chrono::milliseconds timeout) {
  return lifecycle::poll_until(ready, timeout, std::chrono::milliseconds(50));
}

std::string submit_job(const http::Client& client, const Json& operation) {
  auto response = client.post("/v1/jobs", operation.dump());
  EXPECT_TRUE(response) << response.error().message;
  if (!response) return "";
  EXPECT_EQ(response->status, 202) << response->body;
  return Json::parse(response->body).value("job_id", "");
}

std::vector<http::SseEvent> read_events(const http::Client& client, const std::string& job_id,
                                        std::optional<std::string> last_event_id) {
  std::vector<http::SseEvent> events;
  auto status = client.stream_events("/v1/jobs/" + job_id + "/stream", last_event_id,
                                     [&](http::SseEvent&& event) {
                                       events.push_back(std::move(event));
                                       return true;
                                     });
  EXPECT_TRUE(status) << status.error().message;
  return events;
}

std::string JobOutcome::error_message() const {
  return error.is_object() ? error.value("message", "") : "";
}

std::vector<Json> JobOutcome::data_of(const std::string& event_name) const {
  std::vector<Json> out;
  for (const auto& event : events) {
    if (event.event == event_name) out.push_back(Json::parse(event.data, nullptr, false));
  }
  return out;
}

JobOutcome run_job(const http::Client& client, const Json& operation) {
  JobOutcome outcome;
  std::string job_id = submit_job(client, operation);
  if (job_id.empty()) return outcome;
  outcome.events = read_events(client, job_id);
  if (auto results = outcome.data_of("result"); !results.empty()) outcome.result = results.back();
  if (auto done = outcome.data_of("done"); !done.empty() && done.back().is_object()) {
    outcome.status = done.back().value("status", "");
    if (done.back().contains("error")) outcome.error = done.back()["error"];
  }
  return outcome;
}

}  // namespace rbee::integration
