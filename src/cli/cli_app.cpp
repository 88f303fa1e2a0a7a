#include "cli/cli_app.hpp"

#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <optional>
#include <vector>

#include "cli/job_follower.hpp"
#include "cli/local_services.hpp"
#include "common/cluster_token.hpp"
#include "common/config.hpp"
#include "common/paths.hpp"
#include "http/client.hpp"

namespace rbee::cli {
namespace {

using contracts::Json;

struct GlobalOptions {
  bool json = false;
  std::string queen_url;  // from --queen-url / RBEE_QUEEN_URL; empty = the local queen
};

std::filesystem::path own_folder() {
  std::error_code ec;
  auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  return ec ? std::filesystem::path(".") : exe.parent_path();
}

// What the model reference grammar treats as a file on the hive's machine (ARCHITECTURE.md §9).
bool looks_like_local_path(const std::string& reference) {
  return reference.starts_with("/") || reference.starts_with("./") ||
         reference.starts_with("../") || reference.starts_with("~/") ||
         (reference.ends_with(".gguf") && std::filesystem::exists(reference));
}

int fail(const std::string& message, int code = 1) {
  std::fprintf(stderr, "rbee: %s\n", message.c_str());
  return code;
}

class Cli {
 public:
  Cli(Paths paths, RbeeConfig config, GlobalOptions options)
      : options_(std::move(options)),
        paths_(paths),
        services_(paths, config, own_folder()),
        config_(std::move(config)) {}

  // A command that talks to the queen: the local one is started when it is not running.
  int job(const Json& operation) {
    if (options_.queen_url.empty()) {
      if (auto started = services_.ensure_running(); !started) return fail(started.error().message);
    }
    // The cluster token, when this user can read it: a queen that listens beyond loopback
    // takes jobs only with it.
    auto token = read_cluster_token(paths_.token_file());
    http::Client queen({queen_url(), token ? *token : std::string(), 3, 600});
    // `infer` prints the text on stdout and tells its story on stderr.
    int story_fd = operation.value("operation", "") == "infer" ? STDERR_FILENO : STDOUT_FILENO;
    return run_job(queen, operation, {options_.json, ::isatty(story_fd) == 1});
  }

  // API keys: plain HTTP calls with the cluster token, which only this machine's user reads.
  int apikey(const std::string& method, const std::string& path, const Json& body) {
    if (options_.queen_url.empty()) {
      if (auto started = services_.ensure_running(); !started) return fail(started.error().message);
    }
    auto token = read_cluster_token(paths_.token_file());
    if (!token) return fail("cannot read the cluster token: " + token.error().message);
    http::Client queen({queen_url(), *token, 3, 30});
    auto answer = method == "POST"  ? queen.post_json(path, body)
                  : method == "GET" ? queen.get_json(path)
                                    : queen.delete_json(path);
    if (!answer) return fail(answer.error().message);
    if (options_.json) {
      std::printf("%s\n", answer->dump().c_str());
      return 0;
    }
    if (answer->contains("key")) {
      std::printf("%s\n", (*answer)["key"].get<std::string>().c_str());
      std::fprintf(stderr,
                   "rbee: API key %s created; it is shown only now: keep it somewhere safe\n",
                   (*answer)["api_key"].value("id", "").c_str());
      return 0;
    }
    Json keys =
        answer->contains("api_keys") ? (*answer)["api_keys"] : Json::array({(*answer)["api_key"]});
    if (keys.empty()) std::printf("  (no API keys: create one with `rbee apikey create NAME`)\n");
    for (const auto& key : keys) {
      std::printf("  %-16s %-20s %-14s %s\n", key.value("id", "").c_str(),
                  key.value("name", "").c_str(), (key.value("prefix", "") + "…").c_str(),
                  key.value("state", "").c_str());
    }
    return 0;
  }

  int queen_start() {
    if (!options_.queen_url.empty())
      return fail("`queen start` manages the local queen; drop --queen-url", 2);
    if (auto started = services_.ensure_running(); !started) return fail(started.error().message);
    return queen_status();
  }

