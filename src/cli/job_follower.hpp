#pragma once

// Submits an operation to the queen and follows its event stream to the end, rendering it.
// Ctrl-C while following cancels the job on the server (a second Ctrl-C quits at once).

#include "cli/render.hpp"
#include "contracts/json_reader.hpp"
#include "http/client.hpp"

namespace rbee::cli {

// Returns the exit code: 0 completed, 1 failed, 2 refused (400), 130 cancelled.
int run_job(const http::Client& queen, const contracts::Json& operation,
            const RenderOptions& options);

}  // namespace rbee::cli
