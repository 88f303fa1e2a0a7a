#include "queen/worker_registry.hpp"

#include <algorithm>

#include "common/clock.hpp"

namespace rbee::queen {

using contracts::Json;

namespace {

// Gone workers stay listed this long, so `rbee worker list` can say what happened to them.
constexpr int64_t kKeepGoneMs = 10 * 60 * 1000;

bool is_up_state(const std::string& state) {
  return state == "ready" || state == "busy";
}

bool is_coming_up_state(const std::string& state) {
  return state == "starting" || state == "loading";
}

}  // namespace

int WorkerView::port() const {
  auto colon = beat.url.rfind(':');
  if (colon == std::string::npos) return 0;
  try {
    return std::stoi(beat.url.substr(colon + 1));
  } catch (...) {
    return 0;
  }
}

Json to_json(const WorkerView& view) {
  Json json = contracts::to_json(view.beat);
  json.erase("heartbeat_interval_ms");
  json["state"] = view.state;
  json["routable"] = view.routable;
  json["in_flight"] = view.in_flight;
  json["port"] = view.port();
  json["first_seen_ms"] = view.first_seen_ms;
  json["last_seen_ago_ms"] = view.last_seen_ago_ms;
  json["idle_ms"] = view.idle_ms;
  if (!view.reason.empty()) json["reason"] = view.reason;
  return json;
}

bool model_matches(const std::string& requested, const std::string& served_id) {
  if (requested.empty() || requested == served_id) return true;
  // `org/repo` names every quant of the repository; `org/repo:Q4_K_M` only that one.
  if (requested.find(':') != std::string::npos) return false;
  if (served_id.size() <= requested.size() + 1) return false;
  return served_id.compare(0, requested.size(), requested) == 0 &&
         served_id[requested.size()] == ':';
}

WorkerRegistry::WorkerRegistry(HiveUnreachable hive_unreachable)
    : hive_unreachable_(std::move(hive_unreachable)) {}

void WorkerRegistry::record(const contracts::WorkerHeartbeat& beat) {
  std::lock_guard lock(mu_);
  int64_t now = now_steady_ms();
  auto [it, inserted] = workers_.try_emplace(beat.worker_id);
  Stored& stored = it->second;
  if (!inserted && !stored.gone_state.empty()) {
    // A beat that left before the worker died says nothing new; a new process under the same
    // id (another pid) starts afresh.
    if (stored.beat.pid == beat.pid) return;
    stored = Stored{};
  }
  if (inserted || stored.first_seen_ms == 0) {
    stored.first_seen_ms = now_unix_ms();
    stored.idle_since_steady_ms = now;
  }
  stored.beat = beat;
  stored.last_seen_steady_ms = now;
  if (beat.state == "stopped" || beat.state == "failed") {
    stored.gone_state = beat.state;
    stored.gone_steady_ms = now;
    stored.reason = "the worker reported " + beat.state;
  }
  if (beat.state == "draining") stored.draining = true;
  forget_old_locked(now);
  changed_locked();
}

void WorkerRegistry::mark_gone(const std::string& worker_id, const std::string& state,
                               const std::string& reason) {
  std::lock_guard lock(mu_);
  auto it = workers_.find(worker_id);
  if (it == workers_.end()) return;
  if (it->second.gone_state.empty()) {
    it->second.gone_state = state;
    it->second.gone_steady_ms = now_steady_ms();
    it->second.reason = reason;
  }
  changed_locked();
}

void WorkerRegistry::mark_draining(const std::string& worker_id) {
  std::lock_guard lock(mu_);
  auto it = workers_.find(worker_id);
  if (it == workers_.end()) return;
  it->second.draining = true;
  changed_locked();
}

void WorkerRegistry::add_alias(const std::string& requested, const std::string& served_id) {
  if (requested == served_id) return;
  std::lock_guard lock(mu_);
  aliases_[requested] = served_id;
}

bool WorkerRegistry::matches(const std::string& requested, const std::string& served_id) const {
  std::lock_guard lock(mu_);
  return matches_locked(requested, served_id);
}

bool WorkerRegistry::matches_locked(const std::string& requested,
                                    const std::string& served_id) const {
  if (model_matches(requested, served_id)) return true;
  auto alias = aliases_.find(requested);
  return alias != aliases_.end() && alias->second == served_id;
}

WorkerView WorkerRegistry::view(const Stored& stored, int64_t now) const {
  WorkerView view;
  view.beat = stored.beat;
  view.in_flight = stored.in_flight;
  view.first_seen_ms = stored.first_seen_ms;
  view.last_seen_ago_ms = now - stored.last_seen_steady_ms;
  view.idle_ms = stored.in_flight > 0 ? 0 : now - stored.idle_since_steady_ms;
  view.reason = stored.reason;
  bool late = view.last_seen_ago_ms > kMissedWorkerBeatsUntilUnroutable *
                                          std::max<int64_t>(stored.beat.heartbeat_interval_ms, 1);
  if (!stored.gone_state.empty()) {
    view.state = stored.gone_state;
  } else if (late || (hive_unreachable_ && hive_unreachable_(stored.beat.hive_id))) {
    view.state = "unreachable";
  } else if (stored.draining) {
    view.state = "draining";
  } else if (is_up_state(stored.beat.state)) {
    // The queen's own count is fresher than the worker's last beat.
    view.state = stored.in_flight >= stored.beat.slots_total ? "busy" : "ready";
  } else {
    view.state = stored.beat.state;
  }
  view.routable = view.state == "ready" || view.state == "busy";
  return view;
}

std::vector<WorkerView> WorkerRegistry::list() const {
  std::lock_guard lock(mu_);
  int64_t now = now_steady_ms();
  std::vector<WorkerView> out;
  for (const auto& [id, stored] : workers_) out.push_back(view(stored, now));
  return out;
}

std::optional<WorkerView> WorkerRegistry::get(const std::string& worker_id) const {
  std::lock_guard lock(mu_);
  auto it = workers_.find(worker_id);
  if (it == workers_.end()) return std::nullopt;
  return view(it->second, now_steady_ms());
}

bool WorkerRegistry::passes(const Stored& stored, const WorkerFilter& filter) const {
  if (!filter.worker_id.empty() && stored.beat.worker_id != filter.worker_id) return false;
  if (!filter.hive_id.empty() && stored.beat.hive_id != filter.hive_id) return false;
  if (filter.exclude.count(stored.beat.worker_id)) return false;
  return matches_locked(filter.model, stored.beat.model);
}

std::optional<WorkerView> WorkerRegistry::try_acquire(const WorkerFilter& filter) {
  std::lock_guard lock(mu_);
  int64_t now = now_steady_ms();
  Stored* best = nullptr;
  double best_load = 2;
  for (auto& [id, stored] : workers_) {
    if (!passes(stored, filter)) continue;
    WorkerView current = view(stored, now);
    if (!current.routable || stored.in_flight >= stored.beat.slots_total) continue;
    double load = double(stored.in_flight) / double(std::max<int64_t>(stored.beat.slots_total, 1));
    if (load < best_load) {
      best_load = load;
      best = &stored;
    }
  }
  if (!best) return std::nullopt;
  ++best->in_flight;
  changed_locked();
  return view(*best, now);
}

void WorkerRegistry::release(const std::string& worker_id) {
  std::lock_guard lock(mu_);
  auto it = workers_.find(worker_id);
  if (it == workers_.end()) return;
  if (it->second.in_flight > 0 && --it->second.in_flight == 0) {
    it->second.idle_since_steady_ms = now_steady_ms();
  }
  changed_locked();
}

bool WorkerRegistry::has_candidate(const WorkerFilter& filter) const {
  std::lock_guard lock(mu_);
  int64_t now = now_steady_ms();
  for (const auto& [id, stored] : workers_) {
    if (!passes(stored, filter)) continue;
    WorkerView current = view(stored, now);
    if (current.routable || is_coming_up_state(current.state)) return true;
  }
  return false;
}

uint64_t WorkerRegistry::wait_for_change(uint64_t seen, std::chrono::milliseconds timeout) const {
  std::unique_lock lock(mu_);
  changed_cv_.wait_for(lock, timeout, [&] { return changes_ != seen; });
  return changes_;
}

uint64_t WorkerRegistry::change_count() const {
  std::lock_guard lock(mu_);
  return changes_;
}

std::vector<WorkerView> WorkerRegistry::idle_for(int64_t idle_ms) const {
  std::lock_guard lock(mu_);
  int64_t now = now_steady_ms();
  std::vector<WorkerView> out;
  for (const auto& [id, stored] : workers_) {
    WorkerView current = view(stored, now);
    if (current.routable && current.in_flight == 0 && current.idle_ms >= idle_ms) {
      out.push_back(current);
    }
  }
  return out;
}

void WorkerRegistry::changed_locked() {
  ++changes_;
  changed_cv_.notify_all();
}

void WorkerRegistry::forget_old_locked(int64_t now) {
  std::erase_if(workers_, [now](const auto& item) {
    const Stored& stored = item.second;
    return !stored.gone_state.empty() && stored.in_flight == 0 &&
           now - stored.gone_steady_ms > kKeepGoneMs;
  });
}

}  // namespace rbee::queen
