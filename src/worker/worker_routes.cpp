#include "worker/worker_routes.hpp"

#include "http/error_mapping.hpp"
#include "worker/job_stream.hpp"

namespace rbee::worker {
namespace {

using contracts::Json;

Json info_json(const WorkerInfo& info) {
  return Json{{"worker_id", info.worker_id},
              {"hive_id", info.hive_id},
              {"model", info.model},
              {"model_path", info.model_path},
              {"device", info.device},
              {"state", info.state},
              {"load_progress", info.load_progress},
              {"slots_total", info.slots.slots_total},
              {"slots_busy", info.slots.slots_busy},
              {"queue_depth", info.slots.queue_depth},
              {"ctx", info.ctx},
              {"parallel", info.parallel},
              {"threads", info.threads},
              {"pid", info.pid},
              {"port", info.port},
              {"version", info.version},
              {"uptime_s", info.uptime_s},
              {"requests_total", info.requests_total},
              {"chat_format", info.chat_format}};
}

bool is_loopback(const std::string& address) {
  return address == "127.0.0.1" || address == "::1" || address.rfind("127.", 0) == 0 ||
         address == "::ffff:127.0.0.1";
}

const Error kUnauthorized{ErrorCode::kUnauthenticated,
                          "missing or wrong token: send Authorization: Bearer <cluster token>"};

}  // namespace

void WorkerRoutes::register_routes(http::Server& server) {
  using http::Access;
  auto bind = [this](http::Response (WorkerRoutes::*handler)(const http::Request&)) {
    return [this, handler](const http::Request& request) { return (this->*handler)(request); };
  };
  // Authentication is checked by the handlers: it applies only when --token-file was given.
  server.route("GET", "/health", Access::kPublic, bind(&WorkerRoutes::health));
  server.route("GET", "/v1/info", Access::kPublic, bind(&WorkerRoutes::info));
  server.route("GET", "/metrics", Access::kPublic, bind(&WorkerRoutes::metrics));
  server.route("GET", "/v1/models", Access::kPublic, bind(&WorkerRoutes::models));
  server.route("POST", "/v1/completions", Access::kPublic, bind(&WorkerRoutes::completions));
  server.route("POST", "/v1/chat/completions", Access::kPublic,
               bind(&WorkerRoutes::chat_completions));
  server.route("POST", "/v1/shutdown", Access::kPublic, bind(&WorkerRoutes::shutdown));
  for (const char* method : {"GET", "POST", "PUT", "DELETE"}) {
    server.route(method, ".*", Access::kPublic, bind(&WorkerRoutes::not_found));
  }
}

http::Response WorkerRoutes::health(const http::Request&) {
  switch (service_.phase()) {
    case WorkerPhase::kReady:
      return http::json_response(200, Json{{"status", "ok"}});
    case WorkerPhase::kStarting:
    case WorkerPhase::kLoading:
      return http::json_response(
          503, Json{{"status", "loading"}, {"progress", service_.load_progress()}});
    case WorkerPhase::kDraining:
    case WorkerPhase::kStopped:
      break;
  }
  return http::json_response(503, Json{{"status", "draining"}});
}

http::Response WorkerRoutes::info(const http::Request&) {
  return http::json_response(200, info_json(service_.info()));
}

http::Response WorkerRoutes::metrics(const http::Request&) {
  http::Response response;
  response.content_type = "text/plain; version=0.0.4; charset=utf-8";
  response.body = service_.metrics().prometheus_text(service_.stats());
  return response;
}

http::Response WorkerRoutes::models(const http::Request& request) {
  if (!service_.authorized(request.header("Authorization"))) {
    return http::openai_error_response(kUnauthorized);
  }
  const auto created =
      std::chrono::duration_cast<std::chrono::seconds>(service_.started_at().time_since_epoch())
          .count();
  Json model{
      {"id", service_.model_id()}, {"object", "model"}, {"created", created}, {"owned_by", "rbee"}};
  return http::json_response(200, Json{{"object", "list"}, {"data", Json::array({model})}});
}

template <typename ParsedRequest, typename Parse, typename Submit>
http::Response WorkerRoutes::inference(const http::Request& request, const char* prompt_param,
                                       Parse parse, Submit submit) {
  http::Response response = [&] {
    if (!service_.authorized(request.header("Authorization"))) {
      return http::openai_error_response(kUnauthorized);
    }
    auto body = contracts::parse_json_text(request.body);
    if (!body) return http::openai_error_response(body.error());
    std::string param;
    Result<ParsedRequest> parsed = parse(*body, &param);
    if (!parsed) return http::openai_error_response(parsed.error(), param);
    Result<Submission> submission = (service_.*submit)(*parsed);
    if (!submission) {
      const bool about_prompt = submission.error().code == ErrorCode::kInvalidArgument;
      return http::openai_error_response(submission.error(), about_prompt ? prompt_param : "");
    }
    return job_response(std::move(*submission), parsed->params.stream, service_.open_streams());
  }();
  service_.metrics().count_request(response.status);
  return response;
}

http::Response WorkerRoutes::completions(const http::Request& request) {
  return inference<contracts::CompletionRequest>(
      request, "prompt", &contracts::parse_completion_request, &WorkerService::submit_completion);
}

http::Response WorkerRoutes::chat_completions(const http::Request& request) {
  return inference<contracts::ChatCompletionRequest>(
      request, "messages", &contracts::parse_chat_completion_request, &WorkerService::submit_chat);
}

http::Response WorkerRoutes::shutdown(const http::Request& request) {
  const bool allowed = service_.options().token_file.empty()
                           ? is_loopback(request.remote_addr)
                           : service_.authorized(request.header("Authorization"));
  if (!allowed) return http::openai_error_response(kUnauthorized);
  request_shutdown_();
  return http::json_response(200, Json{{"status", "draining"}});
}

http::Response WorkerRoutes::not_found(const http::Request& request) {
  return http::openai_error_response(
      Error{ErrorCode::kNotFound, "no such endpoint: " + request.method + " " + request.path});
}

}  // namespace rbee::worker
