// rbee: the command line. Everything lives in src/cli.

#include "cli/cli_app.hpp"

int main(int argc, char** argv) {
  return rbee::cli::run_cli(argc, argv);
}