  int queen_status() {
    auto info = http::Client({queen_url(), "", 2, 5}).get_json("/v1/info");
    if (!info) {
      if (options_.json) {
        std::printf("%s\n", Json{{"running", false}, {"url", queen_url()}}.dump().c_str());
      } else {
        std::printf("queen-rbee is not running at %s\n", queen_url().c_str());
      }
      return 3;  // as `systemctl status` does for a stopped unit
    }
    (*info)["running"] = true;
    (*info)["url"] = queen_url();
    if (options_.json) {
      std::printf("%s\n", info->dump().c_str());
    } else {
      std::printf("queen-rbee %s is running at %s (pid %lld, up %llds, %lld hive(s))\n",
                  info->value("version", "?").c_str(), queen_url().c_str(),
                  static_cast<long long>(info->value("pid", 0)),
                  static_cast<long long>(info->value("uptime_s", 0)),
                  static_cast<long long>(info->value("n_hives", 0)));
    }
    return 0;
  }

  int stop(const Program& program) {
    auto stopped = services_.stop(program);
    if (!stopped) return fail(stopped.error().message);
    if (options_.json) {
      std::printf("%s\n",
                  Json{{"program", program.name}, {"was_running", *stopped}}.dump().c_str());
    } else {
      std::printf(*stopped ? "%s stopped\n" : "%s was not running\n", program.name);
    }
    return 0;
  }

  int stop_all() {
    int hive = stop(kHiveProgram);
    int queen = stop(kQueenProgram);
    return hive != 0 ? hive : queen;
  }

  int hive_add(RemoteHiveConfig remote, bool replace) {
    if (remote.alias == config_.hive.hive_id) {
      return fail("'" + remote.alias + "' is this machine's own hive; pick another alias", 2);
    }
    auto path = paths_.config_dir / "hives.toml";
    auto hives = load_hives_file(path);
    if (!hives) return fail(hives.error().message, 2);
    if (auto valid = validate_remote_hive(remote); !valid) return fail(valid.error().message, 2);
    auto same = std::find_if(hives->begin(), hives->end(),
                             [&](const auto& hive) { return hive.alias == remote.alias; });
    if (same != hives->end()) {
      if (!replace) {
        return fail("hive '" + remote.alias + "' is already in " + path.string() +
                        " (--replace to change it)",
                    2);
      }
      *same = remote;
    } else {
      hives->push_back(remote);
    }
    if (auto saved = save_hives_file(path, *hives); !saved) return fail(saved.error().message);
    if (options_.json) {
      std::printf("%s\n", Json{{"added", remote.alias}, {"file", path.string()}}.dump().c_str());
    } else {
      std::printf("hive '%s' (%s%s%s:%d) is in %s\n", remote.alias.c_str(), remote.user.c_str(),
                  remote.user.empty() ? "" : "@", remote.host.c_str(), remote.ssh_port,
                  path.c_str());
    }
    return 0;
  }

  int hive_remove(const std::string& alias) {
    auto path = paths_.config_dir / "hives.toml";
    auto hives = load_hives_file(path);
    if (!hives) return fail(hives.error().message, 2);
    auto before = hives->size();
    std::erase_if(*hives, [&](const auto& hive) { return hive.alias == alias; });
    if (hives->size() == before) return fail("no hive '" + alias + "' in " + path.string(), 1);
    if (auto saved = save_hives_file(path, *hives); !saved) return fail(saved.error().message);
    if (options_.json) {
      std::printf("%s\n", Json{{"removed", alias}}.dump().c_str());
    } else {
      std::printf("hive '%s' removed from %s\n", alias.c_str(), path.c_str());
    }
    return 0;
  }

  int hive_start(const std::string& alias) {
    if (alias != config_.hive.hive_id)
      return job(Json{{"operation", "hive_start"}, {"alias", alias}});
    if (auto started = services_.ensure_running(); !started) return fail(started.error().message);
    return job(Json{{"operation", "hive_get"}, {"alias", alias}});
  }

  int hive_stop(const std::string& alias) {
    if (alias != config_.hive.hive_id)
      return job(Json{{"operation", "hive_stop"}, {"alias", alias}});
    return stop(kHiveProgram);
  }

 private:
  std::string queen_url() const {
    return options_.queen_url.empty() ? services_.queen_url() : options_.queen_url;
  }

