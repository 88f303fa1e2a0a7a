// rbee-hive: runs operations on this machine and reports to the queen.
// Settings: config.toml [hive], then RBEE_HIVE_*, then flags.

#include <CLI/CLI.hpp>
#include <cstdio>

#include "common/logging.hpp"
#include "common/program.hpp"
#include "hive/hive_app.hpp"
#include "lifecycle/shutdown_signal.hpp"

int main(int argc, char** argv) {
  rbee::lifecycle::ShutdownSignal shutdown;
  auto setup = rbee::load_program_setup();
  if (!setup) {
    std::fprintf(stderr, "rbee-hive: %s\n", setup.error().message.c_str());
    return 2;
  }
  rbee::HiveConfig config = setup->config.hive;
  std::string log_level = "info";
  CLI::App app{"rbee-hive: runs models and workers on this machine for the queen"};
  app.set_version_flag("--version", std::string("rbee-hive ") + RBEE_VERSION);
  app.add_option("--host", config.host, "address to listen on")
      ->envname("RBEE_HIVE_HOST")
      ->capture_default_str();
  app.add_option("--port", config.port, "port to listen on")
      ->envname("RBEE_HIVE_PORT")
      ->capture_default_str();
  app.add_option("--hive-id", config.hive_id, "this hive's name")
      ->envname("RBEE_HIVE_ID")
      ->capture_default_str();
  app.add_option("--queen-url", config.queen_url, "where the queen listens")
      ->envname("RBEE_QUEEN_URL");
  app.add_option("--heartbeat-s", config.heartbeat_s, "seconds between heartbeats")
      ->envname("RBEE_HIVE_HEARTBEAT_S")
      ->capture_default_str();
  app.add_option("--log-level", log_level, "trace, debug, info, warn, error")->envname("RBEE_LOG");
  CLI11_PARSE(app, argc, argv);
  rbee::set_log_level(log_level);
  rbee::RbeeConfig effective = setup->config;
  effective.hive = config;
  if (auto valid = effective.validate(); !valid) {
    std::fprintf(stderr, "rbee-hive: %s\n", valid.error().message.c_str());
    return 2;
  }
  std::string queen_url =
      config.queen_url.empty() ? setup->config.local_queen_url() : config.queen_url;

  rbee::hive::HiveApp hive({config, setup->paths, queen_url, "nvidia-smi", setup->config.downloads,
                            setup->config.workers},
                           [&shutdown] { shutdown.request(); });
  auto port = hive.bind();
  if (!port) {
    std::fprintf(stderr, "rbee-hive: %s\n", port.error().message.c_str());
    return 1;
  }
  // The pid file names a process that owns the port and is about to answer.
  rbee::PidFileGuard pid_file(setup->paths.pid_file("rbee-hive"));
  hive.serve();
  shutdown.wait();
  std::fprintf(stderr, "rbee-hive: shutting down\n");
  hive.stop();
  return 0;
}
