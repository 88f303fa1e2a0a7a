#include "queen/queen_app.hpp"

#include <spdlog/spdlog.h>

#include <optional>
#include <thread>

#include "common/clock.hpp"
#include "common/cluster_token.hpp"
#include "common/logging.hpp"
#include "contracts/operations.hpp"
#include "contracts/worker.hpp"
#include "http/server.hpp"
#include "jobs/job_registry.hpp"
#include "jobs/job_routes.hpp"
#include "queen/api_keys.hpp"
#include "queen/hive_forwarder.hpp"
#include "queen/hive_registry.hpp"
#include "queen/inference.hpp"
#include "queen/remote_hive_control.hpp"
#include "queen/scheduler.hpp"
#include "queen/worker_registry.hpp"

namespace rbee::queen {

using contracts::Json;

struct QueenApp::Impl {
  QueenOptions options;
  std::function<void()> on_shutdown_request;
  http::Server server;
  jobs::JobRegistry jobs;
  HiveRegistry hives;
  WorkerRegistry workers;
  std::string cluster_token;
  Scheduler scheduler;
  InferenceService inference;
  RemoteHiveControl remote_hives;
  std::unique_ptr<ApiKeyStore> api_keys;  // opened at bind()
  // Beyond loopback the OpenAI endpoints take client API keys (ARCHITECTURE.md §6).
  bool require_api_key = false;
  std::thread server_thread;
  int port = 0;
  int64_t started_steady_ms = now_steady_ms();
  bool stopped = false;

  Impl(QueenOptions opts, std::function<void()> shutdown)
      : options(std::move(opts)),
        on_shutdown_request(std::move(shutdown)),
        // Streams and requests waiting in the scheduler's queue hold a thread each.
        server(http::ServerOptions{"queen-rbee", 16 * 1024 * 1024, 192, ""}),
        jobs(jobs::JobRegistryOptions{"queen-rbee", options.config.job_retention_s,
                                      static_cast<size_t>(options.config.max_finished_jobs)}),
        workers([this](const std::string& hive_id) {
          auto hive = hives.get(hive_id);
          return hive && hive->state == "unreachable";
        }),
        scheduler(options.scheduler, workers, hives, jobs, cluster_token),
        inference(scheduler, workers, hives, cluster_token),
        remote_hives(options.config, options.paths, hives, cluster_token, [this] { return port; }) {
  }

  int64_t uptime_s() const { return (now_steady_ms() - started_steady_ms) / 1000; }

  Json hives_json() const {
    Json list = Json::array();
    for (const auto& entry : hives.list()) list.push_back(to_json(entry));
    return list;
  }

  static Json configured_json(const RemoteHiveConfig& remote) {
    return Json{{"host", remote.host},           {"user", remote.user},
                {"ssh_port", remote.ssh_port},   {"identity_file", remote.identity_file},
                {"hive_port", remote.hive_port}, {"queen_url", remote.queen_url}};
  }

  // The registry plus the remote hives of hives.toml that have not reported (yet): those show
  // as "not running", each with its ssh settings under "configured".
  Result<Json> hives_with_config_json() const {
    RBEE_ASSIGN_OR_RETURN(std::vector<RemoteHiveConfig> remotes,
                          load_hives_file(options.paths.config_dir / "hives.toml"));
    Json list = hives_json();
    for (const auto& remote : remotes) {
      bool registered = false;
      for (auto& hive : list) {
        if (hive.value("hive_id", "") != remote.alias) continue;
        hive["configured"] = configured_json(remote);
        registered = true;
      }
      if (!registered) {
        list.push_back(
            Json{{"hive_id", remote.alias},
                 {"state", "not running"},
                 {"url", "http://" + remote.host + ":" + std::to_string(remote.hive_port)},
                 {"configured", configured_json(remote)}});
      }
    }
    return list;
  }

