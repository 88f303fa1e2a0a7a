#include "cli/render.hpp"

#include <fmt/format.h>

#include <cmath>

namespace rbee::cli {
namespace {

using contracts::Json;

std::string string_field(const Json& data, const char* key) {
  auto it = data.find(key);
  return it != data.end() && it->is_string() ? it->get<std::string>() : std::string();
}

int64_t int_field(const Json& data, const char* key) {
  auto it = data.find(key);
  return it != data.end() && it->is_number() ? it->get<int64_t>() : 0;
}

std::string format_device(const Json& device) {
  std::string kind = string_field(device, "kind");
  std::string line =
      fmt::format("{:<8} {}", string_field(device, "id"), string_field(device, "name"));
  if (kind == "cpu") {
    line += fmt::format(" ({} cores, RAM {} free of {})", int_field(device, "cores"),
                        format_bytes(static_cast<double>(int_field(device, "ram_free_bytes"))),
                        format_bytes(static_cast<double>(int_field(device, "ram_total_bytes"))));
  } else {
    line += fmt::format(" (VRAM {} free of {})",
                        format_bytes(static_cast<double>(int_field(device, "vram_free_bytes"))),
                        format_bytes(static_cast<double>(int_field(device, "vram_total_bytes"))));
  }
  return line;
}

std::string format_hive(const Json& hive) {
  if (!hive.contains("last_seen_ago_ms") && hive.contains("configured")) {
    const Json& ssh = hive["configured"];
    std::string user = string_field(ssh, "user");
    return fmt::format("  {:<16} {:<12} {}  (in hives.toml: ssh {}{}:{})\n",
                       string_field(hive, "hive_id"), string_field(hive, "state"),
                       string_field(hive, "url"), user.empty() ? "" : user + "@",
                       string_field(ssh, "host"), int_field(ssh, "ssh_port"));
  }
  std::string out =
      fmt::format("  {:<16} {:<12} {}  (last heartbeat {} ago)\n", string_field(hive, "hive_id"),
                  string_field(hive, "state"), string_field(hive, "url"),
                  format_duration(static_cast<double>(int_field(hive, "last_seen_ago_ms")) / 1000));
  if (auto devices = hive.find("devices"); devices != hive.end() && devices->is_array()) {
    for (const auto& device : *devices) out += "      " + format_device(device) + "\n";
  }
  return out;
}

std::string format_hives(const Json& hives) {
  if (!hives.is_array() || hives.empty()) return "  (none yet: start one with `rbee hive start`)\n";
  std::string out;
  for (const auto& hive : hives) out += format_hive(hive);
  return out;
}

std::string format_artifact_state(const Json& entry) {
  std::string state = string_field(entry, "state");
  if (state == "downloading") {
    return fmt::format("downloading {:.0f}%", entry.value("progress", 0.0) * 100);
  }
  return state;
}

std::string format_model(const Json& model) {
  const Json& metadata = model.value("metadata", Json::object());
  const Json& info = metadata.value("info", Json::object());
  std::string line = fmt::format("  {:<48} {:<16} {:>10}  {} {}", string_field(model, "id"),
                                 format_artifact_state(model),
                                 format_bytes(static_cast<double>(int_field(model, "size_bytes"))),
                                 string_field(info, "architecture"), string_field(info, "quant"));
  if (string_field(model, "state") == "failed")
    line += "\n      error: " + string_field(model, "error");
  return line + "\n";
}

std::string format_workers(const Json& workers) {
  if (workers.empty()) return "  (no workers: `rbee infer` or `rbee worker spawn` starts one)\n";
  std::string out = fmt::format("  {:<22} {:<10} {:<28} {:<6} {:<10} {:>6} {:>8}\n", "WORKER",
                                "HIVE", "MODEL", "DEVICE", "STATE", "PORT", "PID");
  for (const auto& worker : workers) {
    out += fmt::format("  {:<22} {:<10} {:<28} {:<6} {:<10} {:>6} {:>8}\n",
                       string_field(worker, "worker_id"), string_field(worker, "hive_id"),
                       string_field(worker, "model"), string_field(worker, "device"),
                       string_field(worker, "state"), int_field(worker, "port"),
                       int_field(worker, "pid"));
  }
  return out;
}

std::string format_processes(const Json& processes) {
  if (processes.empty()) return "  (no worker processes on this hive)\n";
  std::string out = fmt::format("  {:>8} {:<22} {:<28} {:>6} {:>10} {:>8} {:>9} {}\n", "PID",
                                "WORKER", "MODEL", "PORT", "MEMORY", "CPU", "UPTIME", "STATE");
  for (const auto& process : processes) {
    out += fmt::format("  {:>8} {:<22} {:<28} {:>6} {:>10} {:>7.1f}s {:>9} {}\n",
                       int_field(process, "pid"), string_field(process, "worker_id"),
                       string_field(process, "model"), int_field(process, "port"),
                       format_bytes(static_cast<double>(int_field(process, "rss_bytes"))),
                       process.value("cpu_time_s", 0.0),
                       format_duration(std::floor(process.value("uptime_s", 0.0))),
                       string_field(process, "state"));
  }
  return out;
}

std::string format_worker_binary(const Json& worker) {
  const Json& info = worker.value("metadata", Json::object());
  return fmt::format("  {:<12} {:<12} {}  {}\n", string_field(worker, "id"),
                     format_artifact_state(worker), string_field(info, "version"),
                     string_field(worker, "dir") + "/" + string_field(worker, "file"));
}

std::string format_invalid_entries(const Json& result) {
  std::string out;
  for (const auto& invalid : result.value("invalid", Json::array())) {
    out += fmt::format("  (not an entry: {}: {})\n", string_field(invalid, "dir"),
                       string_field(invalid, "reason"));
  }
  return out;
}

}  // namespace

std::string format_bytes(double bytes) {
  static constexpr const char* kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  int unit = 0;
  while (std::fabs(bytes) >= 1024 && unit < 4) {
    bytes /= 1024;
    ++unit;
  }
  return unit == 0 ? fmt::format("{:.0f} {}", bytes, kUnits[unit])
                   : fmt::format("{:.1f} {}", bytes, kUnits[unit]);
}

std::string format_duration(double seconds) {
  if (seconds < 0) return "?";
  if (seconds < 10) return fmt::format("{:.1f} s", seconds);
  auto total = static_cast<int64_t>(std::llround(seconds));
  if (total < 60) return fmt::format("{} s", total);
  if (total < 3600) return fmt::format("{} min {} s", total / 60, total % 60);
  return fmt::format("{} h {} min", total / 3600, (total % 3600) / 60);
}

std::string format_progress_line(const contracts::Progress& progress, int bar_width) {
  std::string line = progress.phase;
  if (!progress.file.empty()) line += " " + progress.file;
  auto amount = [&](double value) {
    return progress.in_bytes ? format_bytes(value) : fmt::format("{:.0f}", value);
  };
  if (progress.total > 0) {
    double fraction = std::clamp(
        static_cast<double>(progress.done) / static_cast<double>(progress.total), 0.0, 1.0);
    if (bar_width > 0) {
      int filled = static_cast<int>(fraction * bar_width);
      line += "  [" + std::string(static_cast<size_t>(filled), '#') +
              std::string(static_cast<size_t>(bar_width - filled), '.') + "]";
    }
    line +=
        fmt::format("  {:.0f}%  {}/{}", fraction * 100, amount(static_cast<double>(progress.done)),
                    amount(static_cast<double>(progress.total)));
  } else {
    line += "  " + amount(static_cast<double>(progress.done));
  }
  if (progress.per_s > 0) line += "  " + amount(progress.per_s) + "/s";
  if (progress.eta_s >= 0 && progress.total > 0 && progress.done < progress.total) {
    line += "  ETA " + format_duration(progress.eta_s);
  }
  return line;
}

std::string format_result(const std::string& operation, const Json& result) {
  if (operation == "status") {
    std::string out =
        fmt::format("queen-rbee {}, up {}\n", string_field(result, "version"),
                    format_duration(static_cast<double>(int_field(result, "uptime_s"))));
    out += "hives:\n" + format_hives(result.value("hives", Json::array()));
    out += "workers:\n" + format_workers(result.value("workers", Json::array()));
    return out;
  }
  if (operation == "worker_process_list") {
    return format_processes(result.value("workers", Json::array()));
  }
  if ((operation == "worker_process_get" || operation == "worker_spawn") &&
      result.contains("worker")) {
    return format_processes(Json::array({result["worker"]}));
  }
  if (operation == "active_worker_list") {
    return format_workers(result.value("workers", Json::array()));
  }
  if ((operation == "active_worker_get" || operation == "active_worker_retire") &&
      result.contains("worker")) {
    return format_workers(Json::array({result["worker"]}));
  }
  if (operation == "hive_list")
    return "hives:\n" + format_hives(result.value("hives", Json::array()));
  if (operation == "hive_get" && result.contains("hive")) return format_hive(result["hive"]);
  if (operation == "hive_check") {
    std::string out;
    for (const auto& check : result.value("checks", Json::array())) {
      out += fmt::format("  {:<4} {:<22} {}\n", check.value("ok", false) ? "ok" : "FAIL",
                         string_field(check, "name"), string_field(check, "detail"));
    }
    return out;
  }
  if (operation == "model_list") {
    const Json& models = result.value("models", Json::array());
    std::string out = models.empty() ? "  (no models: add one with `rbee model download`)\n" : "";
    for (const auto& model : models) out += format_model(model);
    return out + format_invalid_entries(result);
  }
  if ((operation == "model_get" || operation == "model_download") && result.contains("model")) {
    return format_model(result["model"]);
  }
  if (operation == "worker_binary_list") {
    const Json& workers = result.value("workers", Json::array());
    std::string out = workers.empty()
                          ? "  (no worker types: install one with `rbee worker binary install`)\n"
                          : "";
    for (const auto& worker : workers) {
      out += format_worker_binary(worker);
    }
    return out + format_invalid_entries(result);
  }
  if ((operation == "worker_binary_get" || operation == "worker_binary_install") &&
      result.contains("worker")) {
    return format_worker_binary(result["worker"]);
  }
  if (operation == "worker_process_delete" && result.contains("stopped")) {
    const Json& stopped = result["stopped"];
    return fmt::format("worker {} (pid {}) is gone: {}\n", string_field(stopped, "worker_id"),
                       int_field(stopped, "pid"), string_field(stopped, "how"));
  }
  if (result.contains("deleted")) return "deleted " + string_field(result, "deleted") + "\n";
  return result.dump(2) + "\n";
}

JobRenderer::JobRenderer(RenderOptions options, std::string operation)
    : options_(options), operation_(std::move(operation)) {}

void JobRenderer::clear_progress_line() {
  if (!progress_line_open_) return;
  std::fputs("\r\033[2K", story());
  progress_line_open_ = false;
}

void JobRenderer::narration(const Json& data) {
  clear_progress_line();
  std::string level = string_field(data, "level");
  std::string hive = string_field(data, "hive_id");
  std::string prefix =
      hive.empty() ? string_field(data, "actor") : string_field(data, "actor") + "@" + hive;
  FILE* out = (level == "error" || level == "warn") && !options_.json ? stderr : story();
  std::fprintf(out, "[%s] %s\n", prefix.c_str(), string_field(data, "human").c_str());
  std::fflush(out);
}

void JobRenderer::progress(const Json& data) {
  auto progress = contracts::parse_progress(data);
  if (!progress) return;
  if (options_.interactive) {
    std::fprintf(story(), "\r\033[2K%s", format_progress_line(*progress, 30).c_str());
    progress_line_open_ = true;
  } else {
    std::fprintf(story(), "%s\n", format_progress_line(*progress, 0).c_str());
  }
  std::fflush(story());
}

void JobRenderer::token(const Json& data) {
  clear_progress_line();
  if (options_.json) return;  // the result carries the whole text
  std::fputs(string_field(data, "text").c_str(), stdout);
  std::fflush(stdout);
}

void JobRenderer::result(const Json& data) {
  clear_progress_line();
  if (operation_ == "infer" && !options_.json) {
    // The text already streamed; end its line and tell the numbers on the story stream.
    std::fputs("\n", stdout);
    std::fflush(stdout);
    const Json& usage = data.value("usage", Json::object());
    std::fprintf(story(), "[rbee] %lld prompt + %lld generated tokens, finish: %s, worker %s\n",
                 static_cast<long long>(int_field(usage, "prompt_tokens")),
                 static_cast<long long>(int_field(usage, "completion_tokens")),
                 string_field(data, "finish_reason").c_str(),
                 string_field(data, "worker_id").c_str());
    return;
  }
  if (options_.json) {
    std::fprintf(stdout, "%s\n", data.dump().c_str());
  } else {
    std::fputs(format_result(operation_, data).c_str(), stdout);
  }
  std::fflush(stdout);
}

int JobRenderer::done(const contracts::Done& done) {
  clear_progress_line();
  switch (done.status) {
    case contracts::JobState::kCompleted:
      return 0;
    case contracts::JobState::kCancelled:
      std::fprintf(stderr, "rbee: %s was cancelled\n", operation_.c_str());
      return 130;
    default:
      std::fprintf(stderr, "rbee: %s failed: %s\n", operation_.c_str(),
                   done.error ? done.error->message.c_str() : "unknown error");
      return 1;
  }
}

}  // namespace rbee::cli
