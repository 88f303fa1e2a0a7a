#include "worker/worker_app.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <cstdio>

#include "common/logging.hpp"
#include "engine/kernels/kernel_table.hpp"

namespace rbee::worker {
namespace {

// Room for every queued and running request to hold an HTTP thread, plus the small routes.
constexpr int kSpareHttpThreads = 8;
constexpr size_t kMaxBodyBytes = 16 << 20;
// After the drain, how long the responses get to write their last bytes.
constexpr auto kFlushTimeout = std::chrono::seconds(2);

http::ServerOptions server_options(const WorkerOptions& options) {
  http::ServerOptions server;
  server.name = "llm-worker-rbee";
  server.max_body_bytes = kMaxBodyBytes;
  server.n_threads = int(SchedulerOptions{}.max_queue) + options.parallel + kSpareHttpThreads;
  return server;
}

// Where the forward pass runs and what its weights take there, for the line that says the
// worker serves.
std::string describe_placement(const engine::Model& model, const WorkerOptions& options) {
  if (const engine::DeviceForward* device = model.device()) {
    return fmt::format("on {}, {} MiB of weights in its memory", device->description(),
                       device->weight_bytes() >> 20);
  }
  return fmt::format("{} threads, {} kernels, {} MiB of weights repacked",
                     options.effective_threads(), engine::kernels::KernelTable::active().name(),
                     model.repacked_bytes() >> 20);
}

}  // namespace

WorkerApp::WorkerApp(WorkerOptions options, std::function<void()> request_shutdown)
    : options_(std::move(options)),
      request_shutdown_(std::move(request_shutdown)),
      service_(options_),
      routes_(service_, request_shutdown_),
      server_(server_options(options_)) {
  routes_.register_routes(server_);
}

WorkerApp::~WorkerApp() {
  if (loader_.joinable()) {
    loader_.request_stop();
    loader_.join();
  }
  server_.stop();
  if (server_thread_.joinable()) server_thread_.join();
}

Result<int> WorkerApp::bind() {
  RBEE_ASSIGN_OR_RETURN(int port, server_.bind(options_.host, options_.port));
  service_.set_port(port);
  url_ = "http://" + options_.host + ":" + std::to_string(port);
  return port;
}

contracts::WorkerHeartbeat WorkerApp::beat(const std::string& state_override) const {
  contracts::WorkerHeartbeat beat = make_worker_heartbeat(service_, url_);
  if (!state_override.empty()) beat.state = state_override;
  return beat;
}

void WorkerApp::start() {
  service_.set_loading(0);
  server_thread_ = std::thread([this] { server_.run(); });
  std::printf("llm-worker-rbee: listening on %s\n", url_.c_str());
  std::fflush(stdout);
  if (!options_.queen_url.empty()) {
    heartbeat_ = std::make_unique<WorkerHeartbeat>(
        WorkerHeartbeatOptions{options_.queen_url, options_.heartbeat_interval,
                               [this] { return beat(); }},
        service_.cluster_token());
  }
  loader_ = std::jthread([this](std::stop_token stop) { load(stop); });
}

void WorkerApp::load(std::stop_token stop) {
  auto log = logger("worker");
  log->info("loading {}", options_.model_path.string());
  LoadOptions load_options;
  load_options.on_progress = [this](double progress) { service_.set_loading(progress); };
  load_options.cancelled = [&stop] { return stop.stop_requested(); };
  load_options.min_duration = options_.min_load_time;
  load_options.repack = options_.repack;
  load_options.device = options_.device;
  auto loaded = load_model(options_.model_path, load_options);
  const std::string placement = loaded ? describe_placement(*loaded->model, options_) : "";
  Status serving = loaded ? service_.start_serving(std::move(*loaded)) : loaded.error();
  if (!serving) {
    if (serving.error().code == ErrorCode::kCancelled) return;
    std::fprintf(stderr, "llm-worker-rbee: cannot load the model: %s\n",
                 serving.error().message.c_str());
    {
      std::lock_guard lock(mu_);
      load_error_ = serving.error();
    }
    request_shutdown_();
    return;
  }
  log->info("serving {} as '{}' on {} ({} slots of {} tokens, {})", options_.model_path.string(),
            options_.effective_model_id(), url_, options_.parallel, service_.ctx(), placement);
  std::printf("llm-worker-rbee: ready\n");
  std::fflush(stdout);
  if (heartbeat_) heartbeat_->beat_now();
}

std::optional<Error> WorkerApp::load_error() const {
  std::lock_guard lock(mu_);
  return load_error_;
}

int WorkerApp::finish() {
  auto log = logger("worker");
  const bool failed = load_error().has_value();
  if (!failed) {
    log->info("draining (up to {} s)", options_.drain_timeout.count());
    service_.begin_drain();
    if (heartbeat_) heartbeat_->beat_now();
  }
  loader_.request_stop();
  if (loader_.joinable()) loader_.join();
  const auto deadline = std::chrono::steady_clock::now() + options_.drain_timeout;
  if (!service_.drain(deadline)) log->warn("the drain timed out; unfinished requests were ended");
  // The responses write their last events (finish, [DONE], or the error) before the server
  // closes the connections.
  const auto flush_deadline = std::chrono::steady_clock::now() + kFlushTimeout;
  while (service_.open_streams().load() > 0 && std::chrono::steady_clock::now() < flush_deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  server_.stop();
  if (server_thread_.joinable()) server_thread_.join();
  service_.stop();
  if (heartbeat_) {
    const auto last = beat(failed ? "failed" : "stopped");
    heartbeat_->stop(&last);
  }
  log->info("stopped");
  return failed ? kExitBadModel : kExitOk;
}

}  // namespace rbee::worker
