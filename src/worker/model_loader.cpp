#include "worker/model_loader.hpp"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <thread>
#include <utility>
#include <vector>

#include "engine/gpu/cuda_forward.hpp"
#include "engine/gpu/device_placement.hpp"
#include "engine/model/vocabulary_loader.hpp"

namespace rbee::worker {
namespace {

constexpr size_t kChunkBytes = 8 << 20;
// The share of the progress bar the weights take; the rest is the tokenizer before and the
// slots after, which are quick.
constexpr double kParsedProgress = 0.05;
constexpr double kWeightsProgress = 0.9;

bool is_cancelled(const LoadOptions& options) {
  return options.cancelled && options.cancelled();
}

void report(const LoadOptions& options, double progress) {
  if (options.on_progress) options.on_progress(progress);
}

}  // namespace

Status prefault_weights(const engine::Model& model, const LoadOptions& options) {
  // The file's tensors the forward pass reads from the mapping (not those it reads from a
  // repacked copy, which is resident already): faulting those in would only double the
  // resident memory. A model bound for a GPU is never repacked, so that is every matrix: the
  // very bytes its upload reads, which then come from memory rather than a cold disk.
  std::vector<std::pair<const uint8_t*, size_t>> ranges;
  size_t total = 0;
  for (const auto& tensor : model.gguf().tensors()) {
    if (tensor.n_bytes == 0 || !model.reads_from_file(tensor)) continue;
    ranges.emplace_back(tensor.data, tensor.n_bytes);
    total += tensor.n_bytes;
  }
  std::sort(ranges.begin(), ranges.end());
  const auto started = std::chrono::steady_clock::now();
  const size_t page = size_t(sysconf(_SC_PAGESIZE));
  // The kernel reads ahead on its own once it knows a whole range is wanted.
  for (const auto& [data, bytes] : ranges) {
    const uintptr_t aligned = reinterpret_cast<uintptr_t>(data) & ~(uintptr_t(page) - 1);
    const size_t length = size_t(reinterpret_cast<uintptr_t>(data) + bytes - aligned);
    madvise(reinterpret_cast<void*>(aligned), length, MADV_WILLNEED);
  }
  if (total == 0) {
    report(options, kParsedProgress + kWeightsProgress);
    return ok_status();
  }
  // At least a few chunks, so that a test's minimum duration spreads over visible steps.
  const size_t chunk = std::clamp<size_t>(total / 16, page, kChunkBytes);
  uint8_t sink = 0;
  size_t done = 0;
  size_t since_report = 0;
  for (const auto& [data, bytes] : ranges) {
    for (size_t offset = 0; offset < bytes;) {
      if (is_cancelled(options)) return make_error(ErrorCode::kCancelled, "loading was cancelled");
      const size_t n = std::min(chunk - since_report, bytes - offset);
      // One byte a page (the first of the range may start mid-page).
      for (size_t at = 0; at < n; at += page) {
        sink ^= *static_cast<const volatile uint8_t*>(data + offset + at);
      }
      offset += n;
      done += n;
      since_report += n;
      if (since_report < chunk && done < total) continue;
      since_report = 0;
      const double fraction = double(done) / double(total);
      report(options, kParsedProgress + kWeightsProgress * fraction);
      // The test hook: pace the chunks so that the whole read takes min_duration.
      if (options.min_duration.count() > 0) {
        std::this_thread::sleep_until(
            started +
            std::chrono::duration_cast<std::chrono::nanoseconds>(options.min_duration * fraction));
      }
    }
  }
  asm volatile("" : : "r"(sink));  // keep the reads
  return ok_status();
}

Result<LoadedModel> load_model(const std::filesystem::path& path, const LoadOptions& options) {
  report(options, 0);
  const bool on_cpu = engine::gpu::is_cpu(options.device);
  if (!on_cpu) {
    // A GPU that is not there fails the load now, not after gigabytes of weights were read.
    RBEE_ASSIGN_OR_RETURN(engine::gpu::DeviceName device,
                          engine::gpu::parse_device_name(options.device));
    RBEE_RETURN_IF_ERROR(engine::gpu::cuda_free_bytes(device.index));
  }
  LoadedModel loaded;
  RBEE_ASSIGN_OR_RETURN(loaded.model,
                        engine::Model::load(path, {.repack = options.repack && on_cpu}));
  auto vocabulary = engine::read_vocabulary(loaded.model->gguf());
  if (!vocabulary) {
    return make_error(vocabulary.error().code, path.string() + ": " + vocabulary.error().message);
  }
  auto tokenizer = engine::Tokenizer::create(std::move(*vocabulary));
  if (!tokenizer) {
    return make_error(tokenizer.error().code, path.string() + ": " + tokenizer.error().message);
  }
  loaded.tokenizer = std::move(*tokenizer);
  auto chat_template = loaded.model->gguf().get<std::string_view>("tokenizer.chat_template");
  loaded.chat_format =
      engine::detect_chat_format(chat_template ? *chat_template : std::string_view());
  report(options, kParsedProgress);
  // Before the placement: reading the weights is what takes long, and only this reports it.
  RBEE_RETURN_IF_ERROR(prefault_weights(*loaded.model, options));
  RBEE_RETURN_IF_ERROR(engine::gpu::place_model(*loaded.model, options.device));
  return loaded;
}

}  // namespace rbee::worker
