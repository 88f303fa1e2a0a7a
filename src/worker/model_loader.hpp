#pragma once

// Loading a model for serving, with honest progress: Model::load maps and checks the GGUF
// (fast: only the header and tensor infos are read), then the tensor data is read into
// memory page by page, which is the real cost of a large model on a cold disk. Only after
// that does the worker create its slots and report ready.

#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "common/result.hpp"
#include "engine/chat/chat_template.hpp"
#include "engine/model/model.hpp"
#include "engine/tokenizer/tokenizer.hpp"

namespace rbee::worker {

struct LoadedModel {
  std::unique_ptr<engine::Model> model;
  std::optional<engine::Tokenizer> tokenizer;
  engine::ChatFormatChoice chat_format;  // from tokenizer.chat_template
};

struct LoadOptions {
  // Called with 0..1 as the weights are read (from the loading thread). Not called with 1:
  // the caller decides when the model is ready.
  std::function<void(double)> on_progress;
  // Checked between chunks; true ends the load with kCancelled.
  std::function<bool()> cancelled;
  // Loading takes at least this long (a test hook: lets tests watch the loading state).
  std::chrono::milliseconds min_duration{0};
  // engine::ModelOptions::repack: copy matrices into the kernels' faster layout (false: serve
  // every weight from the mapped file, as several workers of one file may prefer). Only on
  // the CPU: a GPU uploads the weights as the file has them.
  bool repack = true;
  // Where the forward pass runs: "cpu" or "cuda:N" (engine::gpu::place_model).
  std::string device = "cpu";
};

// kNotFound for a missing file; kInvalidArgument (starting with the path) for a file that is
// not a valid GGUF model of a supported architecture or whose tokenizer is unsupported;
// kUnavailable (naming the device) when this build has no CUDA or the GPU is not there, before
// the weights are read; kResourceExhausted when they do not fit in its memory; kCancelled
// when `cancelled` turned true.
Result<LoadedModel> load_model(const std::filesystem::path& path, const LoadOptions& options);

// Reads every page of the tensor data the forward pass reads from the mapped file (madvise
// WILLNEED, then one byte per page) in chunks, reporting the fraction done. kCancelled when
// `cancelled` turned true.
Status prefault_weights(const engine::Model& model, const LoadOptions& options);

}  // namespace rbee::worker
