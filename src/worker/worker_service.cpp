#include "worker/worker_service.hpp"

#include <unistd.h>

#include <climits>
#include <random>

#include "common/cluster_token.hpp"
#include "common/random.hpp"
#include "engine/chat/chat_template.hpp"
#include "http/server.hpp"

namespace rbee::worker {
namespace {

// How often a wrong token makes the cache read the file again.
constexpr auto kTokenRereadInterval = std::chrono::seconds(1);

engine::GenerateOptions generate_options(const contracts::OpenAiGenerationParams& params,
                                         int64_t room, bool parse_special) {
  engine::GenerateOptions options;
  options.parse_special = parse_special;
  // Without max_tokens a request may fill its slot's context (as llama.cpp's server does).
  options.max_tokens = int(std::min<int64_t>(params.max_tokens.value_or(room), INT_MAX));
  options.stop = params.stop;
  auto& sampling = options.sampling;
  if (params.temperature) sampling.temperature = float(*params.temperature);
  if (params.top_p) sampling.top_p = float(*params.top_p);
  if (params.top_k) sampling.top_k = int(std::min<int64_t>(*params.top_k, INT_MAX));
  if (params.min_p) sampling.min_p = float(*params.min_p);
  if (params.presence_penalty) sampling.presence_penalty = float(*params.presence_penalty);
  if (params.frequency_penalty) sampling.frequency_penalty = float(*params.frequency_penalty);
  // No seed: a fresh one per request, so that two requests do not sample alike.
  sampling.seed = params.seed ? uint64_t(*params.seed) : std::random_device{}();
  return options;
}

}  // namespace

std::string worker_state_name(WorkerPhase phase, const SchedulerStats& stats) {
  switch (phase) {
    case WorkerPhase::kStarting:
      return "starting";
    case WorkerPhase::kLoading:
      return "loading";
    case WorkerPhase::kReady:
      return stats.slots_total > 0 && stats.slots_busy >= stats.slots_total ? "busy" : "ready";
    case WorkerPhase::kDraining:
      return "draining";
    case WorkerPhase::kStopped:
      return "stopped";
  }
  return "failed";
}

std::string ClusterTokenCache::current() {
  std::lock_guard lock(mu_);
  if (token_.empty()) {
    auto token = read_cluster_token(path_);
    read_at_ = std::chrono::steady_clock::now();
    if (token) token_ = *token;
  }
  return token_;
}

void ClusterTokenCache::invalidate() {
  std::lock_guard lock(mu_);
  if (std::chrono::steady_clock::now() - read_at_ >= kTokenRereadInterval) token_.clear();
}

WorkerService::WorkerService(WorkerOptions options)
    : options_(std::move(options)),
      started_at_(std::chrono::steady_clock::now()),
      started_at_wall_(std::chrono::system_clock::now()),
      token_(options_.token_file),
      ctx_(options_.ctx) {}

WorkerService::~WorkerService() {
  stop();
}

void WorkerService::set_loading(double progress) {
  load_progress_ = progress;
  WorkerPhase starting = WorkerPhase::kStarting;
  phase_.compare_exchange_strong(starting, WorkerPhase::kLoading);
}

Status WorkerService::start_serving(LoadedModel loaded) {
  // The slots keep references into the model and the tokenizer: they must be in place first.
  loaded_ = std::move(loaded);
  const int64_t ctx = resolve_ctx(options_.ctx, loaded_.model->hparams().n_ctx_train);
  RBEE_ASSIGN_OR_RETURN(
      slots_, EngineSlots::create(*loaded_.model, *loaded_.tokenizer, options_.parallel, ctx,
                                  options_.effective_threads()));
  ctx_ = ctx;
  SchedulerOptions scheduler_options;
  scheduler_options.on_finished = [this](const JobSummary& summary) {
    metrics_.record_job(summary);
  };
  scheduler_ = std::make_unique<SlotScheduler>(*slots_, std::move(scheduler_options));
  serving_.store(true, std::memory_order_release);
  load_progress_ = 1.0;
  // Only a loading worker becomes ready: a drain that began meanwhile stays a drain.
  WorkerPhase loading = WorkerPhase::kLoading;
  phase_.compare_exchange_strong(loading, WorkerPhase::kReady, std::memory_order_acq_rel);
  return ok_status();
}

void WorkerService::begin_drain() {
  WorkerPhase current = phase_.load();
  while (current != WorkerPhase::kStopped &&
         !phase_.compare_exchange_weak(current, WorkerPhase::kDraining)) {
  }
  if (serving()) scheduler_->close();
}

bool WorkerService::drain(std::chrono::steady_clock::time_point deadline) {
  if (!serving()) return true;
  scheduler_->close();
  if (scheduler_->wait_idle(deadline)) return true;
  scheduler_->abort_all(Error{ErrorCode::kUnavailable,
                              "the worker is shutting down; the request was ended before it "
                              "finished"});
  return false;
}

void WorkerService::stop() {
  if (serving()) scheduler_->stop();
  phase_ = WorkerPhase::kStopped;
}

std::string WorkerService::state_name() const {
  return worker_state_name(phase(), stats());
}

SchedulerStats WorkerService::stats() const {
  if (!serving()) return SchedulerStats{options_.parallel, 0, 0};
  return scheduler_->stats();
}

WorkerInfo WorkerService::info() const {
  WorkerInfo info;
  info.worker_id = options_.worker_id;
  info.hive_id = options_.hive_id;
  info.model = model_id();
  info.model_path = options_.model_path.string();
  info.device = options_.device;
  info.slots = stats();
  info.state = worker_state_name(phase(), info.slots);
  info.load_progress = load_progress();
  info.ctx = ctx_;
  info.parallel = options_.parallel;
  info.threads = options_.effective_threads();
  info.pid = int64_t(::getpid());
  info.port = port_;
  info.version = RBEE_VERSION;
  info.uptime_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started_at_).count();
  info.requests_total = metrics_.requests_total();
  if (serving()) info.chat_format = engine::chat_format_name(loaded_.chat_format.format);
  return info;
}

