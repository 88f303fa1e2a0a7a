#pragma once

// `rbee-llm`: the engine's own command-line tool (info, tokenize, run, logits, synth), with
// no server. Bad arguments exit 2, failures 1, each with one clear line on stderr.

namespace rbee::llm {

int run_llm_cli(int argc, char** argv);

}  // namespace rbee::llm
