// rbee-bench-kernels: the matrix kernels alone, on one thread, where the weights stay in the
// cache (what the arithmetic costs) and where they stream from memory (what a decode step
// sees). For each type and activation count it multiplies a matrix of random rows with
// random activations through kernels::matmul_rows, as the engine does, and prints the best
// of several passes as GB/s of weights and nanoseconds per row.
//
//   rbee-bench-kernels [--types q4_0x8,q4_K,...] [--acts 1,4,8] [--cols 2048]
//
// RBEE_KERNELS=avx2 (or scalar) picks a smaller kernel table, as in the engine.

#include <CLI/CLI.hpp>
#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <random>
#include <string>
#include <system_error>
#include <vector>

#include "engine/kernels/kernel_table.hpp"
#include "engine/kernels/kernel_type.hpp"
#include "engine/kernels/matvec.hpp"

namespace {

using rbee::engine::kernels::KernelTable;
using rbee::engine::kernels::KernelTraits;
using rbee::engine::kernels::KernelType;

// The kernel type named `name` (ggml's names, plus q4_0x8: Q4_0 repacked as models are at
// load), or nullptr.
const KernelTraits* traits_named(const std::string& name) {
  for (uint32_t id = 0; id < rbee::engine::kernels::kKernelTypeIdLimit; ++id) {
    const KernelTraits* traits = rbee::engine::kernels::find_type_traits(id);
    if (traits != nullptr && name == traits->name &&
        (traits->vec_dot != nullptr || traits->matvec != nullptr)) {
      return traits;
    }
  }
  return nullptr;
}

// A matrix of `n_rows` random rows of `type` (a multiple of its row_group), quantized from
// floats (for a repacked type: quantized as the type it is repacked from, then repacked a
// group of rows at a time).
std::vector<std::byte> random_matrix(const KernelTraits& type, int64_t n_rows, int64_t n_cols) {
  const size_t stride = rbee::engine::kernels::row_bytes(type, n_cols);
  std::vector<std::byte> matrix(stride * static_cast<size_t>(n_rows));
  const KernelTraits* source = &type;
  for (uint32_t id = 0; id < rbee::engine::kernels::kKernelTypeIdLimit; ++id) {
    const KernelTraits* traits = rbee::engine::kernels::find_type_traits(id);
    if (traits != nullptr && traits->repack_rows != nullptr && traits->repacked_type == type.type) {
      source = traits;
    }
  }
  std::mt19937 rng(7);
  std::normal_distribution<float> normal(0.0f, 0.02f);
  std::vector<float> row(static_cast<size_t>(n_cols));
  const auto group = static_cast<size_t>(type.row_group);
  std::vector<std::byte> quantized(stride * group);
  for (int64_t r = 0; r < n_rows; ++r) {
    for (float& v : row) v = normal(rng);
    std::byte* out = matrix.data() + static_cast<size_t>(r) * stride;
    if (source == &type) {
      type.quantize_row(row.data(), out, n_cols);
      continue;
    }
    const size_t in_group = static_cast<size_t>(r) % group;
    source->quantize_row(row.data(), quantized.data() + in_group * stride, n_cols);
    if (in_group + 1 == group)
      source->repack_rows(quantized.data(), out - in_group * stride, n_cols);
  }
  return matrix;
}

// Best seconds of `passes` products of the whole matrix with `n_act` activations.
double best_seconds(const KernelTraits& type, const std::vector<std::byte>& matrix, int64_t n_rows,
                    int64_t n_cols, int64_t n_act, int passes) {
  const size_t act_stride = rbee::engine::kernels::activation_stride(type.type, n_cols);
  std::vector<std::byte> acts(act_stride * static_cast<size_t>(n_act) + 64);
  std::mt19937 rng(11);
  std::uniform_real_distribution<float> uniform(-1.0f, 1.0f);
  std::vector<float> x(static_cast<size_t>(n_cols));
  for (int64_t j = 0; j < n_act; ++j) {
    for (float& v : x) v = uniform(rng);
    rbee::engine::kernels::quantize_activation(
        type.type, x.data(), n_cols,
        std::span(acts.data() + static_cast<size_t>(j) * act_stride, act_stride));
  }
  std::vector<float> y(static_cast<size_t>(n_rows * n_act));
  double best = 1e30;
  for (int pass = 0; pass < passes; ++pass) {
    const auto start = std::chrono::steady_clock::now();
    rbee::engine::kernels::matmul_rows(type.type, matrix.data(), n_cols, acts.data(), act_stride,
                                       n_act, y.data(), static_cast<size_t>(n_rows), 0, n_rows);
    const std::chrono::duration<double> took = std::chrono::steady_clock::now() - start;
    best = std::min(best, took.count());
  }
  return best;
}

std::vector<std::string> split(const std::string& list) {
  std::vector<std::string> items;
  size_t start = 0;
  while (start <= list.size()) {
    const size_t comma = std::min(list.find(',', start), list.size());
    if (comma > start) items.push_back(list.substr(start, comma - start));
    start = comma + 1;
  }
  return items;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"rbee-bench-kernels: matrix kernels in cache and from memory, one thread"};
  std::string types = "f16,q8_0,q4_0x8,q4_K,q6_K";
  std::string acts = "1,4,8";
  int64_t n_cols = 2048;
  app.add_option("--types", types, "kernel types, comma-separated (ggml's names, q4_0x8, q4_Kx8)");
  app.add_option("--acts", acts, "activation counts, comma-separated");
  app.add_option("--cols", n_cols, "row length")->check(CLI::Range(256, 1 << 16));
  CLI11_PARSE(app, argc, argv);

