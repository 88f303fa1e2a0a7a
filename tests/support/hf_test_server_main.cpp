// hf-test-server: the HuggingFace test server as a program, for tests that run real
// processes (the official client's fidelity check, hive integration tests) and benchmarks.
// Prints its URL on the first line of stdout, then serves until SIGINT or SIGTERM.

#include <CLI/CLI.hpp>
#include <csignal>
#include <cstdio>
#include <iostream>

#include "hf_test_server.hpp"

int main(int argc, char** argv) {
  CLI::App app{"A local HuggingFace Hub for tests: tree API, resolve, CDN with ranges, faults"};
  std::string host = "127.0.0.1";
  int port = 0;
  std::vector<std::string> repos;
  std::vector<std::string> gated;
  std::string token;
  size_t page_size = 0;
  app.add_option("--host", host, "address to listen on");
  app.add_option("--port", port, "port (0: any free one)");
  app.add_option("--repo", repos,
                 "NAME=PATH: serve the file PATH, or every file under the folder PATH, as repo "
                 "NAME (repeatable)");
  app.add_option("--gated", gated, "repo NAME needs --token to download (repeatable)");
  app.add_option("--token", token, "the token gated repos accept");
  app.add_option("--page-size", page_size, "tree API entries per page (0: one page)");
  CLI11_PARSE(app, argc, argv);
  if (!gated.empty() && token.empty()) {
    std::cerr << "hf-test-server: --gated needs --token\n";
    return 2;
  }

  // Block the stop signals before any thread starts, then wait for them here.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  rbee::testing::HfTestServer server(rbee::testing::HfTestServerOptions{host, port, page_size});
  for (const auto& spec : repos) {
    auto equals = spec.find('=');
    if (equals == std::string::npos) {
      std::cerr << "hf-test-server: --repo expects NAME=PATH, got '" << spec << "'\n";
      return 2;
    }
    std::string name = spec.substr(0, equals);
    std::filesystem::path path = spec.substr(equals + 1);
    auto added = std::filesystem::is_directory(path)
                     ? server.add_folder(name, path)
                     : server.add_file_from_disk(name, path.filename().string(), path);
    if (!added) {
      std::cerr << "hf-test-server: " << added.error().message << "\n";
      return 1;
    }
  }
  for (const auto& name : gated) server.set_gated(name, token);

  std::cout << server.url() << std::endl;
  int signal_number = 0;
  sigwait(&stop_signals, &signal_number);
  return 0;
}
