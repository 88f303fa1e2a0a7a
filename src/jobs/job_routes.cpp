#include "jobs/job_routes.hpp"

#include <charconv>

#include "common/clock.hpp"
#include "http/sse.hpp"

namespace rbee::jobs {
namespace {

using contracts::Json;
using http::Request;
using http::Response;

constexpr auto kStreamPoll = std::chrono::milliseconds(250);
constexpr int64_t kKeepAliveMs = 5000;
constexpr const char* kJobIdPattern = "(job-[0-9a-f-]{36})";

uint64_t parse_last_event_id(const std::string& text) {
  uint64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  return (ec == std::errc() && end == text.data() + text.size()) ? value : 0;
}

Response not_found(const std::string& job_id) {
  return http::error_response(
      Error{ErrorCode::kNotFound, "no job '" + job_id + "' (unknown or expired)"});
}

void stream_job(const std::shared_ptr<Job>& job, uint64_t after_id, http::StreamSink& sink) {
  int64_t last_write_ms = now_steady_ms();
  while (sink.is_open()) {
    bool finished = false;
    auto events = job->events_after(after_id, kStreamPoll, &finished);
    for (const auto& event : events) {
      std::string frame =
          http::format_sse_event({std::to_string(event.id), event.name, event.data});
      if (!sink.write(frame)) return;
      after_id = event.id;
      last_write_ms = now_steady_ms();
    }
    if (finished) return;
    if (events.empty() && now_steady_ms() - last_write_ms >= kKeepAliveMs) {
      if (!sink.write(http::kSseKeepAlive)) return;
      last_write_ms = now_steady_ms();
    }
  }
}

}  // namespace

void register_job_routes(http::Server& server, JobRegistry& registry, http::Access access,
                         JobPlanner planner) {
  server.route("POST", "/v1/jobs", access, [&registry, planner](const Request& req) {
    auto body = contracts::parse_json_text(req.body);
    if (!body) return http::error_response(body.error());
    auto planned = planner(*body);
    if (!planned) return http::error_response(planned.error());
    auto job = registry.submit(planned->operation, std::move(planned->runner));
    if (!job) return http::error_response(job.error());
    contracts::JobSubmitted submitted{(*job)->id(), "/v1/jobs/" + (*job)->id() + "/stream"};
    return http::json_response(202, to_json(submitted));
  });

  server.route("GET", "/v1/jobs", access, [&registry](const Request&) {
    Json jobs = Json::array();
    for (const auto& info : registry.list()) jobs.push_back(to_json(info));
    return http::json_response(200, Json{{"jobs", jobs}});
  });

  server.route("GET", std::string("/v1/jobs/") + kJobIdPattern, access,
               [&registry](const Request& req) {
                 auto job = registry.find(req.path_params.at(0));
                 if (!job) return not_found(req.path_params.at(0));
                 Json body = to_json(job->info());
                 if (auto result = job->result()) body["result"] = *result;
                 return http::json_response(200, body);
               });

  server.route("GET", std::string("/v1/jobs/") + kJobIdPattern + "/stream", access,
               [&registry](const Request& req) {
                 auto job = registry.find(req.path_params.at(0));
                 if (!job) return not_found(req.path_params.at(0));
                 uint64_t after_id = parse_last_event_id(req.header("Last-Event-ID"));
                 Response response;
                 response.content_type = "text/event-stream";
                 response.stream = [job, after_id](http::StreamSink& sink) {
                   stream_job(job, after_id, sink);
                 };
                 return response;
               });

  server.route("DELETE", std::string("/v1/jobs/") + kJobIdPattern, access,
               [&registry](const Request& req) {
                 const std::string& job_id = req.path_params.at(0);
                 auto status = registry.cancel(job_id);
                 if (!status) return http::error_response(status.error());
                 auto job = registry.find(job_id);
                 Json body = job ? to_json(job->info()) : Json{{"job_id", job_id}};
                 body["cancel_requested"] = true;
                 return http::json_response(202, body);
               });
}

}  // namespace rbee::jobs
