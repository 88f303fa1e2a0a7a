#pragma once

// What the worker's HTTP routes call: its lifecycle state, the loaded model, and inference
// requests turned into slot-scheduler jobs. The WorkerApp drives the lifecycle
// (starting → loading → ready → draining → stopped); routes read it from any thread.

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "common/result.hpp"
#include "contracts/openai.hpp"
#include "worker/engine_slots.hpp"
#include "worker/model_loader.hpp"
#include "worker/slot_scheduler.hpp"
#include "worker/worker_metrics.hpp"
#include "worker/worker_options.hpp"

namespace rbee::worker {

enum class WorkerPhase { kStarting, kLoading, kReady, kDraining, kStopped };

// The state name of the wire (contracts::kWorkerStates): "busy" is kReady with every slot
// taken, so a router looks elsewhere for a free slot.
std::string worker_state_name(WorkerPhase phase, const SchedulerStats& stats);

// A snapshot for `GET /v1/info`.
struct WorkerInfo {
  std::string worker_id;
  std::string hive_id;
  std::string model;  // the model id
  std::string model_path;
  std::string device;
  std::string state;
  double load_progress = 0;
  SchedulerStats slots;
  int64_t ctx = 0;  // tokens per slot (0 until loaded when --ctx is 0)
  int parallel = 0;
  int threads = 0;
  int64_t pid = 0;
  int port = 0;
  std::string version;
  double uptime_s = 0;
  int64_t requests_total = 0;
  std::string chat_format;  // empty until loaded
};

// A submitted inference request.
struct Submission {
  std::shared_ptr<GenerationJob> job;
  contracts::OpenAiResponseMeta meta;
};

// The cluster token from --token-file, read when first needed and again when a caller presents
// another one (the queen may have made a new one), at most once a second. Thread-safe.
class ClusterTokenCache {
 public:
  explicit ClusterTokenCache(std::filesystem::path path) : path_(std::move(path)) {}
  bool enabled() const { return !path_.empty(); }
  // The token, or empty while the file does not exist.
  std::string current();
  // Forgets the token so that the next current() reads the file again.
  void invalidate();

 private:
  std::filesystem::path path_;
  std::mutex mu_;
  // guarded by mu_
  std::string token_;
  std::chrono::steady_clock::time_point read_at_;
};

class WorkerService {
 public:
  explicit WorkerService(WorkerOptions options);
  ~WorkerService();

  // --- lifecycle (the WorkerApp) ---
  void set_port(int port) { port_ = port; }
  void set_loading(double progress);
  // The model is loaded: creates the slots and starts the scheduler, then reports ready.
  // Errors as EngineSlots::create.
  Status start_serving(LoadedModel loaded);
  // Refuses new requests from now on (503); running ones go on.
  void begin_drain();
  // Waits for running and queued requests until `deadline`, then ends those left with an
  // error. Returns whether all finished in time.
  bool drain(std::chrono::steady_clock::time_point deadline);
  // Stops the scheduler (after drain).
  void stop();

  // --- for the routes (any thread) ---
  WorkerPhase phase() const { return phase_.load(std::memory_order_acquire); }
  double load_progress() const { return load_progress_.load(); }
  std::string state_name() const;
  WorkerInfo info() const;
  SchedulerStats stats() const;
  WorkerMetrics& metrics() { return metrics_; }
  const WorkerOptions& options() const { return options_; }
  std::string model_id() const { return options_.effective_model_id(); }
  int64_t ctx() const { return ctx_.load(); }
  std::chrono::system_clock::time_point started_at() const { return started_at_wall_; }

  ClusterTokenCache& cluster_token() { return token_; }
  // Whether `authorization` (the header) carries the cluster token, or no token file was given.
  bool authorized(std::string_view authorization);

  // Tokenizes and queues a request. kUnavailable while loading or draining; kInvalidArgument
  // for an empty prompt or one longer than a slot's context (with both numbers);
  // kResourceExhausted when the queue is full.
  Result<Submission> submit_completion(const contracts::CompletionRequest& request);
  Result<Submission> submit_chat(const contracts::ChatCompletionRequest& request);

  // Streams that are being written (the drain waits for them to end).
  std::atomic<int>& open_streams() { return open_streams_; }

 private:
  // kUnavailable unless the worker is ready.
  Status accepting() const;
  Result<Submission> submit(contracts::OpenAiApi api, std::string_view prompt, bool parse_special,
                            const contracts::OpenAiGenerationParams& params);

  const WorkerOptions options_;
  const std::chrono::steady_clock::time_point started_at_;
  const std::chrono::system_clock::time_point started_at_wall_;
  int port_ = 0;
  std::atomic<WorkerPhase> phase_{WorkerPhase::kStarting};
  std::atomic<double> load_progress_{0};
  WorkerMetrics metrics_;
  ClusterTokenCache token_;
  std::atomic<int> open_streams_{0};
  // Whether the members below are set: they are written once, before serving_ turns true.
  bool serving() const { return serving_.load(std::memory_order_acquire); }
  std::atomic<bool> serving_{false};
  std::atomic<int64_t> ctx_{0};
  LoadedModel loaded_;
  std::unique_ptr<EngineSlots> slots_;
  std::unique_ptr<SlotScheduler> scheduler_;
};

}  // namespace rbee::worker
