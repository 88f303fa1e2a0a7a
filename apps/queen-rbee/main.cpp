// queen-rbee: the orchestrator. Settings: config.toml [queen], then RBEE_QUEEN_* , then flags.

#include <CLI/CLI.hpp>
#include <cstdio>

#include "common/logging.hpp"
#include "common/program.hpp"
#include "lifecycle/shutdown_signal.hpp"
#include "queen/queen_app.hpp"

int main(int argc, char** argv) {
  rbee::lifecycle::ShutdownSignal shutdown;
  auto setup = rbee::load_program_setup();
  if (!setup) {
    std::fprintf(stderr, "queen-rbee: %s\n", setup.error().message.c_str());
    return 2;
  }
  rbee::QueenConfig config = setup->config.queen;
  std::string log_level = "info";
  CLI::App app{"queen-rbee: schedules LLM inference across the hives of your network"};
  app.set_version_flag("--version", std::string("queen-rbee ") + RBEE_VERSION);
  app.add_option("--host", config.host, "address to listen on")
      ->envname("RBEE_QUEEN_HOST")
      ->capture_default_str();
  app.add_option("--port", config.port, "port to listen on")
      ->envname("RBEE_QUEEN_PORT")
      ->capture_default_str();
  app.add_option("--ssh-config", config.ssh_config, "ssh_config file for reaching remote hives")
      ->envname("RBEE_QUEEN_SSH_CONFIG");
  app.add_option("--log-level", log_level, "trace, debug, info, warn, error")->envname("RBEE_LOG");
  CLI11_PARSE(app, argc, argv);
  rbee::set_log_level(log_level);

  rbee::queen::QueenApp queen({config, setup->config.scheduler, setup->paths},
                              [&shutdown] { shutdown.request(); });
  auto port = queen.bind();
  if (!port) {
    std::fprintf(stderr, "queen-rbee: %s\n", port.error().message.c_str());
    return 1;
  }
  // The pid file names a process that owns the port and is about to answer.
  rbee::PidFileGuard pid_file(setup->paths.pid_file("queen-rbee"));
  queen.serve();
  shutdown.wait();
  std::fprintf(stderr, "queen-rbee: shutting down\n");
  queen.stop();
  return 0;
}
