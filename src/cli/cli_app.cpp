#include "cli/cli_app.hpp"

#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <filesystem>

#include "cli/job_follower.hpp"
#include "cli/local_services.hpp"
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
        services_(paths, config, own_folder()),
        config_(std::move(config)) {}

  // A command that talks to the queen: the local one is started when it is not running.
  int job(const Json& operation) {
    if (options_.queen_url.empty()) {
      if (auto started = services_.ensure_running(); !started) return fail(started.error().message);
    }
    http::Client queen({queen_url(), "", 3, 60});
    return run_job(queen, operation, {options_.json, ::isatty(STDOUT_FILENO) == 1});
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

  int hive_start(const std::string& alias) {
    if (alias != config_.hive.hive_id) return remote_hive_not_yet(alias);
    if (auto started = services_.ensure_running(); !started) return fail(started.error().message);
    return job(Json{{"operation", "hive_get"}, {"alias", alias}});
  }

  int hive_stop(const std::string& alias) {
    if (alias != config_.hive.hive_id) return remote_hive_not_yet(alias);
    return stop(kHiveProgram);
  }

 private:
  std::string queen_url() const {
    return options_.queen_url.empty() ? services_.queen_url() : options_.queen_url;
  }

  int remote_hive_not_yet(const std::string& alias) {
    return fail("hive '" + alias + "' is not this machine's hive ('" + config_.hive.hive_id +
                    "'); starting and stopping remote hives over ssh is not built yet (issue #7)",
                2);
  }

  GlobalOptions options_;
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
  auto* hive_start = subcommand(*hive, "start", "start this machine's hive");
  auto* hive_stop = subcommand(*hive, "stop", "stop this machine's hive");
  auto* hive_status = subcommand(*hive, "status", "a hive's state as the queen sees it");
  auto* hive_list = subcommand(*hive, "list", "every hive the queen knows");
  auto* hive_check = subcommand(*hive, "check", "run the hive's self-check through the queen");
  hive_check->add_option("--duration", check_duration_s, "keep checking for this many seconds");
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
  for (auto* sub : {model_download, model_list, model_get, model_delete, binary_list, binary_get,
                    binary_delete, binary_install}) {
    sub->add_option("--hive", catalog_hive, "which hive (default: this machine's)");
  }

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
  if (model_download->parsed()) {
    // A path is read by the hive: when the hive is this machine's, make it absolute first
    // (the hive does not share our working directory).
    if (local_hive && looks_like_local_path(model_ref)) {
      if (model_ref.starts_with("~/") && std::getenv("HOME") != nullptr) {
        model_ref = std::string(std::getenv("HOME")) + model_ref.substr(1);
      }
      model_ref = std::filesystem::absolute(model_ref).lexically_normal().string();
    }
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
