#include "llm/bench.hpp"

#include <algorithm>
#include <atomic>
#include <barrier>
#include <chrono>
#include <fstream>
#include <memory>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "common/huge_page_buffer.hpp"
#include "engine/gpu/device_placement.hpp"
#include "engine/kernels/kernel_table.hpp"
#include "engine/sampling/sampler.hpp"

namespace rbee::llm {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// 16 bytes: SSE2 on every x86-64, so no target flags are needed; the loads, not the adds,
// are the limit.
using Lane = uint64_t __attribute__((vector_size(16)));

uint64_t sum_lanes(const Lane* data, size_t n) {
  Lane a{}, b{}, c{}, d{}, e{}, f{}, g{}, h{};
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    a += data[i];
    b += data[i + 1];
    c += data[i + 2];
    d += data[i + 3];
    e += data[i + 4];
    f += data[i + 5];
    g += data[i + 6];
    h += data[i + 7];
  }
  for (; i < n; ++i) a += data[i];
  Lane total = a + b + c + d + e + f + g + h;
  return total[0] + total[1];
}

// Runs part(i) for i in [0, threads) at once, each on its own thread (0 on the caller), started
// together at a barrier; seconds from the first start to the last finish.
template <typename Part>
double timed_parallel(int threads, const Part& part) {
  std::barrier start(threads);
  std::vector<Clock::time_point> begins(static_cast<size_t>(threads));
  std::vector<Clock::time_point> ends(static_cast<size_t>(threads));
  auto body = [&](int i) {
    start.arrive_and_wait();
    begins[size_t(i)] = Clock::now();
    part(i);
    ends[size_t(i)] = Clock::now();
  };
  {
    std::vector<std::jthread> others;
    for (int i = 1; i < threads; ++i) others.emplace_back(body, i);
    body(0);
  }  // joined
  return std::chrono::duration<double>(*std::max_element(ends.begin(), ends.end()) -
                                       *std::min_element(begins.begin(), begins.end()))
      .count();
}

std::atomic<uint64_t> read_sink{0};

// A share of n elements: [begin, end) of part i of parts.
std::pair<size_t, size_t> part_range(size_t n, int i, int parts) {
  return {n * size_t(i) / size_t(parts), n * size_t(i + 1) / size_t(parts)};
}

// A buffer in memory that `threads` threads read at once, each summing its own contiguous
// part: a STREAM-style read, the ceiling of decoding.
class ReadBuffer {
 public:
  // `bytes` (rounded down to 16) written before any pass is timed, so that its pages are
  // mapped. kInvalidArgument for threads < 1; kResourceExhausted when it cannot be allocated.
  static Result<ReadBuffer> create(uint64_t bytes, int threads) {
    if (threads < 1 || bytes < sizeof(Lane)) {
      return Error{ErrorCode::kInvalidArgument, "threads and MiB must be at least 1"};
    }
    ReadBuffer buffer;
    buffer.threads_ = threads;
    buffer.n_ = size_t(bytes / sizeof(Lane));
    // In 2 MiB pages where the kernel gives them, as the engine's weights are (repacked copies,
    // and files on file systems with large folios): with 4 KiB pages the TLB misses alone
    // lower the figure by up to a fifth on some hosts, and the ceiling would sit below what the
    // engine reaches.
    buffer.mapping_ = HugePageBuffer(buffer.n_ * sizeof(Lane));
    if (buffer.mapping_.data() == nullptr) {
      return Error{ErrorCode::kResourceExhausted,
                   "cannot allocate " + std::to_string(bytes >> 20) + " MiB for the read buffer"};
    }
    buffer.sums_.assign(size_t(threads), 0);
    // Each thread writes the part it will read, so the pages are mapped (and near it).
    auto* lanes = reinterpret_cast<Lane*>(buffer.mapping_.data());
    timed_parallel(threads, [&](int i) {
      auto [begin, end] = part_range(buffer.n_, i, threads);
      for (size_t j = begin; j < end; ++j) lanes[j] = Lane{j, ~j};
    });
    return buffer;
  }

  // Seconds of one pass over the whole buffer.
  double timed_pass() {
    const auto* lanes = reinterpret_cast<const Lane*>(mapping_.data());
    const double seconds = timed_parallel(threads_, [&](int i) {
      auto [begin, end] = part_range(n_, i, threads_);
      sums_[size_t(i)] += sum_lanes(lanes + begin, end - begin);
    });
    // The sums are used, so the reads cannot be left out.
    uint64_t total = 0;
    for (uint64_t sum : sums_) total += sum;
    read_sink.store(total, std::memory_order_relaxed);
    return seconds;
  }

  uint64_t bytes() const { return uint64_t(n_) * sizeof(Lane); }

 private:
  HugePageBuffer mapping_;
  size_t n_ = 0;
  int threads_ = 1;
  std::vector<uint64_t> sums_;
};

}  // namespace

int64_t default_bandwidth_mib() {
  std::ifstream meminfo("/proc/meminfo");
  std::string line;
  while (std::getline(meminfo, line)) {
    std::istringstream fields(line);
    std::string key;
    int64_t kib = 0;
    if (fields >> key >> kib && key == "MemAvailable:") {
      return std::clamp<int64_t>(kib / 1024 / 4, 64, 1024);
    }
  }
  return 1024;
}

