#include "lifecycle/process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <thread>

#include "common/files.hpp"

extern char** environ;

namespace rbee::lifecycle {

Result<pid_t> spawn_process(const SpawnOptions& options) {
  if (options.argv.empty()) return make_error(ErrorCode::kInvalidArgument, "nothing to run");
  const std::string& program = options.argv.front();
  if (::access(program.c_str(), X_OK) != 0) {
    return make_error(ErrorCode::kNotFound, "cannot run " + program + ": " + std::strerror(errno));
  }
  posix_spawn_file_actions_t actions;
  posix_spawnattr_t attributes;
  posix_spawn_file_actions_init(&actions);
  posix_spawnattr_init(&attributes);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  if (!options.log_file.empty()) {
    posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, options.log_file.c_str(),
                                     O_WRONLY | O_CREAT | O_APPEND, 0644);
    posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
  }
  // Nothing else this process has open (sockets, pidfds, files opened without O_CLOEXEC by a
  // library) leaks into a program that may outlive it.
  posix_spawn_file_actions_addclosefrom_np(&actions, STDERR_FILENO + 1);
  short flags = POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF;
  if (options.new_session) flags |= POSIX_SPAWN_SETSID;
  posix_spawnattr_setflags(&attributes, flags);
  sigset_t empty_mask;
  sigemptyset(&empty_mask);
  posix_spawnattr_setsigmask(&attributes, &empty_mask);
  sigset_t default_signals;
  sigemptyset(&default_signals);
  sigaddset(&default_signals, SIGINT);
  sigaddset(&default_signals, SIGTERM);
  sigaddset(&default_signals, SIGPIPE);
  sigaddset(&default_signals, SIGHUP);
  posix_spawnattr_setsigdefault(&attributes, &default_signals);

  std::vector<char*> argv;
  for (const auto& arg : options.argv) argv.push_back(const_cast<char*>(arg.c_str()));
  argv.push_back(nullptr);
  pid_t pid = 0;
  int rc = ::posix_spawn(&pid, program.c_str(), &actions, &attributes, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attributes);
  if (rc != 0) {
    return make_error(ErrorCode::kInternal, "cannot start " + program + ": " + std::strerror(rc));
  }
  return pid;
}

namespace {

Result<CollectedRun> run_with_output(const std::vector<std::string>& argv,
                                     std::chrono::milliseconds timeout, bool with_stderr) {
  if (argv.empty()) return make_error(ErrorCode::kInvalidArgument, "nothing to run");
  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0) {
    return make_error(ErrorCode::kInternal, std::string("pipe: ") + std::strerror(errno));
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], STDOUT_FILENO);
  if (with_stderr) {
    posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], STDERR_FILENO);
  } else {
    posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
  }
  std::vector<char*> args;
  for (const auto& arg : argv) args.push_back(const_cast<char*>(arg.c_str()));
  args.push_back(nullptr);
  pid_t pid = 0;
  int rc = ::posix_spawnp(&pid, argv[0].c_str(), &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  ::close(pipe_fds[1]);
  if (rc != 0) {
    ::close(pipe_fds[0]);
    return make_error(rc == ENOENT ? ErrorCode::kNotFound : ErrorCode::kInternal,
                      "cannot run " + argv[0] + ": " + std::strerror(rc));
  }
  std::string output;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  char buffer[4096];
  bool timed_out = false;
  while (true) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      timed_out = true;
      break;
    }
    pollfd fd{pipe_fds[0], POLLIN, 0};
    int ready = ::poll(&fd, 1, static_cast<int>(left.count()));
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) {
      timed_out = ready == 0;
      break;
    }
    ssize_t n = ::read(pipe_fds[0], buffer, sizeof(buffer));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    output.append(buffer, static_cast<size_t>(n));
  }
  ::close(pipe_fds[0]);
  if (timed_out) ::kill(pid, SIGKILL);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (timed_out) {
    return make_error(ErrorCode::kDeadlineExceeded, argv[0] + " did not finish in time");
  }
  return CollectedRun{WIFEXITED(status) ? WEXITSTATUS(status) : -1, std::move(output)};
}

}  // namespace

Result<std::string> run_and_capture(const std::vector<std::string>& argv,
                                    std::chrono::milliseconds timeout) {
  RBEE_ASSIGN_OR_RETURN(CollectedRun run, run_with_output(argv, timeout, false));
  if (run.exit_code != 0) return make_error(ErrorCode::kInternal, argv[0] + " failed");
  return std::move(run.output);
}

Result<CollectedRun> run_and_collect(const std::vector<std::string>& argv,
                                     std::chrono::milliseconds timeout) {
  return run_with_output(argv, timeout, true);
}

bool process_alive(pid_t pid) {
  if (pid <= 0) return false;
  reap_if_child(pid);
  if (::kill(pid, 0) != 0 && errno == ESRCH) return false;
  // A zombie still answers kill(0); its state letter in /proc/<pid>/stat says it is gone.
  auto stat = read_file("/proc/" + std::to_string(pid) + "/stat");
  if (!stat) return false;
  size_t paren = stat->rfind(')');
  return !(paren != std::string::npos && paren + 2 < stat->size() && (*stat)[paren + 2] == 'Z');
}

std::string process_program(pid_t pid) {
  auto cmdline = read_file("/proc/" + std::to_string(pid) + "/cmdline");
  if (!cmdline || cmdline->empty()) return "";
  return std::string(cmdline->c_str());
}

void reap_if_child(pid_t pid) {
  int status = 0;
  ::waitpid(pid, &status, WNOHANG);
}

Status stop_process(pid_t pid, std::chrono::milliseconds grace) {
  if (!process_alive(pid)) return ok_status();
  ::kill(pid, SIGTERM);
  if (poll_until([pid] { return !process_alive(pid); }, grace)) return ok_status();
  ::kill(pid, SIGKILL);
  if (poll_until([pid] { return !process_alive(pid); }, std::chrono::seconds(1)))
    return ok_status();
  return make_error(ErrorCode::kDeadlineExceeded,
                    "process " + std::to_string(pid) + " is still running after SIGKILL");
}

bool poll_until(const std::function<bool()>& ready, std::chrono::milliseconds timeout,
                std::chrono::milliseconds max_pause) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  auto pause = std::chrono::milliseconds(10);
  while (true) {
    if (ready()) return true;
    auto now = std::chrono::steady_clock::now();
    if (now >= deadline) return false;
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now);
    std::this_thread::sleep_for(std::min(pause, left));
    pause = std::min(pause * 2, max_pause);
  }
}

Status write_pid_file(const std::filesystem::path& path, pid_t pid) {
  return write_file_atomic(path, std::to_string(pid) + "\n", 0644);
}

Result<pid_t> read_pid_file(const std::filesystem::path& path) {
  RBEE_ASSIGN_OR_RETURN(std::string text, read_file(path));
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  pid_t pid = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), pid);
  if (ec != std::errc() || end != text.data() + text.size() || pid <= 0) {
    return make_error(ErrorCode::kInvalidArgument, "pid file " + path.string() + " holds no pid");
  }
  return pid;
}

pid_t live_pid_from_file(const std::filesystem::path& path, const std::string& program) {
  auto pid = read_pid_file(path);
  if (!pid) return 0;
  std::string running = process_program(*pid);
  if (process_alive(*pid) && std::filesystem::path(running).filename() == program) return *pid;
  std::error_code ec;
  std::filesystem::remove(path, ec);
  return 0;
}

}  // namespace rbee::lifecycle
