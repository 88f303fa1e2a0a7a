#pragma once

// The `rbee` command line. run_cli() is the whole program; apps/rbee/main.cpp only calls it.

namespace rbee::cli {

// Returns the process exit code.
int run_cli(int argc, char** argv);

}  // namespace rbee::cli