Result<BandwidthResult> measure_read_bandwidth(const BandwidthOptions& options) {
  if (options.threads < 1 || options.passes < 1 || options.mib < 0) {
    return Error{ErrorCode::kInvalidArgument, "threads, passes and MiB must be at least 1"};
  }
  const int64_t mib = options.mib > 0 ? options.mib : default_bandwidth_mib();
  RBEE_ASSIGN_OR_RETURN(auto buffer, ReadBuffer::create(uint64_t(mib) << 20, options.threads));
  double best = 0;
  for (int pass = 0; pass < options.passes; ++pass) {
    const double seconds = buffer.timed_pass();
    if (pass == 0 || seconds < best) best = seconds;
  }
  return BandwidthResult{double(buffer.bytes()) / best / 1e9, options.threads, buffer.bytes()};
}

Result<BenchResult> run_bench(const BenchOptions& options) {
  if (options.threads < 1 || options.prompt_tokens < 1 || options.gen_tokens < 1 ||
      options.parallel < 1) {
    return Error{ErrorCode::kInvalidArgument,
                 "threads, prompt tokens, generated tokens and parallel must be at least 1"};
  }
  const bool on_cpu = engine::gpu::is_cpu(options.device);
  if (options.interleaved_ceiling && !on_cpu) {
    return Error{ErrorCode::kInvalidArgument,
                 "the interleaved ceiling is the CPU's memory bandwidth; it needs --device cpu"};
  }
  BenchResult result;
  result.threads = options.threads;
  result.parallel = options.parallel;
  result.prompt_tokens = options.prompt_tokens;
  result.gen_tokens = options.gen_tokens;
  result.kernels = engine::kernels::KernelTable::active().name();

  auto load_start = Clock::now();
  RBEE_ASSIGN_OR_RETURN(auto model,
                        engine::Model::load(options.model, {.repack = options.repack && on_cpu}));
  RBEE_RETURN_IF_ERROR(engine::gpu::place_model(*model, options.device));
  result.load_s = seconds_since(load_start);
  result.device = model->device() ? model->device()->description() : "cpu";
  result.repacked_bytes = model->repacked_bytes();
  for (const auto& tensor : model->gguf().tensors()) result.model_bytes += tensor.n_bytes;
  result.decode_read_bytes = result.model_bytes;
  if (&model->output() != &model->token_embd()) {
    result.decode_read_bytes -= model->token_embd().n_bytes;
  }

  const int64_t n_vocab = model->hparams().n_vocab;
  const int64_t n_ctx = int64_t(options.prompt_tokens) + options.gen_tokens;
  // The sessions share one pool, as a worker's slots do: their decode steps run as one batch.
  auto pool = std::make_shared<engine::ThreadPool>(options.threads);
  std::vector<std::unique_ptr<engine::Session>> sessions;
  for (int s = 0; s < options.parallel; ++s) {
    RBEE_ASSIGN_OR_RETURN(auto session,
                          engine::Session::create(*model, n_ctx, options.kv_type, pool));
    sessions.push_back(std::move(session));
  }

  std::mt19937_64 rng(options.seed);
  std::uniform_int_distribution<int32_t> random_token(0, int32_t(n_vocab - 1));
  // One token reads every weight: the mmap'd pages are in before anything is timed. A GPU
  // also loads each kernel (cuBLAS's for prompts among them) at its first use, so it first
  // runs a prompt of the timed size.
  {
    const int32_t token = random_token(rng);
    RBEE_RETURN_IF_ERROR(sessions[0]->eval(std::span(&token, 1)));
    if (model->device()) {
      std::vector<int32_t> prompt(size_t(options.prompt_tokens), token);
      sessions[0]->reset();
      RBEE_RETURN_IF_ERROR(sessions[0]->eval(prompt));
    }
    sessions[0]->reset();
  }

  std::vector<int32_t> next(sessions.size());
  auto pp_start = Clock::now();
  for (size_t s = 0; s < sessions.size(); ++s) {
    std::vector<int32_t> prompt(size_t(options.prompt_tokens));
    for (int32_t& token : prompt) token = random_token(rng);
    RBEE_ASSIGN_OR_RETURN(auto logits, sessions[s]->eval(prompt));
    next[s] = engine::argmax(logits);
  }
  result.pp_s = seconds_since(pp_start);

  std::optional<ReadBuffer> ceiling;
  if (options.interleaved_ceiling) {
    const uint64_t most = uint64_t(default_bandwidth_mib()) << 20;
    RBEE_ASSIGN_OR_RETURN(
        ceiling, ReadBuffer::create(std::min(result.decode_read_bytes, most), options.threads));
  }
  std::vector<engine::SequenceInput> step_inputs;
  for (size_t s = 0; s < sessions.size(); ++s) {
    step_inputs.push_back({sessions[s].get(), std::span(&next[s], 1)});
  }
  double read_s = 0;
  for (int step = 0; step < options.gen_tokens; ++step) {
    auto step_start = Clock::now();
    RBEE_ASSIGN_OR_RETURN(auto logits, engine::eval_batch(step_inputs));
    for (size_t s = 0; s < sessions.size(); ++s) next[s] = engine::argmax(logits[s]);
    result.tg_s += seconds_since(step_start);
    if (ceiling) read_s += ceiling->timed_pass();
  }
  if (ceiling) {
    result.ceiling_read_gb_per_s = double(ceiling->bytes()) * options.gen_tokens / read_s / 1e9;
    result.tg_read_gb_per_s =
        double(result.decode_read_bytes) * options.gen_tokens / result.tg_s / 1e9;
  }

  result.pp_tokens_per_s = double(options.prompt_tokens) * options.parallel / result.pp_s;
  result.tg_tokens_per_s = double(options.gen_tokens) * options.parallel / result.tg_s;
  return result;
}

}  // namespace rbee::llm
