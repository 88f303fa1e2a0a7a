// rbee-llm: the engine's command-line tool. Everything lives in src/llm.

#include "llm/llm_cli.hpp"

int main(int argc, char** argv) {
  return rbee::llm::run_llm_cli(argc, argv);
}
