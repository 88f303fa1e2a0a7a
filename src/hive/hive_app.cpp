#include "hive/hive_app.hpp"

#include <spdlog/spdlog.h>

#include "common/clock.hpp"
#include "common/logging.hpp"
#include "hive/devices.hpp"
#include "hive/heartbeat_sender.hpp"
#include "hive/hive_operations.hpp"
#include "hive/queen_link.hpp"
#include "hive/worker_event_sender.hpp"
#include "hive/worker_supervisor.hpp"
#include "http/advertised_address.hpp"
#include "http/server.hpp"
#include "jobs/job_registry.hpp"
#include "jobs/job_routes.hpp"

namespace rbee::hive {

using contracts::Json;

struct HiveApp::Impl {
  HiveOptions options;
  std::function<void()> on_shutdown_request;
  http::Server server;
  jobs::JobRegistry jobs;
  std::shared_ptr<HiveCatalogs> catalogs;
  std::shared_ptr<QueenLink> queen;
  std::shared_ptr<HeartbeatSender> heartbeat;
  std::shared_ptr<WorkerEventSender> events;
  // After what its exit callbacks use; jobs may hold it a little longer.
  std::shared_ptr<WorkerSupervisor> workers;
  std::thread server_thread;
  int port = 0;
  int64_t started_ms = now_steady_ms();
  bool serving = false;
  bool stopped = false;

  Impl(HiveOptions opts, std::function<void()> shutdown)
      : options(std::move(opts)),
        on_shutdown_request(std::move(shutdown)),
        server(http::ServerOptions{"rbee-hive", 1024 * 1024, 64, ""}),
        jobs(jobs::JobRegistryOptions{"rbee-hive"}) {
    auto hf = provision::HfClientOptions::from_environment(options.downloads.hf_endpoint);
    hf.transfer.stall_timeout_s = options.downloads.stall_timeout_s;
    hf.transfer.max_attempts = options.downloads.max_attempts;
    catalogs = std::make_shared<HiveCatalogs>(options.paths, std::move(hf));
    catalogs->recover_after_restart();
    std::error_code ec;
    auto own_executable = std::filesystem::read_symlink("/proc/self/exe", ec);
    if (auto registered = catalogs->register_builtin_worker(own_executable); !registered) {
      logger("hive")->warn("worker type 'cpu' not registered: {}", registered.error().message);
    }
    queen = std::make_shared<QueenLink>(
        options.queen_url, options.paths.token_file(),
        [this](const std::string& token) { server.set_cluster_token(token); });
    heartbeat = std::make_shared<HeartbeatSender>(HeartbeatOptions{
        queen, std::chrono::milliseconds(static_cast<int64_t>(options.config.heartbeat_s * 1000)),
        [this] { return build_heartbeat(); }});
    events = std::make_shared<WorkerEventSender>(queen);
    WorkerSupervisorOptions supervision{options.config.hive_id, options.paths, options.workers,
                                        options.queen_url, options.config.host};
    workers = std::make_shared<WorkerSupervisor>(
        std::move(supervision), [sender = std::weak_ptr(events), beats = std::weak_ptr(heartbeat)](
                                    const contracts::HiveWorkerEvent& event) {
          if (auto alive = sender.lock()) alive->send(event);
          if (auto alive = beats.lock()) alive->beat_now();
        });
    catalogs->model_in_use = [supervisor = std::weak_ptr(workers)](const std::string& model_id) {
      auto alive = supervisor.lock();
      return alive && alive->model_in_use(model_id);
    };
  }

  std::string advertised_url() const {
    // A wildcard bind is not an address the queen can dial: the interface facing it is.
    return "http://" + http::advertised_host(options.config.host, options.queen_url) + ":" +
           std::to_string(port);
  }

  contracts::HiveHeartbeat build_heartbeat() const {
    contracts::HiveHeartbeat beat;
    beat.hive_id = options.config.hive_id;
    beat.url = advertised_url();
    beat.version = RBEE_VERSION;
    beat.heartbeat_interval_ms = static_cast<int64_t>(options.config.heartbeat_s * 1000);
    beat.devices = detect_devices(options.nvidia_smi);
    beat.models = catalogs->model_summaries();
    beat.workers = workers->heartbeat_entries();
    return beat;
  }

  void register_routes() {
    server.route("GET", "/health", http::Access::kPublic, [this](const http::Request&) {
      return http::json_response(200, Json{{"status", "ok"}, {"hive_id", options.config.hive_id}});
    });
    server.route("GET", "/v1/info", http::Access::kPublic, [this](const http::Request&) {
      return http::json_response(200,
                                 Json{{"name", "rbee-hive"},
                                      {"version", RBEE_VERSION},
                                      {"hive_id", options.config.hive_id},
                                      {"queen_url", options.queen_url},
                                      {"uptime_s", (now_steady_ms() - started_ms) / 1000},
                                      {"heartbeat_connected", heartbeat && heartbeat->connected()},
                                      {"jobs_running", jobs.n_running()}});
    });
    server.route("POST", "/v1/shutdown", http::Access::kClusterToken, [this](const http::Request&) {
      logger("hive")->info("shutdown requested over HTTP");
      on_shutdown_request();
      return http::json_response(202, Json{{"status", "shutting_down"}});
    });
    HiveOperationContext context{
        options.config.hive_id,
        options.paths,
        options.queen_url,
        [nvidia_smi = options.nvidia_smi] { return detect_devices(nvidia_smi); },
        catalogs,
        workers};
    jobs::register_job_routes(
        server, jobs, http::Access::kClusterToken,
        [context, beats = std::weak_ptr(heartbeat)](const Json& body) -> Result<jobs::PlannedJob> {
          RBEE_ASSIGN_OR_RETURN(jobs::PlannedJob planned, plan_hive_job(context, body));
          if (planned.operation == "model_download" || planned.operation == "model_delete") {
            // The queen schedules by the models in the heartbeat: tell it
            // of a catalog change now, not a beat later.
            planned.runner = [run = std::move(planned.runner), beats](jobs::JobContext& job) {
              Status status = run(job);
              if (auto alive = beats.lock()) alive->beat_now();
              return status;
            };
          }
          return planned;
        });
  }
};

HiveApp::HiveApp(HiveOptions options, std::function<void()> on_shutdown_request)
    : impl_(std::make_unique<Impl>(std::move(options), std::move(on_shutdown_request))) {
  impl_->register_routes();
}

HiveApp::~HiveApp() {
  stop();
}

Result<int> HiveApp::bind() {
  RBEE_ASSIGN_OR_RETURN(impl_->port,
                        impl_->server.bind(impl_->options.config.host, impl_->options.config.port));
  return impl_->port;
}

void HiveApp::serve() {
  impl_->workers->recover_after_restart();
  impl_->serving = true;
  impl_->server_thread = std::thread([this] { impl_->server.run(); });
  impl_->heartbeat->start();
  logger("hive")->info("rbee-hive '{}' {} listening on {}, reporting to {}",
                       impl_->options.config.hive_id, RBEE_VERSION, url(),
                       impl_->options.queen_url);
}

void HiveApp::stop() {
  if (impl_->stopped) return;
  impl_->stopped = true;
  impl_->jobs.shutdown();  // spawns still loading stop their workers
  if (impl_->serving) impl_->workers->stop_all();
  impl_->events->stop();
  impl_->heartbeat->stop();
  impl_->server.stop();
  if (impl_->server_thread.joinable()) impl_->server_thread.join();
}

std::string HiveApp::url() const {
  return impl_->advertised_url();
}

}  // namespace rbee::hive
