#include "cli/local_services.hpp"

#include <cstdio>

#include "common/clock.hpp"
#include "common/cluster_token.hpp"
#include "common/files.hpp"
#include "http/client.hpp"
#include "lifecycle/process.hpp"

namespace rbee::cli {
namespace {

using namespace std::chrono_literals;
constexpr auto kStartDeadline = 20s;
// A hive stops its workers first (SIGTERM, SIGKILL after [workers] stop_grace_s), so its own
// stop may take that long and more.
constexpr auto kStopMargin = 10s;

bool answers_health(const std::string& url) {
  auto response = http::Client({url, "", 1, 2}).get("/health");
  return response && response->status == 200;
}

}  // namespace

std::string tail_lines(const std::filesystem::path& path, size_t n_lines) {
  auto text = read_file(path);
  if (!text) return "";
  std::vector<std::string_view> lines;
  std::string_view rest(*text);
  while (!rest.empty()) {
    size_t newline = rest.find('\n');
    lines.push_back(rest.substr(0, newline));
    rest = newline == std::string_view::npos ? std::string_view() : rest.substr(newline + 1);
  }
  std::string out;
  for (size_t i = lines.size() > n_lines ? lines.size() - n_lines : 0; i < lines.size(); ++i) {
    out += std::string(lines[i]) + (i + 1 < lines.size() ? "\n" : "");
  }
  return out;
}

LocalServices::LocalServices(Paths paths, RbeeConfig config, std::filesystem::path bin_dir)
    : paths_(std::move(paths)), config_(std::move(config)), bin_dir_(std::move(bin_dir)) {}

std::string LocalServices::queen_url() const {
  return config_.local_queen_url();
}

std::string LocalServices::hive_url() const {
  return "http://127.0.0.1:" + std::to_string(config_.hive.port);
}

std::string LocalServices::url_of(const Program& program) const {
  return std::string(program.name) == kQueenProgram.name ? queen_url() : hive_url();
}

bool LocalServices::queen_healthy() const {
  return answers_health(queen_url());
}
bool LocalServices::hive_healthy() const {
  return answers_health(hive_url());
}

std::filesystem::path LocalServices::log_path(const Program& program) const {
  return paths_.log_dir() / (std::string(program.name) + ".log");
}

pid_t LocalServices::running_pid(const Program& program) const {
  return lifecycle::live_pid_from_file(paths_.pid_file(program.name), program.name);
}

Result<pid_t> LocalServices::spawn(const Program& program,
                                   const std::vector<std::string>& args) const {
  auto binary = bin_dir_ / program.name;
  std::vector<std::string> argv{binary.string()};
  argv.insert(argv.end(), args.begin(), args.end());
  auto pid = lifecycle::spawn_process({argv, log_path(program), true});
  if (!pid && pid.error().code == ErrorCode::kNotFound) {
    return Error{ErrorCode::kNotFound, std::string(program.name) +
                                           " is not installed beside rbee (looked for " +
                                           binary.string() + ")"};
  }
  return pid;
}

Status LocalServices::wait_until(const Program& program, pid_t pid,
                                 const std::function<bool()>& ready,
                                 const std::string& what) const {
  bool exited = false;
  bool ok = lifecycle::poll_until(
      [&] {
        if (ready()) return true;
        exited = !lifecycle::process_alive(pid);
        return exited;
      },
      kStartDeadline);
  if (ok && !exited) return ok_status();
  std::string log = tail_lines(log_path(program), 8);
  return Error{ErrorCode::kUnavailable,
               std::string(program.name) +
                   (exited ? " exited" : " did not become " + what + " in time") +
                   " (log: " + log_path(program).string() + ")" + (log.empty() ? "" : ":\n" + log)};
}

Status LocalServices::ensure_running() {
  RBEE_RETURN_IF_ERROR(paths_.create_directories());
  std::string started;
  if (!queen_healthy()) {
    RBEE_ASSIGN_OR_RETURN(pid_t pid, spawn(kQueenProgram, {}));
    RBEE_RETURN_IF_ERROR(wait_until(
        kQueenProgram, pid, [this] { return queen_healthy(); }, "healthy"));
    started = "queen-rbee on " + queen_url();
  }
  const std::string& hive_id = config_.hive.hive_id;
  // Online in the queen's registry with a beat sent after `since_ms` (an entry left by a
  // hive that just died still reads online for up to three intervals).
  auto token = read_cluster_token(paths_.token_file());
  auto hive_beat_since = [&](int64_t since_ms) {
    auto hives =
        http::Client({queen_url(), token ? *token : std::string(), 1, 2}).get_json("/v1/hives");
    if (!hives) return false;
    for (const auto& hive : (*hives)["hives"]) {
      if (hive.value("hive_id", "") == hive_id && hive.value("state", "") == "online" &&
          hive.value("last_seen_ms", int64_t{0}) >= since_ms) {
        return true;
      }
    }
    return false;
  };
  if (!hive_healthy()) {
    int64_t spawned_ms = now_unix_ms();
    RBEE_ASSIGN_OR_RETURN(pid_t pid, spawn(kHiveProgram, {"--queen-url", queen_url()}));
    RBEE_RETURN_IF_ERROR(wait_until(
        kHiveProgram, pid, [&] { return hive_healthy() && hive_beat_since(spawned_ms); },
        "known to the queen"));
    started += (started.empty() ? "" : " and ") + std::string("rbee-hive '") + hive_id + "' on " +
               hive_url();
  } else if (!hive_beat_since(0)) {
    // A running hive that the queen does not list yet (the queen just restarted): its next
    // beat, within one interval, fixes that.
    lifecycle::poll_until(
        [&] { return hive_beat_since(0); },
        3 * std::chrono::milliseconds(static_cast<int64_t>(config_.hive.heartbeat_s * 1000)));
  }
  if (!started.empty()) {
    std::fprintf(stderr, "rbee: started %s (logs in %s)\n", started.c_str(),
                 paths_.log_dir().c_str());
  }
  return ok_status();
}

Result<bool> LocalServices::stop(const Program& program) {
  pid_t pid = running_pid(program);
  std::string url = url_of(program);
  bool answering = answers_health(url);
  if (pid == 0 && !answering) return false;
  bool asked = false;
  if (answering) {
    auto token = read_cluster_token(paths_.token_file());
    if (token) {
      auto response = http::Client({url, *token, 2, 5}).post("/v1/shutdown", "{}");
      asked = response && response->status == 202;
    }
  }
  const auto stop_deadline =
      kStopMargin +
      std::chrono::milliseconds(static_cast<int64_t>(config_.workers.stop_grace_s * 1000));
  if (pid != 0) {
    if (asked &&
        lifecycle::poll_until([pid] { return !lifecycle::process_alive(pid); }, stop_deadline))
      return true;
    RBEE_RETURN_IF_ERROR(lifecycle::stop_process(pid, 5s));
    return true;
  }
  if (!asked) {
    return Error{ErrorCode::kFailedPrecondition,
                 std::string("something answers on ") + url + " but it is not a " + program.name +
                     " this rbee started, and it refused to shut down"};
  }
  if (!lifecycle::poll_until([&] { return !answers_health(url); }, stop_deadline)) {
    return Error{ErrorCode::kDeadlineExceeded, std::string(program.name) + " did not stop in time"};
  }
  return true;
}

}  // namespace rbee::cli
