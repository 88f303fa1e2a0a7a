#include "cli/job_follower.hpp"

#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <thread>

#include "jobs/remote_job.hpp"

namespace rbee::cli {
namespace {

using contracts::Json;

std::atomic<int> g_interrupts{0};
int g_wake_pipe[2] = {-1, -1};

void on_interrupt(int) {
  if (g_interrupts.fetch_add(1) >= 1) _exit(130);  // second Ctrl-C: leave now
  char byte = 1;
  [[maybe_unused]] ssize_t n = ::write(g_wake_pipe[1], &byte, 1);
}

// While alive, Ctrl-C sends DELETE /v1/jobs/<id> from a watcher thread (no HTTP in a signal
// handler); the job then ends `cancelled` and its stream closes normally.
class CancelOnInterrupt {
 public:
  CancelOnInterrupt(const http::Client& queen, std::string job_id) {
    if (::pipe(g_wake_pipe) != 0) return;
    struct sigaction action {};
    action.sa_handler = on_interrupt;
    sigemptyset(&action.sa_mask);
    ::sigaction(SIGINT, &action, &previous_);
    installed_ = true;
    watcher_ = std::thread([&queen, job_id = std::move(job_id)] {
      pollfd fd{g_wake_pipe[0], POLLIN, 0};
      while (::poll(&fd, 1, -1) < 0) {
      }
      char byte = 0;
      if (::read(g_wake_pipe[0], &byte, 1) != 1 || byte == 0) return;  // 0 = stop watching
      std::fprintf(stderr, "\nrbee: cancelling %s (Ctrl-C again to quit now)\n", job_id.c_str());
      auto response = queen.del("/v1/jobs/" + job_id);
      if (!response)
        std::fprintf(stderr, "rbee: could not cancel: %s\n", response.error().message.c_str());
    });
  }
  ~CancelOnInterrupt() {
    if (!installed_) return;
    char stop = 0;
    [[maybe_unused]] ssize_t n = ::write(g_wake_pipe[1], &stop, 1);
    watcher_.join();
    ::sigaction(SIGINT, &previous_, nullptr);
    ::close(g_wake_pipe[0]);
    ::close(g_wake_pipe[1]);
  }
  CancelOnInterrupt(const CancelOnInterrupt&) = delete;
  CancelOnInterrupt& operator=(const CancelOnInterrupt&) = delete;

 private:
  bool installed_ = false;
  struct sigaction previous_ {};
  std::thread watcher_;
};

}  // namespace

int run_job(const http::Client& queen, const Json& operation, const RenderOptions& options) {
  std::string name = operation.value("operation", "job");
  auto submitted = queen.post("/v1/jobs", operation.dump());
  if (!submitted) {
    std::fprintf(stderr, "rbee: %s\n", submitted.error().message.c_str());
    return 1;
  }
  if (submitted->status != 202) {
    Error error = http::error_from_response(*submitted);
    std::fprintf(stderr, "rbee: the queen refused %s: %s\n", name.c_str(), error.message.c_str());
    return submitted->status == 400 ? 2 : 1;
  }
  auto job = contracts::parse_job_submitted(*contracts::parse_json_text(submitted->body));
  if (!job) {
    std::fprintf(stderr, "rbee: unexpected answer from the queen: %s\n",
                 job.error().message.c_str());
    return 1;
  }

  JobRenderer renderer(options, name);
  CancelOnInterrupt cancel_on_interrupt(queen, job->job_id);
  auto done =
      jobs::follow_remote_job(queen, job->sse_url, [&](const std::string& event_name, Json& data) {
        if (event_name == contracts::kEventNarration) {
          renderer.narration(data);
        } else if (event_name == contracts::kEventProgress) {
          renderer.progress(data);
        } else if (event_name == contracts::kEventToken) {
          renderer.token(data);
        } else if (event_name == contracts::kEventResult) {
          renderer.result(data);
        }
      });
  if (!done) {
    std::fprintf(stderr, "rbee: lost the connection to the queen while following %s: %s\n",
                 job->job_id.c_str(), done.error().message.c_str());
    return 1;
  }
  return renderer.done(*done);
}

}  // namespace rbee::cli
