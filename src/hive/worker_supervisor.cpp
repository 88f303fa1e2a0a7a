#include "hive/worker_supervisor.hpp"

#include <fmt/format.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/wait.h>

#include "catalog/worker_catalog.hpp"
#include "common/clock.hpp"
#include "common/logging.hpp"
#include "common/random.hpp"
#include "http/advertised_address.hpp"
#include "lifecycle/health_check.hpp"
#include "lifecycle/process.hpp"

namespace rbee::hive {
namespace {

using contracts::Json;
using lifecycle::ExitStatus;

constexpr size_t kLastLogLines = 20;
constexpr size_t kExitsKept = 16;
constexpr int64_t kExitMemoryMs = 120 * 1000;
// The worker contract's exit codes (ARCHITECTURE.md §7).
constexpr int kModelFailedExitCode = 2;
constexpr int kPortInUseExitCode = 3;
constexpr int kMaxPortRetries = 2;

std::chrono::milliseconds to_ms(double seconds) {
  return std::chrono::milliseconds(static_cast<int64_t>(seconds * 1000));
}

std::string exit_meaning(const ExitStatus& status) {
  if (!status.known || status.signal != 0) return "";
  if (status.exit_code == kModelFailedExitCode) return " (the model failed to load)";
  if (status.exit_code == kPortInUseExitCode) return " (its port was in use)";
  return "";
}

std::string with_log_lines(std::string message, const std::vector<std::string>& lines,
                           const std::string& log_file) {
  if (lines.empty()) return message + " (its log " + log_file + " is empty)";
  message += "; last lines of " + log_file + ":";
  for (const auto& line : lines) message += "\n  " + line;
  return message;
}

Json heartbeat_entry(const WorkerRecord& record, const char* state) {
  Json entry = summary_json(record);
  entry["state"] = state;
  entry["exit_code"] = 0;
  entry["signal"] = 0;
  return entry;
}

}  // namespace

WorkerSupervisor::WorkerSupervisor(WorkerSupervisorOptions options, OnEvent on_event)
    : options_(std::move(options)),
      on_event_(std::move(on_event)),
      records_(options_.paths.state_dir / "workers"),
      ports_(options_.config.port_min, options_.config.port_max, options_.worker_host) {}

WorkerSupervisor::~WorkerSupervisor() = default;

std::filesystem::path WorkerSupervisor::log_file(const std::string& worker_id) const {
  return options_.paths.log_dir() / "workers" / (worker_id + ".log");
}

// ---- spawning ----

Result<std::string> WorkerSupervisor::claim_worker_id(const std::string& requested) {
  std::lock_guard lock(mu_);
  auto user_of = [this](const std::string& id) -> std::optional<pid_t> {
    if (claimed_ids_.contains(id)) return 0;
    for (const auto& [pid, live] : live_) {
      if (live.record.worker_id == id) return pid;
    }
    return std::nullopt;
  };
  if (requested.empty()) {
    // worker ids are at most 64 characters (contracts::validate_worker_id).
    std::string prefix = options_.hive_id.substr(0, 57) + "-";
    for (int i = 0; i < 32; ++i) {
      std::string id = prefix + random_hex(3);
      if (user_of(id)) continue;
      claimed_ids_.insert(id);
      return id;
    }
    return make_error(ErrorCode::kInternal, "could not pick an unused worker id");
  }
  if (auto pid = user_of(requested)) {
    return make_error(ErrorCode::kAlreadyExists,
                      "worker id '" + requested + "' is in use" +
                          (*pid > 0 ? " by pid " + std::to_string(*pid) : " by a spawn") +
                          " on hive '" + options_.hive_id + "'");
  }
  claimed_ids_.insert(requested);
  return requested;
}

void WorkerSupervisor::release_worker_id(const std::string& worker_id) {
  std::lock_guard lock(mu_);
  claimed_ids_.erase(worker_id);
}

WorkerRecord WorkerSupervisor::record_for(const WorkerLaunch& launch, const std::string& worker_id,
                                          int port) const {
  const std::string host = http::advertised_host(options_.worker_host, options_.queen_url);
  WorkerRecord record;
  record.worker_id = worker_id;
  record.port = port;
  record.url = "http://" + host + ":" + std::to_string(port);
  record.model = launch.model_id;
  record.model_path = launch.model_path.string();
  record.worker_type = launch.worker_type;
  record.device = launch.device;
  record.ctx = launch.ctx;
  record.parallel = launch.parallel;
  record.threads = launch.threads;
  record.binary = launch.binary.string();
  record.log_file = log_file(worker_id).string();
  record.started_ms = now_unix_ms();
  record.argv = {launch.binary.string(),
                 "--worker-id",
                 worker_id,
                 "--model",
                 launch.model_path.string(),
                 "--port",
                 std::to_string(port),
                 "--host",
                 options_.worker_host,
                 "--device",
                 launch.device,
                 "--queen-url",
                 options_.queen_url,
                 "--hive-id",
                 options_.hive_id,
                 "--token-file",
                 options_.paths.token_file().string(),
                 "--model-id",
                 launch.model_id,
                 "--parallel",
                 std::to_string(launch.parallel)};
  if (launch.ctx > 0) {
    record.argv.insert(record.argv.end(), {"--ctx", std::to_string(launch.ctx)});
  }
  if (launch.threads > 0) {
    record.argv.insert(record.argv.end(), {"--threads", std::to_string(launch.threads)});
  }
  // Not in the worker contract (ARCHITECTURE.md §7): only the built-in worker knows it.
  if (!options_.config.repack_weights && launch.worker_type == catalog::kBuiltinCpuWorkerType) {
    record.argv.push_back("--no-repack");
  }
  return record;
}

Result<WorkerRecord> WorkerSupervisor::start_process(const WorkerLaunch& launch,
                                                     const std::string& worker_id,
                                                     lifecycle::PortLease port) {
  WorkerRecord record = record_for(launch, worker_id, port.port());
  // Workers run in a session of their own: a terminal's Ctrl-C or a dying hive does not take
  // them along, and the process group lets the hive stop whatever a worker started.
  RBEE_ASSIGN_OR_RETURN(record.pid, lifecycle::spawn_process({record.argv, record.log_file, true}));
  // The start time is fixed at fork, so reading it after the spawn cannot see another process.
  if (auto ticks = lifecycle::process_start_ticks(record.pid)) record.start_ticks = *ticks;
  {
    std::lock_guard lock(mu_);
    live_.emplace(record.pid, Live{record, std::move(port), true, false, ""});
  }
  Status written = records_.write(record);
  Status watched = watcher_.watch(
      record.pid, [this](pid_t pid, const ExitStatus& status) { on_exit(pid, status); });
  if (!watched || !written) {
    // Not watched means not stoppable through the watcher: kill it directly.
    if (!watched) {
      ::kill(-record.pid, SIGKILL);
      ::waitpid(record.pid, nullptr, 0);
      std::lock_guard lock(mu_);
      live_.erase(record.pid);
    } else {
      (void)watcher_.stop({record.pid}, std::chrono::milliseconds(0), true);
    }
    records_.remove(worker_id);
    return watched ? std::move(written).error() : std::move(watched).error();
  }
  return record;
}

Status WorkerSupervisor::wait_ready(const WorkerRecord& record, const WorkerLaunch& launch,
                                    jobs::JobContext& job) {
  pid_t pid = record.pid;
  lifecycle::HealthWait wait;
  wait.base_url = record.url;
  wait.timeout = to_ms(options_.config.ready_timeout_s);
  wait.pause = [this, pid, &job](std::chrono::milliseconds pause) {
    std::unique_lock lock(mu_);
    auto over = [&] { return !live_.contains(pid) || stopping_all_; };
    changed_.wait_for(lock, job.stop_token(), pause, over);
    return !over() && !job.cancelled();
  };
  bool narrated = false;
  wait.on_loading = [&](double fraction) {
    if (!narrated) {
      narrated = true;
      job.narrate("worker_loading", "Loading " + launch.model_id);
    }
    job.progress(
        {"load", launch.model_id, false, static_cast<int64_t>(fraction * 100 + 0.5), 100, 0, -1});
  };
  return lifecycle::wait_until_healthy(wait);
}

Error WorkerSupervisor::failed_start(pid_t pid, const WorkerRecord& record, Error error) {
  records_.remove(record.worker_id);
  WorkerExit exit;
  if (auto known = exit_of(pid)) exit = *known;
  exit.record = record;
  exit.reason = error.message;
  if (exit.last_log_lines.empty()) {
    exit.last_log_lines = lifecycle::last_lines(record.log_file, kLastLogLines);
  }
  error.message = with_log_lines(std::move(error.message), exit.last_log_lines, record.log_file);
  logger("hive")->warn("worker {} failed to start: {}", record.worker_id, exit.reason);
  on_event_(event_for(exit, "worker_failed"));
  return error;
}

Result<WorkerRecord> WorkerSupervisor::spawn(WorkerLaunch launch, jobs::JobContext& job) {
  RBEE_ASSIGN_OR_RETURN(std::string worker_id, claim_worker_id(launch.worker_id));
  struct Claim {
    WorkerSupervisor* self;
    std::string id;
    ~Claim() { self->release_worker_id(id); }
  } claim{this, worker_id};
  auto log = log_file(worker_id);
  std::error_code ec;
  std::filesystem::create_directories(log.parent_path(), ec);
  std::filesystem::remove(log, ec);  // its last lines must be this run's

  for (int attempt = 0;; ++attempt) {
    RBEE_ASSIGN_OR_RETURN(lifecycle::PortLease port, ports_.allocate());
    RBEE_ASSIGN_OR_RETURN(WorkerRecord record, start_process(launch, worker_id, std::move(port)));
    pid_t pid = record.pid;
    job.narrate("worker_start",
                fmt::format("Started worker {} (pid {}) for {} on port {}; log: {}", worker_id, pid,
                            launch.model_id, record.port, record.log_file));
    Status ready = wait_ready(record, launch, job);
    bool serving = false;
    if (ready) {
      std::lock_guard lock(mu_);
      auto it = live_.find(pid);
      serving = it != live_.end();
      if (serving) it->second.spawning = false;
    }
    if (serving) {
      job.narrate("worker_ready",
                  fmt::format("Worker {} is ready at {} (pid {})", worker_id, record.url, pid));
      return record;
    }

    // Not ready: it exited, did not become ready in time, or the spawn was called off.
    bool timed_out = !ready && ready.error().code == ErrorCode::kDeadlineExceeded;
    std::string stop_reason;
    {
      std::lock_guard lock(mu_);
      auto it = live_.find(pid);
      if (it != live_.end()) {
        stop_reason = timed_out       ? "not ready in time: killed by the hive"
                      : stopping_all_ ? "stopped at hive shutdown while loading"
                                      : "stopped: the spawn was cancelled";
        it->second.stop_reason = stop_reason;
      }
    }
    if (!stop_reason.empty()) {
      // A worker that is late is killed at once; one that is called off may drain.
      (void)watcher_.stop(
          {pid}, timed_out ? std::chrono::milliseconds(0) : to_ms(options_.config.stop_grace_s),
          true);
    }
    // The exit callback has run once wait_exit returns: the record and port are released.
    auto status = watcher_.wait_exit(pid, std::chrono::seconds(10));
    if (stop_reason.empty() && status && status->known && status->exit_code == kPortInUseExitCode &&
        attempt < kMaxPortRetries) {
      job.narrate("worker_port_taken",
                  fmt::format("Port {} was taken by another program; starting worker {} on "
                              "another port",
                              record.port, worker_id),
                  "warn");
      std::lock_guard lock(mu_);
      std::erase_if(exits_, [pid](const WorkerExit& exit) { return exit.record.pid == pid; });
      continue;
    }
    if (timed_out && !stop_reason.empty()) {
      return failed_start(
          pid, record,
          Error{
              ErrorCode::kDeadlineExceeded,
              fmt::format("worker {} (pid {}) was not ready within {:g} s and was killed ({})",
                          worker_id, pid, options_.config.ready_timeout_s, ready.error().message)});
    }
    if (!stop_reason.empty()) {
      return failed_start(pid, record,
                          Error{ErrorCode::kCancelled,
                                fmt::format("worker {} (pid {}) {}", worker_id, pid, stop_reason)});
    }
    std::string how = status ? lifecycle::describe_exit(*status) + exit_meaning(*status) : "ended";
    return failed_start(
        pid, record,
        Error{ErrorCode::kInternal,
              fmt::format("worker {} (pid {}) {} before it was ready", worker_id, pid, how)});
  }
}

// ---- watching ----

void WorkerSupervisor::on_exit(pid_t pid, const ExitStatus& status) {
  WorkerExit exit;
  bool report = false;
  {
    std::lock_guard lock(mu_);
    auto it = live_.find(pid);
    if (it == live_.end()) return;
    Live live = std::move(it->second);
    live_.erase(it);
    exit.record = live.record;
    exit.status = status;
    std::string how = lifecycle::describe_exit(status) + exit_meaning(status);
    exit.reason = live.stop_reason.empty() ? "the worker process " + how
                                           : live.stop_reason + " (" + how + ")";
    exit.last_log_lines = lifecycle::last_lines(live.record.log_file, kLastLogLines);
    exit.ended_ms = now_unix_ms();
    report = !live.spawning;
    exits_.push_back(exit);
    while (exits_.size() > kExitsKept) exits_.pop_front();
    // Under the lock: a new worker with this id may write its record right after.
    records_.remove(live.record.worker_id);
    // `live` goes out of scope here: its port is free again.
  }
  changed_.notify_all();
  logger("hive")->info("worker {} (pid {}): {}", exit.record.worker_id, pid, exit.reason);
  if (report) on_event_(event_for(exit, "worker_exited"));
}

std::optional<WorkerExit> WorkerSupervisor::exit_of(pid_t pid) const {
  std::lock_guard lock(mu_);
  for (auto it = exits_.rbegin(); it != exits_.rend(); ++it) {
    if (it->record.pid == pid) return *it;
  }
  return std::nullopt;
}

contracts::HiveWorkerEvent WorkerSupervisor::event_for(const WorkerExit& exit,
                                                       const std::string& kind) const {
  contracts::HiveWorkerEvent event;
  event.hive_id = options_.hive_id;
  event.kind = kind;
  event.worker_id = exit.record.worker_id;
  event.pid = exit.record.pid;
  event.exit_code = exit.status.known ? exit.status.exit_code : -1;
  event.signal = exit.status.signal;
  event.model = exit.record.model;
  event.reason = exit.reason;
  event.last_log_lines = exit.last_log_lines;
  return event;
}

void WorkerSupervisor::recover_after_restart() {
  auto log = logger("hive");
  auto loaded = records_.load_all();
  for (const auto& [path, why] : loaded.invalid) {
    log->warn("ignoring worker record {}: {}", path.string(), why);
  }
  for (auto& record : loaded.records) {
    auto info = lifecycle::read_process_info(record.pid);
    bool same = info && !info->zombie() && info->start_ticks == record.start_ticks &&
                info->cmdline == record.argv;
    if (same) {
      auto port = lifecycle::PortAllocator::reserve(record.port);
      {
        std::lock_guard lock(mu_);
        live_.emplace(record.pid, Live{record, port ? std::move(*port) : lifecycle::PortLease(),
                                       false, true, ""});
      }
      Status watched = watcher_.watch(
          record.pid, [this](pid_t pid, const ExitStatus& status) { on_exit(pid, status); });
      if (watched) {
        log->info("adopted worker {} (pid {}, {}) serving {}", record.worker_id, record.pid,
                  record.url, record.model);
        continue;
      }
      std::lock_guard lock(mu_);
      live_.erase(record.pid);  // it ended between the check and the watch
    }
    WorkerExit exit;
    exit.record = record;
    exit.reason = "the worker process ended while the hive was not running";
    exit.last_log_lines = lifecycle::last_lines(record.log_file, kLastLogLines);
    exit.ended_ms = now_unix_ms();
    {
      std::lock_guard lock(mu_);
      exits_.push_back(exit);
      while (exits_.size() > kExitsKept) exits_.pop_front();
      records_.remove(record.worker_id);
    }
    log->warn("worker {} (pid {}) {}", record.worker_id, record.pid, exit.reason);
    on_event_(event_for(exit, "worker_exited"));
  }
}

// ---- listing and stopping ----

std::vector<WorkerProcessView> WorkerSupervisor::processes() const {
  std::vector<WorkerProcessView> views;
  {
    std::lock_guard lock(mu_);
    for (const auto& [pid, live] : live_) {
      views.push_back({live.record, {}, !live.spawning, live.adopted});
    }
  }
  std::erase_if(views, [](WorkerProcessView& view) {
    auto info = lifecycle::read_process_info(view.record.pid);
    if (!info || info->zombie()) return true;  // its exit is being handled
    view.info = std::move(*info);
    return false;
  });
  std::sort(views.begin(), views.end(),
            [](const auto& a, const auto& b) { return a.record.started_ms < b.record.started_ms; });
  return views;
}

Result<WorkerProcessView> WorkerSupervisor::process(pid_t pid) const {
  WorkerProcessView view;
  bool ours = false;
  {
    std::lock_guard lock(mu_);
    auto it = live_.find(pid);
    if (it != live_.end()) {
      ours = true;
      view = {it->second.record, {}, !it->second.spawning, it->second.adopted};
    }
  }
  auto info = lifecycle::read_process_info(pid);
  if (!info || info->zombie()) {
    return make_error(ErrorCode::kNotFound, "no worker process with pid " + std::to_string(pid) +
                                                " on hive '" + options_.hive_id + "'");
  }
  if (!ours) {
    std::string program = info->cmdline.empty() ? "" : " (" + info->cmdline.front() + ")";
    return make_error(ErrorCode::kFailedPrecondition,
                      "process " + std::to_string(pid) + program + " is not a worker that hive '" +
                          options_.hive_id + "' started; refusing to touch it");
  }
  view.info = std::move(*info);
  return view;
}

std::vector<WorkerExit> WorkerSupervisor::recent_exits() const {
  std::lock_guard lock(mu_);
  int64_t oldest = now_unix_ms() - kExitMemoryMs;
  std::vector<WorkerExit> out;
  for (const auto& exit : exits_) {
    if (exit.ended_ms >= oldest) out.push_back(exit);
  }
  return out;
}

Result<WorkerStopResult> WorkerSupervisor::stop(pid_t pid) {
  RBEE_ASSIGN_OR_RETURN(WorkerProcessView view, process(pid));
  {
    std::lock_guard lock(mu_);
    auto it = live_.find(pid);
    if (it != live_.end()) it->second.stop_reason = "stopped by worker_process_delete";
  }
  auto grace = to_ms(options_.config.stop_grace_s);
  auto outcome = watcher_.stop({pid}, grace, true).front();
  if (!outcome.gone) {
    return make_error(ErrorCode::kInternal,
                      fmt::format("worker {} (pid {}) is still running after SIGKILL",
                                  view.record.worker_id, pid));
  }
  WorkerStopResult result;
  result.record = view.record;
  result.status = outcome.status;
  result.forced = outcome.forced;
  result.how =
      outcome.forced
          ? fmt::format("it did not stop within {:g} s of SIGTERM and was {}",
                        options_.config.stop_grace_s, lifecycle::describe_exit(outcome.status))
          : "it stopped after SIGTERM: " + lifecycle::describe_exit(outcome.status);
  return result;
}

void WorkerSupervisor::stop_all() {
  std::vector<pid_t> pids;
  {
    std::lock_guard lock(mu_);
    stopping_all_ = true;
    for (auto& [pid, live] : live_) {
      live.stop_reason = "stopped at hive shutdown";
      pids.push_back(pid);
    }
  }
  changed_.notify_all();
  if (pids.empty()) return;
  logger("hive")->info("stopping {} worker(s)", pids.size());
  (void)watcher_.stop(pids, to_ms(options_.config.stop_grace_s), true);
}

bool WorkerSupervisor::model_in_use(const std::string& model_id) const {
  std::lock_guard lock(mu_);
  for (const auto& [pid, live] : live_) {
    if (live.record.model == model_id) return true;
  }
  return false;
}

Json WorkerSupervisor::heartbeat_entries() const {
  Json entries = Json::array();
  {
    std::lock_guard lock(mu_);
    for (const auto& [pid, live] : live_) {
      entries.push_back(heartbeat_entry(live.record, "running"));
    }
  }
  for (const auto& exit : recent_exits()) {
    Json entry = heartbeat_entry(exit.record, "exited");
    entry["exit_code"] = exit.status.known ? exit.status.exit_code : -1;
    entry["signal"] = exit.status.signal;
    entry["reason"] = exit.reason;
    entry["last_log_lines"] = exit.last_log_lines;
    entries.push_back(entry);
  }
  return entries;
}

}  // namespace rbee::hive
