#include "queen/scheduler.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>

#include "common/clock.hpp"
#include "common/logging.hpp"
#include "contracts/operations.hpp"
#include "queen/hive_forwarder.hpp"

namespace rbee::queen {

using contracts::Json;

namespace {

constexpr int64_t kMaxDefaultContext = 4096;
// How often a queued request looks again even when nothing announced a change.
constexpr std::chrono::milliseconds kQueuePoll{200};

std::string describe_memory(int64_t bytes) {
  double value = static_cast<double>(bytes);
  if (value >= 1024.0 * 1024 * 1024)
    return fmt::format("{:.1f} GiB", value / (1024.0 * 1024 * 1024));
  if (value >= 1024.0 * 1024) return fmt::format("{:.1f} MiB", value / (1024.0 * 1024));
  return fmt::format("{:.1f} KiB", value / 1024.0);
}

int64_t json_int(const Json& object, const char* key) {
  auto it = object.find(key);
  return it != object.end() && it->is_number_integer() ? it->get<int64_t>() : 0;
}

std::string json_string(const Json& object, const char* key) {
  auto it = object.find(key);
  return it != object.end() && it->is_string() ? it->get<std::string>() : std::string();
}

int64_t free_ram_bytes(const HiveEntry& hive) {
  for (const auto& device : hive.last_beat.devices) {
    if (device.kind == "cpu") return device.ram_free_bytes;
  }
  return 0;
}

// A model as a hive reports it: id, size and the shape facts for the memory estimate.
struct HostedModel {
  std::string hive_id;
  std::string id;
  int64_t size_bytes = 0;
  int64_t kv_bytes_per_token = 0;
  int64_t context_length = 0;
  int64_t free_ram_bytes = 0;
};

// A catalog entry from a model_download result ({"model": {id, size_bytes, metadata:{info}}}).
HostedModel hosted_from_entry(const std::string& hive_id, const Json& entry) {
  HostedModel hosted;
  hosted.hive_id = hive_id;
  hosted.id = json_string(entry, "id");
  hosted.size_bytes = json_int(entry, "size_bytes");
  if (auto metadata = entry.find("metadata"); metadata != entry.end() && metadata->is_object()) {
    if (auto info = metadata->find("info"); info != metadata->end() && info->is_object()) {
      hosted.kv_bytes_per_token = json_int(*info, "kv_bytes_per_token");
      hosted.context_length = json_int(*info, "context_length");
    }
  }
  return hosted;
}

}  // namespace

WorkerLease::WorkerLease(WorkerRegistry& registry, WorkerView worker)
    : registry_(&registry), worker_(std::move(worker)) {}

WorkerLease::~WorkerLease() {
  if (registry_) registry_->release(worker_.beat.worker_id);
}

WorkerLease::WorkerLease(WorkerLease&& other) noexcept
    : registry_(std::exchange(other.registry_, nullptr)), worker_(std::move(other.worker_)) {}

Scheduler::Scheduler(SchedulerConfig config, WorkerRegistry& workers, const HiveRegistry& hives,
                     jobs::JobRegistry& jobs, const std::string& cluster_token)
    : config_(config),
      workers_(workers),
      hives_(hives),
      jobs_(jobs),
      cluster_token_(cluster_token) {}

Scheduler::~Scheduler() {
  stop();
}

size_t Scheduler::queue_depth(const std::string& model) const {
  std::lock_guard lock(mu_);
  auto it = queues_.find(model);
  return it == queues_.end() ? 0 : it->second.size();
}

Result<WorkerLease> Scheduler::acquire(const Placement& placement, const PlacementEvents& events,
                                       std::stop_token stop) {
  WorkerFilter filter{placement.model, placement.hive_id, placement.worker_id, placement.exclude};
  const int64_t deadline = now_steady_ms() + static_cast<int64_t>(config_.queue_timeout_s * 1000);
  uint64_t ticket = 0;  // 0 = not queued
  auto leave_queue = [&] {
    if (ticket == 0) return;
    std::lock_guard lock(mu_);
    auto& queue = queues_[placement.model];
    queue.erase(std::remove(queue.begin(), queue.end(), ticket), queue.end());
    if (queue.empty()) queues_.erase(placement.model);
    ticket = 0;
  };
  struct QueueExit {
    std::function<void()> leave;
    ~QueueExit() { leave(); }
  } queue_exit{leave_queue};

  int provisions = 0;
  while (true) {
    if (stop.stop_requested()) return jobs::JobContext::cancelled_error();
    uint64_t seen = workers_.change_count();
    bool my_turn = true;
    {
      std::lock_guard lock(mu_);
      auto it = queues_.find(placement.model);
      if (it != queues_.end() && !it->second.empty()) my_turn = it->second.front() == ticket;
    }
    if (my_turn) {
      if (auto worker = workers_.try_acquire(filter)) {
        leave_queue();
        return WorkerLease(workers_, std::move(*worker));
      }
    }
    if (!workers_.has_candidate(filter)) {
      if (!placement.worker_id.empty()) {
        auto known = workers_.get(placement.worker_id);
        if (!known)
          return Error{ErrorCode::kNotFound, "unknown worker '" + placement.worker_id + "'"};
        return Error{ErrorCode::kUnavailable, "worker '" + placement.worker_id + "' is " +
                                                  known->state + " and cannot take requests"};
      }
      if (++provisions > 2) {
        return Error{ErrorCode::kUnavailable,
                     "workers for " + placement.model + " keep going away; giving up"};
      }
      leave_queue();
      RBEE_RETURN_IF_ERROR(run_or_follow_provisioning(placement, events, stop));
      continue;
    }
    if (ticket == 0) {
      std::lock_guard lock(mu_);
      auto& queue = queues_[placement.model];
      if (static_cast<int64_t>(queue.size()) >= config_.max_queue_per_model) {
        return Error{ErrorCode::kResourceExhausted,
                     fmt::format("every worker for {} is busy and {} requests are already "
                                 "waiting; try again shortly",
                                 placement.model, queue.size())};
      }
      ticket = next_ticket_++;
      queue.push_back(ticket);
      events("narration", Json{{"action", "infer_queued"},
                               {"human", fmt::format("Every worker for {} is busy; waiting "
                                                     "in line ({} ahead)",
                                                     placement.model, queue.size() - 1)}});
      continue;
    }
    if (now_steady_ms() > deadline) {
      return Error{ErrorCode::kUnavailable,
                   fmt::format("no worker for {} freed a slot within {:.0f} s", placement.model,
                               config_.queue_timeout_s)};
    }
    workers_.wait_for_change(seen, kQueuePoll);
  }
}

Status Scheduler::run_or_follow_provisioning(const Placement& placement,
                                             const PlacementEvents& events, std::stop_token stop) {
  std::string key = placement.model + "@" + placement.hive_id;
  std::shared_ptr<jobs::Job> job;
  {
    std::lock_guard lock(mu_);
    auto it = provisioning_.find(key);
    if (it != provisioning_.end() && !it->second->finished()) {
      job = it->second;
    } else {
      auto submitted = jobs_.submit("worker_provision", [this, placement](jobs::JobContext& ctx) {
        return provision(placement, ctx);
      });
      if (!submitted) return std::move(submitted).error();
      job = *submitted;
      provisioning_[key] = job;
    }
  }
  events("narration",
         Json{{"action", "worker_provision"},
              {"human", "Preparing a worker for " + placement.model + " (job " + job->id() + ")"},
              {"provision_job_id", job->id()}});
  uint64_t last = 0;
  bool finished = false;
  while (!finished) {
    // A waiting request that goes away leaves the shared provisioning running for the others.
    if (stop.stop_requested()) return jobs::JobContext::cancelled_error();
    for (auto& event : job->events_after(last, std::chrono::milliseconds(250), &finished)) {
      last = event.id;
      if (event.name != "narration" && event.name != "progress") continue;
      auto data = contracts::parse_json_text(event.data);
      if (data) events(event.name, *data);
    }
  }
  auto info = job->info();
  if (info.state == contracts::JobState::kCompleted) return ok_status();
  if (info.error) {
    // A hive that may not read a model (HuggingFace answers 401 for repositories that do not
    // exist) means, to the client, a model it cannot have: not a problem with its own key.
    if (info.error->code == ErrorCode::kUnauthenticated) {
      return Error{ErrorCode::kNotFound, info.error->message};
    }
    return *info.error;
  }
  return Error{ErrorCode::kUnavailable, "preparing a worker for " + placement.model + " was " +
                                            contracts::to_string(info.state)};
}

Status Scheduler::provision(const Placement& placement, jobs::JobContext& job) {
  std::vector<HiveEntry> online;
  for (auto& hive : hives_.list()) {
    if (hive.state != "online") continue;
    if (!placement.hive_id.empty() && hive.last_beat.hive_id != placement.hive_id) continue;
    online.push_back(std::move(hive));
  }
  if (online.empty()) {
    return Error{ErrorCode::kUnavailable,
                 placement.hive_id.empty()
                     ? std::string("no hive is online to run ") + placement.model
                     : "hive '" + placement.hive_id + "' is not online"};
  }

  std::vector<HostedModel> hosted;
  for (const auto& hive : online) {
    for (const auto& model : hive.last_beat.models) {
      if (!model.is_object() || !workers_.matches(placement.model, json_string(model, "id"))) {
        continue;
      }
      HostedModel candidate;
      candidate.hive_id = hive.last_beat.hive_id;
      candidate.id = json_string(model, "id");
      candidate.size_bytes = json_int(model, "size_bytes");
      candidate.kv_bytes_per_token = json_int(model, "kv_bytes_per_token");
      candidate.context_length = json_int(model, "context_length");
      candidate.free_ram_bytes = free_ram_bytes(hive);
      hosted.push_back(candidate);
    }
  }

  if (hosted.empty()) {
    // Download where there is the most room.
    auto roomiest = std::max_element(
        online.begin(), online.end(),
        [](const auto& a, const auto& b) { return free_ram_bytes(a) < free_ram_bytes(b); });
    const std::string& hive_id = roomiest->last_beat.hive_id;
    job.narrate("model_download",
                "No hive has " + placement.model + " yet; fetching it onto hive '" + hive_id + "'");
    contracts::ModelDownloadOperation download;
    download.hive_id = hive_id;
    download.model = placement.model;
    Json downloaded;
    RBEE_RETURN_IF_ERROR(forward_to_hive(hives_, cluster_token_, download, job,
                                         [&](const Json& data) { downloaded = data; }));
    if (!downloaded.contains("model") || !downloaded["model"].is_object()) {
      return Error{ErrorCode::kInternal, "hive '" + hive_id + "' downloaded " + placement.model +
                                             " but did not say which model it became"};
    }
    HostedModel model = hosted_from_entry(hive_id, downloaded["model"]);
    model.free_ram_bytes = free_ram_bytes(*roomiest);
    workers_.add_alias(placement.model, model.id);
    hosted.push_back(model);
  }

  const int64_t parallel = config_.default_parallel;
  auto context_for = [&](const HostedModel& model) {
    if (config_.default_ctx > 0) return static_cast<int64_t>(config_.default_ctx);
    return model.context_length > 0 ? std::min(model.context_length, kMaxDefaultContext)
                                    : kMaxDefaultContext;
  };
  auto need_for = [&](const HostedModel& model) {
    return model.size_bytes + model.kv_bytes_per_token * context_for(model) * parallel;
  };
  // The hive with the most room to spare after loading; hives that report no memory figure
  // are taken on trust.
  const HostedModel* chosen = nullptr;
  int64_t best_spare = INT64_MIN;
  for (const auto& model : hosted) {
    int64_t spare = model.free_ram_bytes == 0 ? 0 : model.free_ram_bytes - need_for(model);
    if (model.free_ram_bytes != 0 && spare < 0) continue;
    if (spare > best_spare) {
      best_spare = spare;
      chosen = &model;
    }
  }
  if (!chosen) {
    std::string detail;
    for (const auto& model : hosted) {
      detail += fmt::format("{}hive '{}' has {} free", detail.empty() ? "" : ", ", model.hive_id,
                            describe_memory(model.free_ram_bytes));
    }
    const auto& first = hosted.front();
    return Error{
        ErrorCode::kUnavailable,
        fmt::format("{} needs about {} (weights {} + KV cache {} for {} tokens x {} "
                    "slots), but {}",
                    first.id, describe_memory(need_for(first)), describe_memory(first.size_bytes),
                    describe_memory(need_for(first) - first.size_bytes), context_for(first),
                    parallel, detail)};
  }
  workers_.add_alias(placement.model, chosen->id);

  int64_t ctx = context_for(*chosen);
  job.narrate(
      "worker_spawn",
      fmt::format("Starting a worker for {} on hive '{}' ({} tokens x {} slots, about {})",
                  chosen->id, chosen->hive_id, ctx, parallel, describe_memory(need_for(*chosen))));
  contracts::WorkerSpawnOperation spawn;
  spawn.hive_id = chosen->hive_id;
  spawn.model = chosen->id;
  spawn.ctx = ctx;
  spawn.parallel = parallel;
  Json spawned;
  RBEE_RETURN_IF_ERROR(forward_to_hive(hives_, cluster_token_, spawn, job,
                                       [&](const Json& data) { spawned = data; }));
  const Json worker = spawned.value("worker", Json::object());
  contracts::WorkerHeartbeat beat;
  beat.worker_id = json_string(worker, "worker_id");
  beat.hive_id = chosen->hive_id;
  beat.url = json_string(worker, "url");
  beat.model = json_string(worker, "model").empty() ? chosen->id : json_string(worker, "model");
  beat.device = json_string(worker, "device").empty() ? "cpu" : json_string(worker, "device");
  beat.state = "ready";  // the hive answered only once /health said so
  beat.load_progress = 1;
  beat.slots_total = json_int(worker, "parallel") > 0 ? json_int(worker, "parallel") : parallel;
  beat.ctx = json_int(worker, "ctx") > 0 ? json_int(worker, "ctx") : ctx;
  beat.pid = json_int(worker, "pid");
  if (beat.worker_id.empty() || beat.url.empty()) {
    return Error{ErrorCode::kInternal, "hive '" + chosen->hive_id +
                                           "' started a worker but did not say where it listens"};
  }
  workers_.record(beat);
  job.narrate("worker_ready",
              "Worker " + beat.worker_id + " serves " + beat.model + " at " + beat.url);
  job.result(Json{{"worker", worker}});
  return ok_status();
}

Status Scheduler::retire(const std::string& worker_id, jobs::JobContext& job) {
  auto worker = workers_.get(worker_id);
  if (!worker) return Error{ErrorCode::kNotFound, "unknown worker '" + worker_id + "'"};
  if (worker->state == "stopped" || worker->state == "failed") {
    job.narrate("worker_retire", "Worker " + worker_id + " is already " + worker->state);
    job.result(Json{{"worker", to_json(*worker)}});
    return ok_status();
  }
  workers_.mark_draining(worker_id);
  job.narrate("worker_retire", fmt::format("Retiring worker {} on hive '{}' (pid {})", worker_id,
                                           worker->beat.hive_id, worker->beat.pid));
  contracts::WorkerProcessDeleteOperation del;
  del.hive_id = worker->beat.hive_id;
  del.pid = worker->beat.pid;
  auto stopped = forward_to_hive(hives_, cluster_token_, del, job, [](const Json&) {});
  if (!stopped && stopped.error().code != ErrorCode::kNotFound) return stopped;
  workers_.mark_gone(worker_id, "stopped", "retired");
  job.result(Json{{"worker", to_json(*workers_.get(worker_id))}});
  return ok_status();
}

void Scheduler::start() {
  if (config_.idle_retire_s <= 0) return;
  idle_thread_ = std::jthread([this](std::stop_token stop) { retire_idle_workers(stop); });
}

void Scheduler::stop() {
  if (idle_thread_.joinable()) {
    idle_thread_.request_stop();
    idle_thread_.join();
  }
}

void Scheduler::retire_idle_workers(std::stop_token stop) {
  const auto idle_ms = static_cast<int64_t>(config_.idle_retire_s * 1000);
  const auto period = std::chrono::milliseconds(std::clamp<int64_t>(idle_ms / 4, 50, 1000));
  std::mutex mu;
  std::condition_variable_any wake;
  while (!stop.stop_requested()) {
    for (const auto& worker : workers_.idle_for(idle_ms)) {
      const std::string id = worker.beat.worker_id;
      workers_.mark_draining(id);  // before the job starts, so no request slips in
      logger("queen")->info("worker {} idle for {} s: retiring it", id, worker.idle_ms / 1000);
      auto submitted = jobs_.submit("active_worker_retire",
                                    [this, id](jobs::JobContext& job) { return retire(id, job); });
      if (!submitted) logger("queen")->warn("cannot retire {}: {}", id, submitted.error().message);
    }
    std::unique_lock lock(mu);
    wake.wait_for(lock, stop, period, [] { return false; });
  }
}

}  // namespace rbee::queen
