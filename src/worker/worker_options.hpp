#pragma once

// llm-worker-rbee's settings (ARCHITECTURE.md §7). The hive passes them as flags; there is no
// config file: a worker is one model on one port, started and stopped by its hive.

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>

#include "common/result.hpp"

namespace rbee::worker {

// How the worker process ends; the hive reads these.
inline constexpr int kExitOk = 0;          // drained after SIGTERM or POST /v1/shutdown
inline constexpr int kExitBadModel = 2;    // bad flags, or the model failed to load
inline constexpr int kExitCannotBind = 3;  // the port is taken or cannot be bound

struct WorkerOptions {
  std::string worker_id;
  std::filesystem::path model_path;
  std::string model_id;  // empty: the model file's name without ".gguf"
  std::string host = "127.0.0.1";
  int port = 0;
  std::string device = "cpu";  // or "cuda:N" (engine::gpu::place_model)
  std::string queen_url;       // empty: no heartbeats
  std::string hive_id = "localhost";
  std::filesystem::path token_file;  // empty: the OpenAI endpoints are open (standalone)
  int64_t ctx = 0;                   // tokens per slot; 0: the model's, capped at kDefaultMaxCtx
  int parallel = 1;                  // slots
  int threads = 0;                   // compute threads; 0: the machine's cores
  bool repack = true;                // LoadOptions::repack
  std::chrono::milliseconds heartbeat_interval{1000};
  std::chrono::seconds drain_timeout{10};
  // A test hook: loading takes at least this long, so tests can watch the loading state.
  std::chrono::milliseconds min_load_time{0};

  // The model id requests and heartbeats name.
  std::string effective_model_id() const;
  // The compute threads to use (threads, or the machine's cores).
  int effective_threads() const;
  // kInvalidArgument naming the flag: a missing worker id, model or port, a device that is not
  // cpu or cuda:N, a non-positive parallel, a negative ctx, a queen url without a token file.
  Status validate() const;
};

// The context per slot when --ctx is 0 or absent: the model's training context, at most this.
inline constexpr int64_t kDefaultMaxCtx = 4096;
int64_t resolve_ctx(int64_t requested_ctx, int64_t n_ctx_train);

}  // namespace rbee::worker