  std::vector<const KernelTraits*> chosen;
  for (const std::string& name : split(types)) {
    const KernelTraits* type = traits_named(name);
    if (type == nullptr || n_cols % type->block_size != 0) {
      std::fprintf(stderr, "rbee-bench-kernels: no kernel type '%s' for rows of %lld\n",
                   name.c_str(), static_cast<long long>(n_cols));
      return 2;
    }
    chosen.push_back(type);
  }
  std::vector<int64_t> counts;
  for (const std::string& count : split(acts)) {
    int64_t n_act = 0;
    const auto [end, error] = std::from_chars(count.data(), count.data() + count.size(), n_act);
    if (error != std::errc() || end != count.data() + count.size() || n_act < 1 || n_act > 64) {
      std::fprintf(stderr, "rbee-bench-kernels: '%s' is not an activation count (1 to 64)\n",
                   count.c_str());
      return 2;
    }
    counts.push_back(n_act);
  }
  std::printf("kernels: %s, %lld columns, one thread\n", KernelTable::active().name(),
              static_cast<long long>(n_cols));
  std::printf(
      "| type | activations | in cache (512 KiB): GB/s, ns/row | from memory (512 MiB): "
      "GB/s, ns/row |\n| --- | --- | --- | --- |\n");
  for (const KernelTraits* type : chosen) {
    const size_t stride = rbee::engine::kernels::row_bytes(*type, n_cols);
    // Whole groups of rows for an interleaved layout.
    const auto rows_in = [&](int64_t bytes) {
      const int64_t group = type->row_group;
      return std::max<int64_t>(1, bytes / int64_t(stride) / group) * group;
    };
    const int64_t cached_rows = rows_in(int64_t(512) << 10);
    const int64_t streamed_rows = rows_in(int64_t(512) << 20);
    const auto cached = random_matrix(*type, cached_rows, n_cols);
    const auto streamed = random_matrix(*type, streamed_rows, n_cols);
    for (const int64_t n_act : counts) {
      const double in_cache = best_seconds(*type, cached, cached_rows, n_cols, n_act, 300);
      const double from_memory = best_seconds(*type, streamed, streamed_rows, n_cols, n_act, 4);
      std::printf("| %s | %lld | %.1f, %.1f | %.1f, %.1f |\n", type->name,
                  static_cast<long long>(n_act), double(cached.size()) / in_cache / 1e9,
                  in_cache * 1e9 / double(cached_rows), double(streamed.size()) / from_memory / 1e9,
                  from_memory * 1e9 / double(streamed_rows));
    }
  }
  return 0;
}
