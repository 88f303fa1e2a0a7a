#include "llm/synth.hpp"

#include <algorithm>
#include <cctype>
#include <cstring>
#include <random>

#include "engine/gguf/gguf_reader.hpp"
#include "engine/gguf/gguf_writer.hpp"
#include "engine/kernels/kernel_table.hpp"
#include "engine/tokenizer/vocabulary.hpp"

namespace rbee::llm {
namespace {

using engine::GgmlType;
using engine::GgufValue;

struct TensorSpec {
  std::string name;
  std::vector<uint64_t> dims;  // ggml order
};

// The type named `name`, in any case ("Q4_K", "q4_k", "F16").
Result<const engine::kernels::KernelTraits*> find_type(const std::string& name) {
  auto same = [](std::string_view a, std::string_view b) {
    return std::ranges::equal(a, b, [](char x, char y) {
      return std::tolower(static_cast<unsigned char>(x)) ==
             std::tolower(static_cast<unsigned char>(y));
    });
  };
  for (uint32_t id = 0; id < engine::kGgmlTypeMaxKnownId; ++id) {
    const auto* traits = engine::kernels::find_type_traits(id);
    if (traits && traits->vec_dot && same(name, traits->name)) return traits;
  }
  return Error{ErrorCode::kInvalidArgument,
               "unknown type '" + name +
                   "' (f32, f16, bf16, q8_0, q4_0, q4_1, q5_0, q5_1, q2_K, q3_K, q4_K, q5_K, q6_K, "
                   "q4_K_M)"};
}

// The types of a model's matrices: one type, or a mix by tensor as llama.cpp's Q4_K_M
// (simplified): Q6_K for the output matrix, and for attn_v and ffn_down in the layers where it
// spends more bits (the first and last eighth of the layers, and every third one between);
// Q4_K everywhere else.
class MatrixTypes {
 public:
  static Result<MatrixTypes> parse(const std::string& name) {
    MatrixTypes types;
    if (name == "q4_K_M" || name == "Q4_K_M") {
      types.base_ = &engine::kernels::type_traits(engine::kernels::KernelType::kQ4_K);
      types.more_bits_ = &engine::kernels::type_traits(engine::kernels::KernelType::kQ6_K);
      types.file_type_ = 15;  // llama.cpp's LLAMA_FTYPE_MOSTLY_Q4_K_M
      return types;
    }
    RBEE_ASSIGN_OR_RETURN(types.base_, find_type(name));
    types.file_type_ = uint32_t(types.base_->type);
    return types;
  }

  const engine::kernels::KernelTraits& of(const std::string& tensor, int64_t n_layer) const {
    if (more_bits_ == nullptr) return *base_;
    if (tensor == "output.weight") return *more_bits_;
    const bool mixed = tensor.ends_with(".attn_v.weight") || tensor.ends_with(".ffn_down.weight");
    const int64_t layer = layer_of(tensor);
    if (mixed && layer >= 0 &&
        (layer < n_layer / 8 || layer >= 7 * n_layer / 8 || (layer - n_layer / 8) % 3 == 2)) {
      return *more_bits_;
    }
    return *base_;
  }
  uint32_t file_type() const { return file_type_; }

 private:
  // N of "blk.N.…", or -1.
  static int64_t layer_of(const std::string& tensor) {
    if (tensor.rfind("blk.", 0) != 0) return -1;
    return std::stoll(tensor.substr(4));
  }

