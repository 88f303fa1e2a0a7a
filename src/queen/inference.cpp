#include "queen/inference.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <memory>
#include <set>

#include "common/clock.hpp"
#include "common/logging.hpp"
#include "contracts/openai.hpp"
#include "http/client.hpp"
#include "http/error_mapping.hpp"
#include "http/sse.hpp"
#include "queen/upstream_call.hpp"

namespace rbee::queen {

using contracts::Json;

namespace {

// Attempts per request: the first worker, and one more when it died before the first byte.
constexpr int kAttempts = 2;

void log_placement_event(const std::string& name, const Json& data) {
  if (name == "narration" && data.contains("human")) {
    logger("queen")->info("{}", data["human"].get<std::string>());
  }
}

// Why a worker is taken out of routing after a transport failure.
std::string lost_worker_reason(const WorkerView& worker, const Error& error) {
  return "the queen lost the connection to " + worker.beat.url + ": " + error.message;
}

std::string sse_error_event(const Error& error) {
  return "data: " + contracts::openai_error_body(error).dump() + "\n\n";
}

}  // namespace

InferenceService::InferenceService(Scheduler& scheduler, WorkerRegistry& workers,
                                   const HiveRegistry& hives, const std::string& cluster_token)
    : scheduler_(scheduler), workers_(workers), hives_(hives), cluster_token_(cluster_token) {}

http::Response InferenceService::relay_openai(const http::Request& request,
                                              const std::string& worker_path) {
  auto body = contracts::parse_json_text(request.body);
  if (!body) return http::openai_error_response(body.error());
  std::string param;
  Placement placement;
  bool stream = false;
  if (worker_path == "/v1/chat/completions") {
    auto chat = contracts::parse_chat_completion_request(*body, &param);
    if (!chat) return http::openai_error_response(chat.error(), param);
    placement.model = chat->params.model;
    stream = chat->params.stream;
  } else {
    auto completion = contracts::parse_completion_request(*body, &param);
    if (!completion) return http::openai_error_response(completion.error(), param);
    placement.model = completion->params.model;
    stream = completion->params.stream;
  }
  if (placement.model.empty()) {
    return http::openai_error_response(
        Error{ErrorCode::kInvalidArgument, "field 'model' is required"}, "model");
  }

  for (int attempt = 1; attempt <= kAttempts; ++attempt) {
    auto lease = scheduler_.acquire(placement, log_placement_event, std::stop_token());
    if (!lease) return http::openai_error_response(lease.error());
    const WorkerView worker = lease->worker();
    auto call =
        std::make_shared<UpstreamCall>(worker.beat.url, cluster_token_, worker_path, request.body);
    call->wait_for_first_piece();
    if (!call->received_any() && call->error()) {
      workers_.mark_gone(worker.beat.worker_id, "failed",
                         lost_worker_reason(worker, *call->error()));
      placement.exclude.insert(worker.beat.worker_id);
      logger("queen")->warn("worker {} failed before answering; {}", worker.beat.worker_id,
                            attempt < kAttempts ? "trying another" : "giving up");
      if (attempt < kAttempts) continue;
      return http::openai_error_response(
          Error{ErrorCode::kUnavailable,
                "the worker failed before answering: " + call->error()->message});
    }

    http::Response response;
    response.status = call->status();
    response.content_type =
        call->content_type().empty() ? "application/json" : call->content_type();
    if (!stream || response.status != 200) {
      // Nothing reached the client yet, so a worker that dies now can still be replaced.
      std::string whole;
      while (auto piece = call->next_piece()) whole += *piece;
      if (auto error = call->error()) {
        workers_.mark_gone(worker.beat.worker_id, "failed", lost_worker_reason(worker, *error));
        placement.exclude.insert(worker.beat.worker_id);
        if (attempt < kAttempts) continue;
        return http::openai_error_response(
            Error{ErrorCode::kUnavailable, "the worker failed mid-answer: " + error->message});
      }
      response.body = std::move(whole);
      return response;
    }
    auto held = std::make_shared<WorkerLease>(std::move(*lease));
    response.stream = [this, call, held, worker](http::StreamSink& sink) {
      while (auto piece = call->next_piece()) {
        if (!sink.write(*piece)) {
          call->cancel();  // the client left: close upstream so the worker frees the slot
          return;
        }
      }
      if (auto error = call->error()) {
        workers_.mark_gone(worker.beat.worker_id, "failed", lost_worker_reason(worker, *error));
        sink.write(sse_error_event(
            Error{ErrorCode::kUnavailable,
                  "worker " + worker.beat.worker_id + " failed mid-stream: " + error->message}));
      }
    };
    return response;
  }
  return http::openai_error_response(Error{ErrorCode::kInternal, "unreachable"});
}

http::Response InferenceService::list_models() const {
  std::set<std::string> ids;
  for (const auto& worker : workers_.list()) {
    if (worker.routable) ids.insert(worker.beat.model);
  }
  for (const auto& hive : hives_.list()) {
    if (hive.state != "online") continue;
    for (const auto& model : hive.last_beat.models) {
      if (model.is_object() && model.contains("id") && model["id"].is_string()) {
        ids.insert(model["id"].get<std::string>());
      }
    }
  }
  Json data = Json::array();
  for (const auto& id : ids) {
    data.push_back(Json{{"id", id}, {"object", "model"}, {"created", 0}, {"owned_by", "rbee"}});
  }
  return http::json_response(200, Json{{"object", "list"}, {"data", data}});
}

Status InferenceService::run_infer(const contracts::InferOperation& infer, jobs::JobContext& job) {
  Json body{{"model", infer.model},
            {"prompt", infer.prompt},
            {"max_tokens", infer.max_tokens},
            {"temperature", infer.temperature},
            {"top_p", infer.top_p},
            {"top_k", infer.top_k},
            {"min_p", infer.min_p},
            {"stream", true},
            {"stream_options", {{"include_usage", true}}}};
  if (infer.seed) body["seed"] = *infer.seed;
  if (!infer.stop.empty()) body["stop"] = infer.stop;
  const std::string request_body = body.dump();

  Placement placement{infer.model, infer.hive_id, infer.worker_id, {}};
  auto relay_event = [&job](const std::string& name, const Json& data) {
    // The scheduler's own narration is the queen's; relayed hive events carry their actor.
    if (name == "narration" && !data.contains("actor")) {
      job.narrate(data.value("action", "infer"), data.value("human", ""),
                  data.value("level", "info"));
    } else {
      job.emit(name, data);
    }
  };
  for (int attempt = 1; attempt <= kAttempts; ++attempt) {
    auto lease = scheduler_.acquire(placement, relay_event, job.stop_token());
    if (!lease) return std::move(lease).error();
    const WorkerView& worker = lease->worker();
    job.narrate("infer_start",
                fmt::format("Generating with {} on worker {} (hive '{}')", worker.beat.model,
                            worker.beat.worker_id, worker.beat.hive_id));
    UpstreamCall call(worker.beat.url, cluster_token_, "/v1/completions", request_body);
    std::stop_callback cancel_upstream(job.stop_token(), [&call] { call.cancel(); });
    call.wait_for_first_piece();
    if (!call.received_any() && call.error()) {
      workers_.mark_gone(worker.beat.worker_id, "failed",
                         lost_worker_reason(worker, *call.error()));
      placement.exclude.insert(worker.beat.worker_id);
      job.narrate("infer_retry",
                  "Worker " + worker.beat.worker_id + " failed before answering (" +
                      call.error()->message + ")" + (attempt < kAttempts ? "; trying another" : ""),
                  "warn");
      if (attempt < kAttempts) continue;
      return Error{ErrorCode::kUnavailable,
                   "the worker failed before answering: " + call.error()->message};
    }
    if (call.status() != 200) {
      std::string whole;
      while (auto piece = call.next_piece()) whole += *piece;
      return http::error_from_response(http::ClientResponse{call.status(), whole});
    }

    std::string text;
    std::string finish_reason;
    Json usage;
    int64_t index = 0;
    std::optional<Error> stream_error;
    http::SseParser parser;
    auto on_event = [&](http::SseEvent&& event) {
      if (event.data == "[DONE]") return false;
      auto chunk = contracts::parse_json_text(event.data);
      if (!chunk) return true;
      if (chunk->contains("error")) {
        stream_error = contracts::parse_error_object((*chunk)["error"]);
        return false;
      }
      if (chunk->contains("usage") && (*chunk)["usage"].is_object()) usage = (*chunk)["usage"];
      const Json& choices = chunk->value("choices", Json::array());
      if (!choices.is_array() || choices.empty()) return true;
      const Json& choice = choices[0];
      std::string piece = choice.value("text", std::string());
      if (!piece.empty()) {
        text += piece;
        job.emit("token", Json{{"text", piece}, {"index", index++}});
      }
      if (choice.contains("finish_reason") && choice["finish_reason"].is_string()) {
        finish_reason = choice["finish_reason"].get<std::string>();
      }
      return true;
    };
    while (auto piece = call.next_piece()) {
      if (!parser.feed(*piece, on_event)) break;
    }
    if (job.cancelled()) return jobs::JobContext::cancelled_error();
    if (stream_error) return *stream_error;
    if (auto error = call.error()) {
      workers_.mark_gone(worker.beat.worker_id, "failed", lost_worker_reason(worker, *error));
      return Error{ErrorCode::kUnavailable,
                   fmt::format("worker {} failed after {} tokens: {}", worker.beat.worker_id, index,
                               error->message)};
    }
    job.narrate("infer_done",
                fmt::format("Generated {} tokens ({})", usage.value("completion_tokens", index),
                            finish_reason.empty() ? "end" : finish_reason));
    job.result(Json{{"text", text},
                    {"finish_reason", finish_reason},
                    {"usage", usage},
                    {"model", worker.beat.model},
                    {"worker_id", worker.beat.worker_id},
                    {"hive_id", worker.beat.hive_id}});
    return ok_status();
  }
  return Error{ErrorCode::kInternal, "unreachable"};
}

}  // namespace rbee::queen