bool WorkerService::authorized(std::string_view authorization) {
  if (!token_.enabled()) return true;
  std::string token = token_.current();
  if (http::bearer_matches(authorization, token)) return true;
  token_.invalidate();  // the queen may have a new token: read it again next time
  return false;
}

Status WorkerService::accepting() const {
  const WorkerPhase phase_now = phase();
  if (phase_now == WorkerPhase::kDraining || phase_now == WorkerPhase::kStopped) {
    return make_error(ErrorCode::kUnavailable, "the worker is shutting down");
  }
  if (phase_now != WorkerPhase::kReady || !serving()) {
    return make_error(ErrorCode::kUnavailable, "the model is still loading; try again shortly");
  }
  return ok_status();
}

Result<Submission> WorkerService::submit_completion(const contracts::CompletionRequest& request) {
  return submit(contracts::OpenAiApi::kCompletions, request.prompt, false, request.params);
}

Result<Submission> WorkerService::submit_chat(const contracts::ChatCompletionRequest& request) {
  RBEE_RETURN_IF_ERROR(accepting());
  std::vector<engine::ChatMessage> messages;
  for (const auto& message : request.messages) {
    messages.push_back({message.role, message.content});
  }
  std::string prompt = engine::apply_chat_format(loaded_.chat_format.format, messages, true);
  return submit(contracts::OpenAiApi::kChatCompletions, prompt, true, request.params);
}

Result<Submission> WorkerService::submit(contracts::OpenAiApi api, std::string_view prompt,
                                         bool parse_special,
                                         const contracts::OpenAiGenerationParams& params) {
  RBEE_RETURN_IF_ERROR(accepting());
  GenerationRequest request;
  request.prompt_tokens = loaded_.tokenizer->encode(prompt, true, parse_special);
  const int64_t n_prompt = int64_t(request.prompt_tokens.size());
  if (n_prompt == 0) {
    return make_error(ErrorCode::kInvalidArgument,
                      "the prompt is empty and the model adds no BOS token");
  }
  if (n_prompt > ctx_) {
    return make_error(ErrorCode::kInvalidArgument, "prompt is " + std::to_string(n_prompt) +
                                                       " tokens; the context holds " +
                                                       std::to_string(ctx_) + " per slot");
  }
  request.options = generate_options(params, ctx_ - n_prompt, parse_special);
  Submission submission;
  RBEE_ASSIGN_OR_RETURN(submission.job, scheduler_->submit(std::move(request)));
  submission.meta.api = api;
  submission.meta.id = contracts::new_openai_response_id(api);
  submission.meta.created = std::chrono::duration_cast<std::chrono::seconds>(
                                std::chrono::system_clock::now().time_since_epoch())
                                .count();
  submission.meta.model = model_id();
  submission.meta.include_usage = params.stream && params.include_usage;
  return submission;
}

}  // namespace rbee::worker
