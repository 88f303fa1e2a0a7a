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

#include <thread>

#include "common/cluster_token.hpp"
#include "common/files.hpp"
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

RbeeHome::RbeeHome(double heartbeat_s) : heartbeat_s_(heartbeat_s) {
  std::string pattern = (std::filesystem::temp_directory_path() / "rbee-it-XXXXXX").string();
  if (!::mkdtemp(pattern.data())) std::abort();
  path_ = pattern;
  queen_port_ = free_port();
  hive_port_ = free_port();
  while (hive_port_ == queen_port_) hive_port_ = free_port();
  std::filesystem::create_directories(config_dir());
  std::string config = "[queen]\nport = " + std::to_string(queen_port_) +
                       "\n\n[hive]\nport = " + std::to_string(hive_port_) +
                       "\nheartbeat_s = " + std::to_string(heartbeat_s) + "\n";
  if (!write_file_atomic(config_dir() / "config.toml", config)) std::abort();
}

RbeeHome::~RbeeHome() {
  for (const char* program : {"rbee-hive", "queen-rbee"}) {
    pid_t pid = live_pid(program);
    if (pid != 0) (void)lifecycle::stop_process(pid, std::chrono::seconds(5));
    EXPECT_EQ(live_pid(program), 0) << program << " outlived its test";
  }
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

std::map<std::string, std::string> RbeeHome::env() const {
  auto env = extra_env_;
  env["RBEE_HOME"] = path_.string();
  return env;
}

void RbeeHome::append_config(const std::string& toml) {
  auto current = read_file(config_dir() / "config.toml");
  if (!current || !write_file_atomic(config_dir() / "config.toml", *current + "\n" + toml + "\n")) {
    std::abort();
  }
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

}  // namespace rbee::integration
