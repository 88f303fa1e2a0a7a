#pragma once

// Writing one inference job to its client: as OpenAI stream chunks (`text/event-stream`) or as
// one JSON body. Both are produced through a streaming response, so that a client that goes
// away is noticed while the job runs (a failed write) and its slot is freed: streams write
// every piece of text (and a keep-alive comment when idle), plain bodies write a space (JSON
// allows leading white space) when nothing was written for a while.

#include <atomic>
#include <chrono>

#include "http/server.hpp"
#include "worker/worker_service.hpp"

namespace rbee::worker {

// How long a plain (non-streaming) response stays silent before it writes a space.
inline constexpr std::chrono::milliseconds kBodyProbeInterval{200};
// How long a stream stays silent before it writes a keep-alive comment.
inline constexpr std::chrono::milliseconds kStreamKeepAliveInterval{2000};

// The 200 response that writes `submission` as it runs. `open_streams` counts it from now
// until its producer is done (or dropped unused).
http::Response job_response(Submission submission, bool stream, std::atomic<int>& open_streams);

}  // namespace rbee::worker