  // nullopt when the request may use the OpenAI endpoints.
  std::optional<http::Response> check_api_key(const http::Request& req) const {
    if (!require_api_key) return std::nullopt;
    std::string authorization = req.header("Authorization");
    const std::string bearer = "Bearer ";
    if (authorization.rfind(bearer, 0) == 0 &&
        api_keys->valid(authorization.substr(bearer.size()))) {
      return std::nullopt;
    }
    return http::openai_error_response(
        Error{ErrorCode::kUnauthenticated,
              authorization.empty()
                  ? "this queen needs an API key (Authorization: Bearer <key>); create one on "
                    "its machine with `rbee apikey create NAME`"
                  : "the API key is not valid (unknown or revoked)"});
  }

  Json workers_json() const {
    Json list = Json::array();
    for (const auto& worker : workers.list()) list.push_back(to_json(worker));
    return list;
  }

  Json status_json() const {
    return Json{{"version", RBEE_VERSION},
                {"uptime_s", uptime_s()},
                {"hives", hives_json()},
                {"workers", workers_json()}};
  }

  // A hive's heartbeat lists the worker processes it saw end; the event normally came first.
  void note_exited_workers(const contracts::HiveHeartbeat& beat) {
    for (const auto& worker : beat.workers) {
      if (!worker.is_object() || worker.value("state", "") != "exited") continue;
      std::string id = worker.value("worker_id", "");
      if (id.empty()) continue;
      auto known = workers.get(id);
      if (!known || known->state == "stopped" || known->state == "failed") continue;
      if (known->beat.pid != worker.value("pid", int64_t{0})) continue;
      workers.mark_gone(id, "failed", "hive '" + beat.hive_id + "' reports the process exited");
    }
  }

  Result<jobs::PlannedJob> plan(const Json& body) {
    RBEE_ASSIGN_OR_RETURN(contracts::Operation operation, contracts::parse_operation(body));
    std::string name = contracts::operation_name(operation);
    if (!contracts::target_hive(operation).empty()) {
      return jobs::PlannedJob{name, [this, operation](jobs::JobContext& job) {
                                return forward_to_hive(hives, cluster_token, operation, job);
                              }};
    }
    if (std::holds_alternative<contracts::StatusOperation>(operation)) {
      return jobs::PlannedJob{name, [this](jobs::JobContext& job) -> Status {
                                job.result(status_json());
                                return ok_status();
                              }};
    }
    if (const auto* infer = std::get_if<contracts::InferOperation>(&operation)) {
      return jobs::PlannedJob{name, [this, infer = *infer](jobs::JobContext& job) {
                                return inference.run_infer(infer, job);
                              }};
    }
    if (std::holds_alternative<contracts::ActiveWorkerListOperation>(operation)) {
      return jobs::PlannedJob{name, [this](jobs::JobContext& job) -> Status {
                                job.result(Json{{"workers", workers_json()}});
                                return ok_status();
                              }};
    }
    if (const auto* get = std::get_if<contracts::ActiveWorkerGetOperation>(&operation)) {
      return jobs::PlannedJob{name, [this, id = get->worker_id](jobs::JobContext& job) -> Status {
                                auto worker = workers.get(id);
                                if (!worker)
                                  return Error{ErrorCode::kNotFound, "unknown worker '" + id + "'"};
                                job.result(Json{{"worker", to_json(*worker)}});
                                return ok_status();
                              }};
    }
    if (const auto* retire = std::get_if<contracts::ActiveWorkerRetireOperation>(&operation)) {
      return jobs::PlannedJob{name, [this, id = retire->worker_id](jobs::JobContext& job) {
                                return scheduler.retire(id, job);
                              }};
    }
    if (std::holds_alternative<contracts::HiveListOperation>(operation)) {
      return jobs::PlannedJob{name, [this](jobs::JobContext& job) -> Status {
                                RBEE_ASSIGN_OR_RETURN(Json list, hives_with_config_json());
                                job.result(Json{{"hives", list}});
                                return ok_status();
                              }};
    }
    if (const auto* install = std::get_if<contracts::HiveInstallOperation>(&operation)) {
      return jobs::PlannedJob{name, [this, alias = install->alias](jobs::JobContext& job) {
                                return remote_hives.install(alias, job);
                              }};
    }
    if (const auto* uninstall = std::get_if<contracts::HiveUninstallOperation>(&operation)) {
      return jobs::PlannedJob{name, [this, op = *uninstall](jobs::JobContext& job) {
                                return remote_hives.uninstall(op.alias, op.purge, job);
                              }};
    }
    if (const auto* start = std::get_if<contracts::HiveStartOperation>(&operation)) {
      return jobs::PlannedJob{name, [this, alias = start->alias](jobs::JobContext& job) {
                                return remote_hives.start(alias, job);
                              }};
    }
    if (const auto* stop = std::get_if<contracts::HiveStopOperation>(&operation)) {
      return jobs::PlannedJob{name, [this, alias = stop->alias](jobs::JobContext& job) {
                                return remote_hives.stop(alias, job);
                              }};
    }
    const auto& get = std::get<contracts::HiveGetOperation>(operation);
    return jobs::PlannedJob{
        name, [this, alias = get.alias](jobs::JobContext& job) -> Status {
          RBEE_ASSIGN_OR_RETURN(Json list, hives_with_config_json());
          for (const auto& hive : list) {
            if (hive.value("hive_id", "") != alias) continue;
            job.result(Json{{"hive", hive}});
            return ok_status();
          }
          return Error{ErrorCode::kNotFound,
                       "unknown hive '" + alias + "' (not reporting, not in hives.toml)"};
        }};
  }

