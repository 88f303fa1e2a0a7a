#include "catalog/program_runner.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <thread>

extern char** environ;

namespace rbee::catalog {
namespace {

using Clock = std::chrono::steady_clock;

// A pipe whose ends close when it goes out of scope.
struct Pipe {
  int read_fd = -1;
  int write_fd = -1;
  ~Pipe() {
    close_read();
    close_write();
  }
  void close_read() {
    if (read_fd >= 0) ::close(read_fd);
    read_fd = -1;
  }
  void close_write() {
    if (write_fd >= 0) ::close(write_fd);
    write_fd = -1;
  }
};

Status open_pipe(Pipe& pipe) {
  int fds[2];
  // Close-on-exec: only the child's dup2'd copies (0/1/2) survive into the program.
  if (::pipe2(fds, O_CLOEXEC) != 0) {
    return make_error(ErrorCode::kInternal,
                      std::string("cannot create a pipe: ") + std::strerror(errno));
  }
  pipe.read_fd = fds[0];
  pipe.write_fd = fds[1];
  return ok_status();
}

Result<pid_t> spawn(const std::vector<std::string>& argv, const Pipe& out, const Pipe& err) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, out.write_fd, STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&actions, err.write_fd, STDERR_FILENO);

  posix_spawnattr_t attributes;
  posix_spawnattr_init(&attributes);
  // Its own process group, so a timeout can kill the program and anything it started; a
  // clean signal mask and default SIGPIPE, whatever this process has set for itself.
  sigset_t empty_set;
  sigemptyset(&empty_set);
  sigset_t default_set;
  sigemptyset(&default_set);
  sigaddset(&default_set, SIGPIPE);
  posix_spawnattr_setpgroup(&attributes, 0);
  posix_spawnattr_setsigmask(&attributes, &empty_set);
  posix_spawnattr_setsigdefault(&attributes, &default_set);
  posix_spawnattr_setflags(&attributes,
                           POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);

  std::vector<char*> args;
  for (const std::string& arg : argv) args.push_back(const_cast<char*>(arg.c_str()));
  args.push_back(nullptr);

  pid_t pid = 0;
  int rc = 0;
  // A file just written and closed can still be open for writing in a child that another
  // thread forked meanwhile (ETXTBSY until that child execs): retry briefly.
  for (int attempt = 0; attempt < 100; ++attempt) {
    rc = ::posix_spawn(&pid, argv[0].c_str(), &actions, &attributes, args.data(), environ);
    if (rc != ETXTBSY) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  posix_spawnattr_destroy(&attributes);
  posix_spawn_file_actions_destroy(&actions);
  if (rc == 0) return pid;
  std::string reason = "cannot run " + argv[0] + ": " + std::strerror(rc);
  switch (rc) {
    case ENOENT:
      return make_error(ErrorCode::kNotFound, reason);
    case EACCES:
    case ENOEXEC:
    case EPERM:
    case ENOTDIR:
    case ELOOP:
    case EISDIR:
      return make_error(ErrorCode::kInvalidArgument, reason);
    default:
      return make_error(ErrorCode::kInternal, reason);
  }
}

// Appends what is readable on `fd`; returns false at end of stream.
bool drain(int fd, std::string& text) {
  std::array<char, 4096> buffer;
  ssize_t n = ::read(fd, buffer.data(), buffer.size());
  if (n < 0) return errno == EINTR || errno == EAGAIN;
  if (n == 0) return false;
  size_t room = kMaxCapturedBytes - std::min(kMaxCapturedBytes, text.size());
  text.append(buffer.data(), std::min(room, static_cast<size_t>(n)));
  return true;
}

int milliseconds_left(Clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
  return static_cast<int>(std::max<int64_t>(0, left.count()));
}

}  // namespace

Result<ProgramOutput> run_program(const std::vector<std::string>& argv,
                                  std::chrono::milliseconds timeout) {
  if (argv.empty()) return make_error(ErrorCode::kInvalidArgument, "no program to run");
  Pipe out;
  Pipe err;
  RBEE_RETURN_IF_ERROR(open_pipe(out));
  RBEE_RETURN_IF_ERROR(open_pipe(err));
  RBEE_ASSIGN_OR_RETURN(pid_t pid, spawn(argv, out, err));
  out.close_write();
  err.close_write();

  const Clock::time_point deadline = Clock::now() + timeout;
  ProgramOutput output;
  bool timed_out = false;
  std::array<pollfd, 2> fds = {pollfd{out.read_fd, POLLIN, 0}, pollfd{err.read_fd, POLLIN, 0}};
  std::array<std::string*, 2> texts = {&output.stdout_text, &output.stderr_text};
  while (fds[0].fd >= 0 || fds[1].fd >= 0) {
    int wait_ms = milliseconds_left(deadline);
    if (wait_ms == 0) {
      timed_out = true;
      break;
    }
    int ready = ::poll(fds.data(), fds.size(), wait_ms);
    if (ready < 0 && errno == EINTR) continue;
    if (ready < 0) break;
    for (size_t i = 0; i < fds.size(); ++i) {
      if (fds[i].fd < 0 || fds[i].revents == 0) continue;
      // poll() ignores negative descriptors: a closed stream drops out of the set.
      if (!drain(fds[i].fd, *texts[i])) fds[i].fd = -1;
    }
  }

  // Both streams are closed (or time is up); the program may still be running. The group is
  // killed before the leader is reaped, while its id cannot have been reused.
  if (timed_out) ::kill(-pid, SIGKILL);
  int status = 0;
  while (true) {
    pid_t done = ::waitpid(pid, &status, WNOHANG);
    if (done == pid) break;
    if (done < 0 && errno != EINTR) {
      return make_error(ErrorCode::kInternal,
                        "cannot wait for " + argv[0] + ": " + std::strerror(errno));
    }
    if (timed_out || milliseconds_left(deadline) == 0) {
      timed_out = true;
      ::kill(-pid, SIGKILL);
      while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
      }
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  if (timed_out) {
    return make_error(ErrorCode::kDeadlineExceeded, argv[0] + " did not finish within " +
                                                        std::to_string(timeout.count()) + " ms");
  }
  output.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return output;
}

}  // namespace rbee::catalog
