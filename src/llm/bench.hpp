#pragma once

// The engine's speed and the machine's ceiling, measured in the same run: `rbee-llm bandwidth`
// (a STREAM-style read) and `rbee-llm bench` (prompt processing and generation on one model).
// Decoding a token reads every weight once, so bandwidth / model bytes bounds tg tok/s.

#include <cstdint>
#include <filesystem>
#include <string>

#include "common/result.hpp"
#include "engine/model/model.hpp"

namespace rbee::llm {

struct BandwidthOptions {
  int threads = 1;
  int64_t mib = 0;  // 0: 1 GiB, or a quarter of the available memory when that is less
  int passes = 5;
};

struct BandwidthResult {
  double read_gb_per_s = 0;  // best pass, 1e9 bytes per second
  int threads = 0;
  uint64_t bytes = 0;
};

// Each thread sums its own contiguous part of one buffer, which was written (so its pages are
// mapped) before any pass is timed. kInvalidArgument for threads < 1, passes < 1 or mib < 1;
// kResourceExhausted when the buffer cannot be allocated.
Result<BandwidthResult> measure_read_bandwidth(const BandwidthOptions& options);

// The default buffer size in MiB: 1024, or a quarter of MemAvailable when that is less
// (at least 64).
int64_t default_bandwidth_mib();

struct BenchOptions {
  std::filesystem::path model;
  int threads = 1;
  int prompt_tokens = 128;
  int gen_tokens = 64;
  int parallel = 1;  // sessions generating round-robin
  uint64_t seed = 1;
  engine::KvType kv_type = engine::KvType::kF16;
  bool repack = true;          // engine::ModelOptions::repack (the CPU's only)
  std::string device = "cpu";  // or "cuda:N" (engine/gpu)
  // A read of a buffer as large as the weights a step reads (at most default_bandwidth_mib())
  // after every decode step, with as many threads: the ceiling measured at the moments the
  // engine ran. A shared host's bandwidth drifts by a third from minute to minute, and a
  // reading taken before or after the run can land in a burst that the run did not see.
  bool interleaved_ceiling = false;
};

struct BenchResult {
  double pp_tokens_per_s = 0;  // prompt tokens of all sessions / time of their prompt evals
  double tg_tokens_per_s = 0;  // generated tokens of all sessions / time of all steps
  uint64_t model_bytes = 0;    // sum of the tensors' data sizes
  // The weights a decode step reads: every tensor but the token embedding table, of which a
  // step reads one row (unless the output matrix is that table). The ceiling of decoding is
  // bandwidth / these bytes.
  uint64_t decode_read_bytes = 0;
  int threads = 0;
  int parallel = 0;
  double load_s = 0;            // Model::load
  uint64_t repacked_bytes = 0;  // weights the model copied into a faster layout at load
  int prompt_tokens = 0;
  int gen_tokens = 0;
  double pp_s = 0;
  double tg_s = 0;
  // With interleaved_ceiling: the reads' bytes over their seconds, and the weights the steps
  // read over the steps' seconds (decode_read_bytes a step); 0 otherwise.
  double ceiling_read_gb_per_s = 0;
  double tg_read_gb_per_s = 0;
  std::string kernels;  // the kernel table that ran ("avx2", "scalar", ...)
  std::string device;   // "cpu", or the GPU in words
};

// Loads the model, evaluates one token to fault its pages in, then per session one batched
// eval of `prompt_tokens` random ids (fixed seed) and `gen_tokens` single-token evals, each
// feeding the greedy token of the last logits; the sessions' steps run as one batch.
// Errors of Model::load (kNotFound for a missing file), kInvalidArgument for counts < 1 and
// for an interleaved ceiling off the CPU.
Result<BenchResult> run_bench(const BenchOptions& options);

}  // namespace rbee::llm