  void register_routes() {
    server.route("GET", "/health", http::Access::kPublic, [](const http::Request&) {
      return http::json_response(200, Json{{"status", "ok"}});
    });
    server.route("GET", "/v1/info", http::Access::kPublic, [this](const http::Request&) {
      return http::json_response(200, Json{{"name", "queen-rbee"},
                                           {"version", RBEE_VERSION},
                                           {"uptime_s", uptime_s()},
                                           {"pid", static_cast<int64_t>(::getpid())},
                                           {"n_hives", hives.list().size()},
                                           {"n_workers", workers.list().size()},
                                           {"jobs_running", jobs.n_running()}});
    });
    server.route("GET", "/v1/hives", http::Access::kClusterTokenBeyondLoopback,
                 [this](const http::Request&) {
                   return http::json_response(200, Json{{"hives", hives_json()}});
                 });
    server.route("POST", "/v1/hives/heartbeat", http::Access::kClusterToken,
                 [this](const http::Request& req) {
                   auto body = contracts::parse_json_text(req.body);
                   if (!body) return http::error_response(body.error());
                   auto beat = contracts::parse_hive_heartbeat(*body);
                   if (!beat) return http::error_response(beat.error());
                   if (hives.record(*beat)) {
                     logger("queen")->info("hive '{}' registered from {}", beat->hive_id,
                                           beat->url);
                   }
                   note_exited_workers(*beat);
                   return http::json_response(200, Json{{"status", "ok"}});
                 });
    server.route(
        "POST", "/v1/hives/events", http::Access::kClusterToken, [this](const http::Request& req) {
          auto body = contracts::parse_json_text(req.body);
          if (!body) return http::error_response(body.error());
          auto event = contracts::parse_hive_worker_event(*body);
          if (!event) return http::error_response(event.error());
          std::string reason = event->reason;
          if (reason.empty()) {
            reason = event->signal != 0 ? "killed by signal " + std::to_string(event->signal)
                                        : "exited with code " + std::to_string(event->exit_code);
          }
          logger("queen")->info("hive '{}': worker {} {} ({})", event->hive_id, event->worker_id,
                                event->kind, reason);
          bool clean = event->signal == 0 && event->exit_code == 0;
          workers.mark_gone(event->worker_id, clean ? "stopped" : "failed", reason);
          return http::json_response(200, Json{{"status", "ok"}});
        });
    server.route("POST", "/v1/workers/heartbeat", http::Access::kClusterToken,
                 [this](const http::Request& req) {
                   auto body = contracts::parse_json_text(req.body);
                   if (!body) return http::error_response(body.error());
                   auto beat = contracts::parse_worker_heartbeat(*body);
                   if (!beat) return http::error_response(beat.error());
                   workers.record(*beat);
                   return http::json_response(200, Json{{"status", "ok"}});
                 });
    server.route("GET", "/v1/workers", http::Access::kClusterTokenBeyondLoopback,
                 [this](const http::Request&) {
                   return http::json_response(200, Json{{"workers", workers_json()}});
                 });
    server.route("GET", "/v1/models", http::Access::kPublic, [this](const http::Request& req) {
      if (auto refused = check_api_key(req)) return *refused;
      return inference.list_models();
    });
    for (const char* path : {"/v1/completions", "/v1/chat/completions"}) {
      server.route("POST", path, http::Access::kPublic,
                   [this, path = std::string(path)](const http::Request& req) {
                     if (auto refused = check_api_key(req)) return *refused;
                     return inference.relay_openai(req, path);
                   });
    }
    // API keys are managed by whoever holds the cluster token: the machine's own CLI.
    server.route("POST", "/v1/apikeys", http::Access::kClusterToken,
                 [this](const http::Request& req) {
                   auto body = contracts::parse_json_text(req.body);
                   if (!body) return http::error_response(body.error());
                   contracts::ObjectReader reader(*body, "");
                   std::string name;
                   if (auto read = reader.required_string("name", name); !read) {
                     return http::error_response(read.error());
                   }
                   auto created = api_keys->create(name);
                   if (!created) return http::error_response(created.error());
                   logger("queen")->info("API key {} ('{}') created", created->info.id, name);
                   return http::json_response(
                       201, Json{{"key", created->key}, {"api_key", to_json(created->info)}});
                 });
    server.route("GET", "/v1/apikeys", http::Access::kClusterToken, [this](const http::Request&) {
      auto listed = api_keys->list();
      if (!listed) return http::error_response(listed.error());
      Json keys = Json::array();
      for (const auto& key : *listed) keys.push_back(to_json(key));
      return http::json_response(200, Json{{"api_keys", keys}});
    });
    server.route("DELETE", "/v1/apikeys/([A-Za-z0-9-]+)", http::Access::kClusterToken,
                 [this](const http::Request& req) {
                   auto revoked = api_keys->revoke(req.path_params.at(0));
                   if (!revoked) return http::error_response(revoked.error());
                   logger("queen")->info("API key {} revoked", revoked->id);
                   return http::json_response(200, Json{{"api_key", to_json(*revoked)}});
                 });
    server.route("POST", "/v1/shutdown", http::Access::kClusterToken, [this](const http::Request&) {
      logger("queen")->info("shutdown requested over HTTP");
      on_shutdown_request();
      return http::json_response(202, Json{{"status", "shutting_down"}});
    });
    // Jobs install hives over ssh, delete models, run inference: beyond loopback only the
    // holders of the cluster token (the rbee CLI on the queen's machine) may submit them.
    jobs::register_job_routes(server, jobs, http::Access::kClusterTokenBeyondLoopback,
                              [this](const Json& body) { return plan(body); });
  }
};

QueenApp::QueenApp(QueenOptions options, std::function<void()> on_shutdown_request)
    : impl_(std::make_unique<Impl>(std::move(options), std::move(on_shutdown_request))) {
  impl_->register_routes();
}

QueenApp::~QueenApp() {
  stop();
}

Result<int> QueenApp::bind() {
  RBEE_ASSIGN_OR_RETURN(impl_->cluster_token,
                        load_or_create_cluster_token(impl_->options.paths.token_file()));
  impl_->server.set_cluster_token(impl_->cluster_token);
  RBEE_ASSIGN_OR_RETURN(impl_->api_keys,
                        ApiKeyStore::open(impl_->options.paths.state_dir / "queen.db"));
  impl_->require_api_key = !http::is_loopback_host(impl_->options.config.host);
  RBEE_ASSIGN_OR_RETURN(int port,
                        impl_->server.bind(impl_->options.config.host, impl_->options.config.port));
  impl_->port = port;
  return port;
}

void QueenApp::serve() {
  impl_->server_thread = std::thread([this] { impl_->server.run(); });
  impl_->scheduler.start();
  logger("queen")->info("queen-rbee {} listening on http://{}:{}", RBEE_VERSION,
                        impl_->options.config.host, impl_->port);
}

void QueenApp::stop() {
  if (impl_->stopped) return;
  impl_->stopped = true;
  impl_->scheduler.stop();
  impl_->jobs.shutdown();
  impl_->server.stop();
  if (impl_->server_thread.joinable()) impl_->server_thread.join();
}

}  // namespace rbee::queen