  GlobalOptions options_;
  Paths paths_;
  LocalServices services_;
  RbeeConfig config_;
};

}  // namespace

int run_cli(int argc, char** argv) {
  GlobalOptions options;
  CLI::App app{"rbee: one private LLM service from every machine on your network"};
  app.set_version_flag("--version", std::string("rbee ") + RBEE_VERSION);
  app.require_subcommand(1);
  app.add_flag("--json", options.json, "print structured JSON results");
  app.add_option("--queen-url", options.queen_url, "talk to this queen instead of the local one")
      ->envname("RBEE_QUEEN_URL");

  // Subcommands accept the global flags after their own name too (`rbee status --json`).
  auto subcommand = [](CLI::App& parent, const char* name, const char* help) {
    CLI::App* sub = parent.add_subcommand(name, help);
    sub->fallthrough();
    return sub;
  };

  subcommand(app, "status", "show the queen, its hives and workers (starts them when needed)");
  auto* queen = subcommand(app, "queen", "manage the local queen");
  queen->require_subcommand(1);
  subcommand(*queen, "start", "start the queen and the local hive");
  subcommand(*queen, "stop", "stop the queen");
  subcommand(*queen, "status", "is the queen running?");

  std::string hive_alias;
  double check_duration_s = 0;
  auto* hive = subcommand(app, "hive", "manage hives");
  hive->require_subcommand(1);
  hive->add_option("--hive", hive_alias, "which hive (default: this machine's)");
  auto* hive_start = subcommand(*hive, "start", "start a hive (a remote one over ssh)");
  auto* hive_stop = subcommand(*hive, "stop", "stop a hive (a remote one over ssh)");
  for (auto* sub : {hive_start, hive_stop}) {
    sub->add_option("alias", hive_alias, "which hive (default: this machine's)");
  }
  std::string remote_alias;
  bool purge = false;
  auto* hive_install =
      subcommand(*hive, "install", "copy rbee-hive, the worker and the token to a remote hive");
  hive_install->add_option("alias", remote_alias, "its name in hives.toml")->required();
  auto* hive_uninstall = subcommand(*hive, "uninstall", "remove rbee from a remote hive");
  hive_uninstall->add_option("alias", remote_alias, "its name in hives.toml")->required();
  hive_uninstall->add_flag("--purge", purge, "also delete its models and state");
  auto* hive_status = subcommand(*hive, "status", "a hive's state as the queen sees it");
  auto* hive_list = subcommand(*hive, "list", "every hive the queen knows");
  auto* hive_check = subcommand(*hive, "check", "run the hive's self-check through the queen");
  hive_check->add_option("--duration", check_duration_s, "keep checking for this many seconds");
  RemoteHiveConfig remote;
  bool replace = false;
  auto* hive_add = subcommand(*hive, "add", "add a remote machine to hives.toml");
  hive_add->add_option("alias", remote.alias, "its name (also its hive id)")->required();
  hive_add->add_option("--host", remote.host, "ssh host name or address")->required();
  hive_add->add_option("--user", remote.user, "ssh user (default: ssh's)");
  hive_add->add_option("--ssh-port", remote.ssh_port, "ssh port")->capture_default_str();
  hive_add->add_option("--identity", remote.identity_file, "ssh identity file");
  hive_add->add_option("--hive-port", remote.hive_port, "port the hive listens on")
      ->capture_default_str();
  hive_add->add_option("--queen-url", remote.queen_url, "how that machine reaches the queen");
  hive_add->add_flag("--replace", replace, "replace an entry with the same alias");
  std::string remove_alias;
  auto* hive_remove = subcommand(*hive, "remove", "remove a remote machine from hives.toml");
  hive_remove->add_option("alias", remove_alias, "its name")->required();
  for (auto* sub : {hive_start, hive_stop, hive_status, hive_list, hive_check}) {
    sub->add_option("--hive", hive_alias, "which hive (default: this machine's)");
  }
  subcommand(app, "stop", "stop this machine's hive and queen");

  // Catalog commands: each runs as a job on one hive, through the queen.
  std::string catalog_hive;
  std::string model_ref;
  std::string revision = "main";
  bool force = false;
  auto* model = subcommand(app, "model", "download, list, inspect and delete models on a hive");
  model->require_subcommand(1);
  auto* model_download = subcommand(*model, "download", "download a model (or import a GGUF file)");
  model_download
      ->add_option("model", model_ref, "org/repo, org/repo:QUANT, org/repo:file.gguf or ./x.gguf")
      ->required();
  model_download->add_option("--revision", revision, "branch, tag or commit (default: main)");
  auto* model_list = subcommand(*model, "list", "the models in a hive's catalog");
  auto* model_get = subcommand(*model, "get", "one model's entry");
  model_get->add_option("id", model_ref, "model id or reference")->required();
  auto* model_delete = subcommand(*model, "delete", "delete a model from a hive");
  model_delete->add_option("id", model_ref, "model id or reference")->required();
  model_delete->add_flag("--force", force, "delete even while a worker uses it");

  std::string worker_type;
  std::string source;
  std::string sha256;
  auto* worker = subcommand(app, "worker", "worker binaries and processes on a hive");
  worker->require_subcommand(1);
  auto* binary =
      subcommand(*worker, "binary", "the worker catalog: which worker programs a hive has");
  binary->require_subcommand(1);
  auto* binary_list = subcommand(*binary, "list", "the worker types a hive has");
  auto* binary_get = subcommand(*binary, "get", "one worker type");
  binary_get->add_option("type", worker_type, "worker type, e.g. cpu")->required();
  auto* binary_delete = subcommand(*binary, "delete", "remove an installed worker type");
  binary_delete->add_option("type", worker_type, "worker type")->required();
  auto* binary_install = subcommand(*binary, "install", "add a worker type from a file or URL");
  binary_install->add_option("type", worker_type, "name for the worker type")->required();
  binary_install->add_option("source", source, "local path or http(s) URL")->required();
  binary_install->add_option("--sha256", sha256, "expected sha256 of the binary");
  // Workers: the queen's registry (spawn goes to a hive) and the processes a hive started.
  std::string worker_id;
  int64_t ctx = 0;
  int64_t parallel = 1;
  int64_t threads = 0;
  std::string device = "cpu";
  int64_t pid = 0;
  auto* worker_spawn = subcommand(*worker, "spawn", "start a worker for a model on a hive");
  worker_spawn->add_option("--model", model_ref, "model id or reference in the hive's catalog")
      ->required();
  worker_spawn->add_option("--type", worker_type, "worker type (default: cpu)");
  worker_spawn->add_option("--device", device, "cpu, cuda:0, ...")->capture_default_str();
  worker_spawn->add_option("--ctx", ctx, "tokens of context per slot (0: the model's, max 4096)");
  worker_spawn->add_option("--parallel", parallel, "requests served at once")
      ->capture_default_str();
  worker_spawn->add_option("--threads", threads, "CPU threads (0: the worker chooses)");
  worker_spawn->add_option("--worker-id", worker_id, "name for the worker (default: generated)");
  auto* worker_list = subcommand(*worker, "list", "the active workers the queen knows");
  auto* worker_get = subcommand(*worker, "get", "one active worker");
  worker_get->add_option("worker_id", worker_id, "worker id")->required();
  auto* worker_retire = subcommand(*worker, "retire", "drain a worker and stop it");
  worker_retire->add_option("worker_id", worker_id, "worker id")->required();
  auto* process = subcommand(*worker, "process", "the worker processes a hive started");
  process->require_subcommand(1);
  auto* process_list = subcommand(*process, "list", "processes with pid, memory, cpu, uptime");
  auto* process_get = subcommand(*process, "get", "one process");
  process_get->add_option("pid", pid, "process id")->required();
  auto* process_delete = subcommand(*process, "delete", "stop a process (SIGTERM, then SIGKILL)");
  process_delete->add_option("pid", pid, "process id")->required();

  for (auto* sub :
       {model_download, model_list, model_get, model_delete, binary_list, binary_get, binary_delete,
        binary_install, worker_spawn, process_list, process_get, process_delete}) {
    sub->add_option("--hive", catalog_hive, "which hive (default: this machine's)");
  }

  // Client API keys for a queen that listens beyond loopback.
  std::string key_name;
  std::string key_id;
  auto* apikey = subcommand(app, "apikey", "API keys for OpenAI clients of a non-loopback queen");
  apikey->require_subcommand(1);
  auto* apikey_create = subcommand(*apikey, "create", "make a key (printed once)");
  apikey_create->add_option("name", key_name, "what the key is for")->required();
  auto* apikey_list = subcommand(*apikey, "list", "every key, active or revoked");
  auto* apikey_revoke = subcommand(*apikey, "revoke", "stop a key from working");
  apikey_revoke->add_option("id", key_id, "key id (from `rbee apikey list`)")->required();

  // Inference through the queen's scheduler.
  std::string prompt;
  int64_t max_tokens = 128;
  double temperature = 0.8;
  double top_p = 0.95;
  int64_t top_k = 40;
  double min_p = 0.05;
  std::optional<int64_t> seed;
  std::vector<std::string> stop;
  std::string infer_hive;
  auto* infer = subcommand(app, "infer", "generate text: downloads, spawns and streams as needed");
  infer->add_option("--model", model_ref, "org/repo, org/repo:QUANT, a catalog id or ./x.gguf")
      ->required();
  infer->add_option("prompt", prompt, "the text to continue")->required();
  infer->add_option("--max-tokens", max_tokens, "most tokens to generate")->capture_default_str();
  infer->add_option("--temperature", temperature, "0 = greedy")->capture_default_str();
  infer->add_option("--top-p", top_p, "nucleus sampling")->capture_default_str();
  infer->add_option("--top-k", top_k, "0 = off")->capture_default_str();
  infer->add_option("--min-p", min_p, "0 = off")->capture_default_str();
  infer->add_option("--seed", seed, "same seed, same text");
  infer->add_option("--stop", stop, "stop before this text (repeatable)");
  infer->add_option("--hive", infer_hive, "run on this hive");
  infer->add_option("--worker", worker_id, "run on this worker");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);    // prints help or the error
    return code == 0 ? 0 : 2;  // CLI11's own codes are 100+; usage errors are 2 here
  }

  auto paths = Paths::from_process_environment();
  if (!paths) return fail(paths.error().message, 2);
  auto config = load_config(paths->config_file());
  if (!config) return fail(config.error().message, 2);
  if (hive_alias.empty()) hive_alias = config->hive.hive_id;
  Cli cli(*paths, *config, options);

  if (app.got_subcommand("status")) return cli.job(Json{{"operation", "status"}});
  if (app.got_subcommand("stop")) return cli.stop_all();
  if (queen->parsed()) {
    if (queen->got_subcommand("start")) return cli.queen_start();
    if (queen->got_subcommand("stop")) return cli.stop(kQueenProgram);
    return cli.queen_status();
  }
  if (hive_add->parsed()) return cli.hive_add(remote, replace);
  if (hive_remove->parsed()) return cli.hive_remove(remove_alias);
  if (hive_install->parsed()) {
    return cli.job(Json{{"operation", "hive_install"}, {"alias", remote_alias}});
  }
  if (hive_uninstall->parsed()) {
    return cli.job(
        Json{{"operation", "hive_uninstall"}, {"alias", remote_alias}, {"purge", purge}});
  }
  if (hive_start->parsed()) return cli.hive_start(hive_alias);
  if (hive_stop->parsed()) return cli.hive_stop(hive_alias);
  if (hive_status->parsed()) return cli.job(Json{{"operation", "hive_get"}, {"alias", hive_alias}});
  if (hive_list->parsed()) return cli.job(Json{{"operation", "hive_list"}});
  if (hive_check->parsed()) {
    return cli.job(Json{
        {"operation", "hive_check"}, {"hive_id", hive_alias}, {"duration_s", check_duration_s}});
  }
  if (catalog_hive.empty()) catalog_hive = config->hive.hive_id;
  bool local_hive = catalog_hive == config->hive.hive_id;
  auto absolute_if_local_file = [&](std::string& reference, bool on_local_hive) {
    // A path is read by the hive: when the hive is this machine's, make it absolute first
    // (the hive does not share our working directory).
    if (!on_local_hive || !looks_like_local_path(reference)) return;
    if (reference.starts_with("~/") && std::getenv("HOME") != nullptr) {
      reference = std::string(std::getenv("HOME")) + reference.substr(1);
    }
    reference = std::filesystem::absolute(reference).lexically_normal().string();
  };
  if (apikey_create->parsed()) return cli.apikey("POST", "/v1/apikeys", Json{{"name", key_name}});
  if (apikey_list->parsed()) return cli.apikey("GET", "/v1/apikeys", Json());
  if (apikey_revoke->parsed()) return cli.apikey("DELETE", "/v1/apikeys/" + key_id, Json());
  if (infer->parsed()) {
    absolute_if_local_file(model_ref, infer_hive.empty() || infer_hive == config->hive.hive_id);
    Json operation{{"operation", "infer"},
                   {"model", model_ref},
                   {"prompt", prompt},
                   {"max_tokens", max_tokens},
                   {"temperature", temperature},
                   {"top_p", top_p},
                   {"top_k", top_k},
                   {"min_p", min_p}};
    if (seed) operation["seed"] = *seed;
    if (!stop.empty()) operation["stop"] = stop;
    if (!infer_hive.empty()) operation["hive_id"] = infer_hive;
    if (!worker_id.empty()) operation["worker_id"] = worker_id;
    return cli.job(operation);
  }
  if (worker_spawn->parsed()) {
    absolute_if_local_file(model_ref, local_hive);
    Json operation{{"operation", "worker_spawn"},
                   {"hive_id", catalog_hive},
                   {"model", model_ref},
                   {"device", device},
                   {"ctx", ctx},
                   {"parallel", parallel},
                   {"threads", threads}};
    if (!worker_type.empty()) operation["worker_type"] = worker_type;
    if (!worker_id.empty()) operation["worker_id"] = worker_id;
    return cli.job(operation);
  }
  if (worker_list->parsed()) return cli.job(Json{{"operation", "active_worker_list"}});
  if (worker_get->parsed()) {
    return cli.job(Json{{"operation", "active_worker_get"}, {"worker_id", worker_id}});
  }
  if (worker_retire->parsed()) {
    return cli.job(Json{{"operation", "active_worker_retire"}, {"worker_id", worker_id}});
  }
  if (process_list->parsed()) {
    return cli.job(Json{{"operation", "worker_process_list"}, {"hive_id", catalog_hive}});
  }
  if (process_get->parsed() || process_delete->parsed()) {
    return cli.job(
        Json{{"operation", process_get->parsed() ? "worker_process_get" : "worker_process_delete"},
             {"hive_id", catalog_hive},
             {"pid", pid}});
  }
  if (model_download->parsed()) {
    absolute_if_local_file(model_ref, local_hive);
    return cli.job(Json{{"operation", "model_download"},
                        {"hive_id", catalog_hive},
                        {"model", model_ref},
                        {"revision", revision}});
  }
  if (model_list->parsed())
    return cli.job(Json{{"operation", "model_list"}, {"hive_id", catalog_hive}});
  if (model_get->parsed()) {
    return cli.job(Json{{"operation", "model_get"}, {"hive_id", catalog_hive}, {"id", model_ref}});
  }
  if (model_delete->parsed()) {
    return cli.job(Json{{"operation", "model_delete"},
                        {"hive_id", catalog_hive},
                        {"id", model_ref},
                        {"force", force}});
  }
  if (binary_list->parsed()) {
    return cli.job(Json{{"operation", "worker_binary_list"}, {"hive_id", catalog_hive}});
  }
  if (binary_get->parsed() || binary_delete->parsed()) {
    return cli.job(
        Json{{"operation", binary_get->parsed() ? "worker_binary_get" : "worker_binary_delete"},
             {"hive_id", catalog_hive},
             {"worker_type", worker_type}});
  }
  if (binary_install->parsed()) {
    if (local_hive && source.find("://") == std::string::npos) {
      source = std::filesystem::absolute(source).lexically_normal().string();
    }
    Json operation{{"operation", "worker_binary_install"},
                   {"hive_id", catalog_hive},
                   {"worker_type", worker_type},
                   {"source", source}};
    if (!sha256.empty()) operation["sha256"] = sha256;
    return cli.job(operation);
  }
  return fail("unknown command", 2);
}

}  // namespace rbee::cli