  const engine::kernels::KernelTraits* base_ = nullptr;
  const engine::kernels::KernelTraits* more_bits_ = nullptr;
  uint32_t file_type_ = 0;
};

std::vector<TensorSpec> llama_tensors(const std::string& arch, int64_t n_embd, int64_t n_layer,
                                      int64_t n_head, int64_t n_head_kv, int64_t n_ff,
                                      int64_t n_vocab, bool tied) {
  const auto e = uint64_t(n_embd);
  const auto kv = uint64_t(n_embd / n_head * n_head_kv);
  std::vector<TensorSpec> specs{{"token_embd.weight", {e, uint64_t(n_vocab)}},
                                {"output_norm.weight", {e}}};
  if (!tied) specs.push_back({"output.weight", {e, uint64_t(n_vocab)}});
  for (int64_t i = 0; i < n_layer; ++i) {
    std::string p = "blk." + std::to_string(i) + ".";
    specs.push_back({p + "attn_norm.weight", {e}});
    specs.push_back({p + "attn_q.weight", {e, e}});
    specs.push_back({p + "attn_k.weight", {e, kv}});
    specs.push_back({p + "attn_v.weight", {e, kv}});
    specs.push_back({p + "attn_output.weight", {e, e}});
    if (arch == "qwen2") {
      specs.push_back({p + "attn_q.bias", {e}});
      specs.push_back({p + "attn_k.bias", {kv}});
      specs.push_back({p + "attn_v.bias", {kv}});
    }
    specs.push_back({p + "ffn_norm.weight", {e}});
    specs.push_back({p + "ffn_gate.weight", {e, uint64_t(n_ff)}});
    specs.push_back({p + "ffn_up.weight", {e, uint64_t(n_ff)}});
    specs.push_back({p + "ffn_down.weight", {uint64_t(n_ff), e}});
  }
  return specs;
}

Status copy_keys(const engine::GgufReader& from, engine::GgufWriter& to,
                 const std::string& prefix) {
  for (const auto& key : from.metadata()) {
    if (!prefix.empty() && key.key.rfind(prefix, 0) != 0) continue;
    RBEE_ASSIGN_OR_RETURN(GgufValue value, from.get_value(key.key));
    to.set(std::string(key.key), std::move(value));
  }
  return ok_status();
}

// Pads the vocabulary copied from `vocab` with unused tokens up to n_vocab; returns the size.
Result<int64_t> pad_vocabulary(const engine::GgufReader& vocab, engine::GgufWriter& writer,
                               int64_t n_vocab) {
  RBEE_ASSIGN_OR_RETURN(auto view, vocab.get_string_array("tokenizer.ggml.tokens"));
  const auto n_own = int64_t(view.size());
  if (n_vocab == 0) return n_own;
  if (n_vocab < n_own) {
    return Error{ErrorCode::kInvalidArgument, "--n-vocab " + std::to_string(n_vocab) +
                                                  " is less than the " + std::to_string(n_own) +
                                                  " tokens of --vocab-from"};
  }
  std::vector<std::string> tokens(view.begin(), view.end());
  for (int64_t i = n_own; i < n_vocab; ++i)
    tokens.push_back("<rbee_unused_" + std::to_string(i) + ">");
  writer.set("tokenizer.ggml.tokens", GgufValue::string_array(tokens));
  if (vocab.has_key("tokenizer.ggml.scores")) {
    RBEE_ASSIGN_OR_RETURN(auto scores, vocab.get_array<float>("tokenizer.ggml.scores"));
    scores.resize(size_t(n_vocab), -1e9f);
    writer.set("tokenizer.ggml.scores", GgufValue::array_of(scores));
  }
  if (vocab.has_key("tokenizer.ggml.token_type")) {
    RBEE_ASSIGN_OR_RETURN(auto types, vocab.get_array<int32_t>("tokenizer.ggml.token_type"));
    types.resize(size_t(n_vocab), int32_t(engine::TokenType::kUnused));
    writer.set("tokenizer.ggml.token_type", GgufValue::array_of(types));
  }
  return n_vocab;
}

}  // namespace

Status synthesize_model(const SynthOptions& options) {
  RBEE_ASSIGN_OR_RETURN(const MatrixTypes types, MatrixTypes::parse(options.type));
  engine::GgufWriter writer;
  std::vector<TensorSpec> specs;
  if (options.like) {
    if (options.n_vocab > 0)
      return Error{ErrorCode::kInvalidArgument, "--n-vocab goes with --vocab-from, not --like"};
    RBEE_ASSIGN_OR_RETURN(auto like, engine::GgufReader::open(*options.like));
    RBEE_RETURN_IF_ERROR(copy_keys(like, writer, ""));
    for (const auto& tensor : like.tensors()) {
      specs.push_back(
          {std::string(tensor.name), {tensor.dims.begin(), tensor.dims.begin() + tensor.n_dims}});
    }
  } else {
    if (options.n_embd <= 0 || options.n_layer <= 0 || options.n_head <= 0 || options.n_ff <= 0) {
      return Error{ErrorCode::kInvalidArgument,
                   "give --like FILE, or --n-embd, --n-layer, --n-head and --n-ff"};
    }
    if (!options.vocab_from)
      return Error{ErrorCode::kInvalidArgument, "--vocab-from FILE is needed with --arch"};
    if (options.arch != "llama" && options.arch != "qwen2") {
      return Error{ErrorCode::kInvalidArgument, "--arch must be llama or qwen2"};
    }
    int64_t n_head_kv = options.n_head_kv > 0 ? options.n_head_kv : options.n_head;
    if (options.n_embd % options.n_head != 0 || options.n_head % n_head_kv != 0) {
      return Error{ErrorCode::kInvalidArgument,
                   "--n-embd must divide by --n-head, and --n-head by --n-head-kv"};
    }
    RBEE_ASSIGN_OR_RETURN(auto vocab, engine::GgufReader::open(*options.vocab_from));
    RBEE_RETURN_IF_ERROR(copy_keys(vocab, writer, "tokenizer."));
    RBEE_ASSIGN_OR_RETURN(int64_t n_vocab, pad_vocabulary(vocab, writer, options.n_vocab));
    const std::string& a = options.arch;
    writer.set("general.architecture", a);
    writer.set("general.name", std::string("rbee synthetic ") + a);
    writer.set(a + ".context_length", uint32_t(options.n_ctx));
    writer.set(a + ".embedding_length", uint32_t(options.n_embd));
    writer.set(a + ".block_count", uint32_t(options.n_layer));
    writer.set(a + ".feed_forward_length", uint32_t(options.n_ff));
    writer.set(a + ".attention.head_count", uint32_t(options.n_head));
    writer.set(a + ".attention.head_count_kv", uint32_t(n_head_kv));
    writer.set(a + ".attention.layer_norm_rms_epsilon", 1e-5f);
    writer.set(a + ".rope.freq_base", float(options.rope_freq_base));
    specs = llama_tensors(a, options.n_embd, options.n_layer, options.n_head, n_head_kv,
                          options.n_ff, n_vocab, a == "qwen2");
  }
  writer.set("general.file_type", types.file_type());
  int64_t n_layer = 0;
  for (const auto& spec : specs) n_layer += spec.name.ends_with(".attn_norm.weight") ? 1 : 0;

  std::mt19937_64 rng(options.seed);
  std::normal_distribution<float> normal(0.0f, 0.02f);
  std::vector<float> values;
  std::vector<std::byte> bytes;
  for (const auto& spec : specs) {
    uint64_t n = 1;
    for (uint64_t d : spec.dims) n *= d;
    values.resize(n);
    bool is_norm = spec.dims.size() == 1 && spec.name.find("norm") != std::string::npos;
    for (float& v : values) v = is_norm ? 1.0f : normal(rng);
    if (spec.dims.size() == 1) {
      bytes.resize(n * sizeof(float));
      std::memcpy(bytes.data(), values.data(), bytes.size());
      RBEE_RETURN_IF_ERROR(writer.add_tensor(spec.name, GgmlType::kF32, spec.dims, bytes));
      continue;
    }
    const int64_t row = int64_t(spec.dims[0]);
    const engine::kernels::KernelTraits* traits = &types.of(spec.name, n_layer);
    const auto& activation = engine::kernels::type_traits(traits->vec_dot_type);
    if (row % traits->block_size != 0 || row % activation.block_size != 0) {
      return Error{ErrorCode::kInvalidArgument,
                   std::string("type ") + traits->name + " needs rows that are multiples of " +
                       std::to_string(std::max(traits->block_size, activation.block_size)) +
                       "; tensor '" + spec.name + "' has rows of " + std::to_string(row)};
    }
    const size_t row_bytes = engine::kernels::row_bytes(*traits, row);
    const uint64_t n_rows = n / uint64_t(row);
    bytes.resize(row_bytes * n_rows);
    for (uint64_t r = 0; r < n_rows; ++r) {
      traits->quantize_row(values.data() + r * uint64_t(row), bytes.data() + r * row_bytes, row);
    }
    RBEE_RETURN_IF_ERROR(
        writer.add_tensor(spec.name, static_cast<GgmlType>(traits->type), spec.dims, bytes));
  }
  return writer.write(options.out);
}

}  // namespace rbee::llm
