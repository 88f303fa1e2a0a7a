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
  return fail("unknown command", 2);
}

}  // namespace rbee::cli
