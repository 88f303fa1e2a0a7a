#include "queen/remote_hive_control.hpp"

#include <algorithm>
#include <chrono>

#include "common/clock.hpp"
#include "http/client.hpp"
#include "lifecycle/process.hpp"
#include "queen/remote_hive.hpp"

namespace rbee::queen {

namespace {

using namespace std::chrono_literals;

// A hive needs a moment to bind and detect its devices; a slow machine over ssh more.
constexpr auto kFirstBeatTimeout = 30s;
constexpr auto kShutdownTimeout = 20s;
constexpr auto kTokenProbePeriod = 500ms;

RemoteHiveOptions remote_options(const QueenConfig& config, const Paths& paths) {
  RemoteHiveOptions options;
  std::error_code ec;
  // The programs to copy are the ones this queen was built with, next to it.
  options.bin_dir = std::filesystem::read_symlink("/proc/self/exe", ec).parent_path();
  options.token_file = paths.token_file();
  options.ssh_config = config.ssh_config;
  return options;
}

bool wildcard_or_loopback(const std::string& host) {
  return host == "0.0.0.0" || host == "::" || host == "localhost" || host == "::1" ||
         host.rfind("127.", 0) == 0;
}

}  // namespace

RemoteHiveControl::RemoteHiveControl(const QueenConfig& config, const Paths& paths,
                                     HiveRegistry& hives, const std::string& cluster_token,
                                     std::function<int()> queen_port)
    : config_(config),
      paths_(paths),
      hives_(hives),
      cluster_token_(cluster_token),
      queen_port_(std::move(queen_port)) {}

Result<RemoteHiveConfig> RemoteHiveControl::configured(const std::string& alias) const {
  auto path = paths_.config_dir / "hives.toml";
  RBEE_ASSIGN_OR_RETURN(std::vector<RemoteHiveConfig> remotes, load_hives_file(path));
  auto found = std::find_if(remotes.begin(), remotes.end(),
                            [&](const auto& remote) { return remote.alias == alias; });
  if (found == remotes.end()) {
    return make_error(ErrorCode::kNotFound, "no hive '" + alias + "' in " + path.string() +
                                                " (add it with `rbee hive add " + alias +
                                                " --host HOST`)");
  }
  return *found;
}

Result<std::string> RemoteHiveControl::queen_url_for(const RemoteHiveConfig& remote) const {
  if (!remote.queen_url.empty()) return remote.queen_url;
  // Never hand a remote hive 127.0.0.1: it would report to itself (ARCHITECTURE.md §6).
  if (wildcard_or_loopback(config_.host)) {
    return make_error(ErrorCode::kFailedPrecondition,
                      "hive '" + remote.alias + "' cannot reach a queen listening on " +
                          config_.host + "; set queen_url for it in hives.toml (`rbee hive add " +
                          remote.alias + " --replace --queen-url http://ADDRESS:PORT ...`)");
  }
  return "http://" + config_.host + ":" + std::to_string(queen_port_());
}

Status RemoteHiveControl::install(const std::string& alias, jobs::JobContext& job) const {
  RBEE_ASSIGN_OR_RETURN(RemoteHiveConfig remote, configured(alias));
  return install_remote_hive(remote, remote_options(config_, paths_), job);
}

Status RemoteHiveControl::uninstall(const std::string& alias, bool purge,
                                    jobs::JobContext& job) const {
  RBEE_ASSIGN_OR_RETURN(RemoteHiveConfig remote, configured(alias));
  return uninstall_remote_hive(remote, purge, remote_options(config_, paths_), job);
}

Status RemoteHiveControl::start(const std::string& alias, jobs::JobContext& job) const {
  RBEE_ASSIGN_OR_RETURN(RemoteHiveConfig remote, configured(alias));
  if (auto known = hives_.get(alias); known && known->state == "online") {
    job.narrate("hive_start", "Hive '" + alias + "' is already online at " + known->last_beat.url);
    job.result(contracts::Json{{"hive", to_json(*known)}});
    return ok_status();
  }
  RBEE_ASSIGN_OR_RETURN(std::string queen_url, queen_url_for(remote));
  auto options = remote_options(config_, paths_);
  int64_t launched_ms = now_unix_ms();
  RBEE_RETURN_IF_ERROR(launch_remote_hive(remote, queen_url, options, job));
  job.narrate("hive_start_wait", "Waiting for hive '" + alias + "' to report to the queen");
  // A hive that is up but holds another cluster token refuses the queen's token (401), as the
  // queen refuses its beats: waiting longer cannot help. Asked now and then, and only a
  // refusal seen twice counts (the hive reads its token right after it binds).
  http::Client probe(
      {"http://" + remote.host + ":" + std::to_string(remote.hive_port), cluster_token_, 1, 2});
  int refusals = 0;
  int64_t next_probe_ms = now_steady_ms() + kTokenProbePeriod.count();
  bool reported = lifecycle::poll_until(
      [&] {
        auto entry = hives_.get(alias);
        if (job.cancelled() || (entry && entry->last_seen_ms >= launched_ms)) return true;
        if (now_steady_ms() >= next_probe_ms) {
          auto answer = probe.get("/v1/jobs");
          refusals = answer && answer->status == 401 ? refusals + 1 : 0;
          next_probe_ms = now_steady_ms() + kTokenProbePeriod.count();
        }
        return refusals >= 2;
      },
      kFirstBeatTimeout);
  if (job.cancelled()) return jobs::JobContext::cancelled_error();
  auto entry = hives_.get(alias);
  if (refusals >= 2 && !(entry && entry->last_seen_ms >= launched_ms)) {
    std::string log = remote_hive_log_tail(remote, options);
    return make_error(ErrorCode::kFailedPrecondition,
                      "hive '" + alias + "' runs with another cluster token than the queen's: " +
                          "it refuses the queen and the queen refuses its heartbeats (copy the " +
                          "token again with `rbee hive install " + alias + "`)" +
                          (log.empty() ? "" : "; its log there ends with:\n" + log));
  }
  if (!reported || !entry) {
    std::string log = remote_hive_log_tail(remote, options);
    return make_error(ErrorCode::kDeadlineExceeded,
                      "hive '" + alias + "' did not report to " + queen_url + " within " +
                          std::to_string(kFirstBeatTimeout.count()) + " s" +
                          (log.empty() ? "" : "; its log there ends with:\n" + log));
  }
  job.narrate("hive_start_done", "Hive '" + alias + "' is online at " + entry->last_beat.url);
  job.result(contracts::Json{{"hive", to_json(*entry)}});
  return ok_status();
}

Status RemoteHiveControl::stop(const std::string& alias, jobs::JobContext& job) const {
  RBEE_ASSIGN_OR_RETURN(RemoteHiveConfig remote, configured(alias));
  auto known = hives_.get(alias);
  std::string url = known ? known->last_beat.url
                          : "http://" + remote.host + ":" + std::to_string(remote.hive_port);
  job.narrate("hive_stop", "Asking hive '" + alias + "' at " + url + " to shut down");
  http::Client hive({url, cluster_token_, 3, 10});
  auto asked = hive.post("/v1/shutdown", "{}");
  bool ended = false;
  if (asked && asked->status / 100 == 2) {
    // Its workers stop with it; the hive answers until its own server stops.
    ended = lifecycle::poll_until([&] { return !hive.get("/health"); }, kShutdownTimeout);
  } else {
    job.narrate("hive_stop",
                "Hive '" + alias + "' did not take the request (" +
                    (asked ? "HTTP " + std::to_string(asked->status) : asked.error().message) + ")",
                "warn");
  }
  if (!ended) {
    RBEE_RETURN_IF_ERROR(kill_remote_hive(remote, remote_options(config_, paths_), job));
  } else if (auto gone = await_remote_hive_exit(remote, remote_options(config_, paths_), job);
             !gone) {
    // Its server is down, so it is stopping; "stopped" then says what can be said.
    job.narrate("hive_stop", "Could not watch hive '" + alias + "' end: " + gone.error().message,
                "warn");
  }
  hives_.forget(alias);
  job.narrate("hive_stop_done", "Hive '" + alias + "' stopped");
  job.result(contracts::Json{{"alias", alias}, {"state", "stopped"}});
  return ok_status();
}

}  // namespace rbee::queen
