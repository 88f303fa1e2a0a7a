#include "llm/llm_cli.hpp"

#include <CLI/CLI.hpp>
#include <cstdio>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>

#include "engine/chat/chat_template.hpp"
#include "engine/model/generator.hpp"
#include "engine/model/model.hpp"
#include "engine/model/vocabulary_loader.hpp"
#include "engine/sampling/sampler.hpp"
#include "llm/bench.hpp"
#include "llm/synth.hpp"

namespace rbee::llm {
namespace {

// The tokenizer.ggml.model name of a tokenizer kind.
const char* tokenizer_model_name(engine::TokenizerKind kind) {
  switch (kind) {
    case engine::TokenizerKind::kSpm:
      return "llama";
    case engine::TokenizerKind::kBpe:
      return "gpt2";
    case engine::TokenizerKind::kWpm:
      return "bert";
  }
  return "?";
}

using Json = nlohmann::ordered_json;
using namespace rbee::engine;

int fail(const std::string& message) {
  std::fprintf(stderr, "rbee-llm: %s\n", message.c_str());
  return 1;
}

struct Loaded {
  std::unique_ptr<Model> model;
  std::optional<Tokenizer> tokenizer;
};

Result<Loaded> load(const std::string& path) {
  Loaded loaded;
  RBEE_ASSIGN_OR_RETURN(loaded.model, Model::load(path));
  RBEE_ASSIGN_OR_RETURN(Vocabulary vocab, read_vocabulary(loaded.model->gguf()));
  RBEE_ASSIGN_OR_RETURN(Tokenizer tokenizer, Tokenizer::create(std::move(vocab)));
  loaded.tokenizer = std::move(tokenizer);
  return loaded;
}

Result<KvType> parse_kv_type(const std::string& name) {
  if (name == "f16") return KvType::kF16;
  if (name == "f32") return KvType::kF32;
  return Error{ErrorCode::kInvalidArgument, "--kv-type must be f16 or f32, not '" + name + "'"};
}

struct CommonOptions {
  std::string model;
  int threads = 1;
  std::string kv_type = "f16";
  bool no_bos = false;
  int64_t ctx = 0;  // 0: min(model's training context, 4096)
};

void add_common(CLI::App& command, CommonOptions& options) {
  command.add_option("--model", options.model, "GGUF model file")->required();
  command.add_option("--threads", options.threads, "threads")
      ->capture_default_str()
      ->check(CLI::Range(1, 256));
  command.add_option("--kv-type", options.kv_type, "KV cache type: f16 or f32")
      ->capture_default_str();
  command.add_flag("--no-bos", options.no_bos, "do not add the BOS token the vocabulary would add");
  command.add_option("--ctx", options.ctx, "context length (default: the model's, at most 4096)");
}

Result<std::unique_ptr<Session>> make_session(const Loaded& loaded, const CommonOptions& options) {
  RBEE_ASSIGN_OR_RETURN(KvType kv_type, parse_kv_type(options.kv_type));
  int64_t n_ctx =
      options.ctx > 0 ? options.ctx : std::min<int64_t>(loaded.model->hparams().n_ctx_train, 4096);
  return Session::create(*loaded.model, n_ctx, kv_type, options.threads);
}

int command_info(const std::string& path, bool json) {
  auto loaded = load(path);
  if (!loaded) return fail(loaded.error().message);
  const auto& hp = loaded->model->hparams();
  const auto& gguf = loaded->model->gguf();
  int64_t n_params = 0;
  std::map<std::string, int> types;
  for (const auto& tensor : gguf.tensors()) {
    n_params += int64_t(tensor.n_elements);
    ++types[std::string(type_name(tensor.type))];
  }
  auto chat = gguf.get<std::string_view>("tokenizer.chat_template");
  auto format = detect_chat_format(chat ? *chat : std::string_view());
  Json info{{"architecture", hp.arch_name},
            {"n_params", n_params},
            {"n_ctx_train", hp.n_ctx_train},
            {"n_embd", hp.n_embd},
            {"n_layer", hp.n_layer},
            {"n_head", hp.n_head},
            {"n_head_kv", hp.n_head_kv},
            {"n_ff", hp.n_ff},
            {"n_rot", hp.n_rot},
            {"rope_freq_base", hp.rope_freq_base},
            {"rms_eps", hp.rms_eps},
            {"n_vocab", hp.n_vocab},
            {"tensor_types", types},
            {"tokenizer", tokenizer_model_name(loaded->tokenizer->kind())},
            {"chat_format", std::string(chat_format_name(format.format))},
            {"chat_format_guessed", format.fell_back},
            {"file_bytes", gguf.file_size_bytes()}};
  if (json) {
    std::printf("%s\n", info.dump().c_str());
    return 0;
  }
  std::string type_list;
  for (const auto& [name, count] : types) type_list += " " + name + "×" + std::to_string(count);
  std::printf(
      "architecture  %s\nparameters    %lld\nshape         embd %lld, layers %lld, heads %lld/%lld "
      "kv, ffn %lld\n"
      "context       %lld (trained)\nvocabulary    %lld (%s)\ntensor types %s\nchat format   "
      "%s%s\n",
      hp.arch_name.c_str(), (long long)n_params, (long long)hp.n_embd, (long long)hp.n_layer,
      (long long)hp.n_head, (long long)hp.n_head_kv, (long long)hp.n_ff, (long long)hp.n_ctx_train,
      (long long)hp.n_vocab, info["tokenizer"].get<std::string>().c_str(), type_list.c_str(),
      std::string(chat_format_name(format.format)).c_str(),
      format.fell_back ? " (no known template; ChatML assumed)" : "");
  return 0;
}

int command_tokenize(const std::string& path, const std::string& text, bool no_bos, bool json) {
  auto loaded = load(path);
  if (!loaded) return fail(loaded.error().message);
  auto tokens = loaded->tokenizer->encode(text, !no_bos, false);
  if (json) {
    std::printf("%s\n", Json{{"tokens", tokens}}.dump().c_str());
  } else {
    for (TokenId id : tokens) {
      std::printf("%d\t%s\n", id, loaded->tokenizer->token_to_piece(id, true).c_str());
    }
  }
  return 0;
}

int command_run(const CommonOptions& common, const std::string& prompt,
                const GenerateOptions& options, bool json) {
  auto loaded = load(common.model);
  if (!loaded) return fail(loaded.error().message);
  auto session = make_session(*loaded, common);
  if (!session) return fail(session.error().message);
  auto result =
      generate(**session, *loaded->tokenizer, prompt, options, [&](std::string_view text) {
        if (!json) {
          std::fwrite(text.data(), 1, text.size(), stdout);
          std::fflush(stdout);
        }
        return true;
      });
  if (!result) return fail(result.error().message);
  if (json) {
    Json out{{"prompt_tokens", result->prompt_tokens},
             {"tokens", result->tokens},
             {"text", result->text},
             {"finish_reason", result->finish_reason}};
    std::printf("%s\n", out.dump(-1, ' ', false, Json::error_handler_t::replace).c_str());
  } else {
    std::printf("\n");
  }
  return 0;
}

int command_logits(const CommonOptions& common, const std::string& prompt, int n_steps,
                   const std::string& out_path, const std::vector<int32_t>& follow) {
  auto loaded = load(common.model);
  if (!loaded) return fail(loaded.error().message);
  auto session = make_session(*loaded, common);
  if (!session) return fail(session.error().message);
  if (!follow.empty() && int(follow.size()) < n_steps) {
    std::fprintf(stderr, "rbee-llm: --follow has %zu ids for --n %d steps\n", follow.size(),
                 n_steps);
    return 2;
  }
  std::ofstream out(out_path, std::ios::binary | std::ios::trunc);
  if (!out) return fail("cannot write " + out_path);
  auto prompt_tokens = loaded->tokenizer->encode(prompt, !common.no_bos, false);
  if (prompt_tokens.empty()) return fail("the prompt is empty and the model adds no BOS token");
  auto logits = (*session)->eval(prompt_tokens);
  if (!logits) return fail(logits.error().message);
  std::vector<TokenId> fed;
  std::string text;
  for (int step = 0; step <= n_steps; ++step) {
    out.write(reinterpret_cast<const char*>(logits->data()),
              std::streamsize(logits->size() * sizeof(float)));
    if (step == n_steps) break;
    TokenId next = follow.empty() ? argmax(*logits) : follow[size_t(step)];
    fed.push_back(next);
    text += loaded->tokenizer->token_to_piece(next, false);
    logits = (*session)->eval(std::span(&next, 1));
    if (!logits) return fail(logits.error().message);
  }
  out.close();
  if (!out) return fail("cannot write " + out_path);
  Json line{{"prompt_tokens", prompt_tokens}, {"tokens", fed}, {"text", text}};
  std::printf("%s\n", line.dump(-1, ' ', false, Json::error_handler_t::replace).c_str());
  return 0;
}

int command_bandwidth(const BandwidthOptions& options, bool json) {
  auto measured = measure_read_bandwidth(options);
  if (!measured) return fail(measured.error().message);
  if (json) {
    Json out{{"read_gb_per_s", measured->read_gb_per_s},
             {"threads", measured->threads},
             {"bytes", measured->bytes}};
    std::printf("%s\n", out.dump().c_str());
  } else {
    std::printf("read %.1f GB/s with %d thread%s (%.0f MiB, best of %d passes)\n",
                measured->read_gb_per_s, measured->threads, measured->threads == 1 ? "" : "s",
                double(measured->bytes) / (1 << 20), options.passes);
  }
  return 0;
}

int command_bench(const BenchOptions& options, bool json) {
  auto bench = run_bench(options);
  if (!bench) return fail(bench.error().message);
  if (json) {
    Json out{{"pp_tokens_per_s", bench->pp_tokens_per_s},
             {"tg_tokens_per_s", bench->tg_tokens_per_s},
             {"model_bytes", bench->model_bytes},
             {"decode_read_bytes", bench->decode_read_bytes},
             {"threads", bench->threads},
             {"parallel", bench->parallel},
             {"load_s", bench->load_s},
             {"repacked_bytes", bench->repacked_bytes},
             {"prompt_tokens", bench->prompt_tokens},
             {"gen_tokens", bench->gen_tokens},
             {"pp_s", bench->pp_s},
             {"tg_s", bench->tg_s},
             {"kernels", bench->kernels},
             {"device", bench->device}};
    if (options.interleaved_ceiling) {
      out["ceiling_read_gb_per_s"] = bench->ceiling_read_gb_per_s;
      out["tg_read_gb_per_s"] = bench->tg_read_gb_per_s;
      out["tg_ceiling_share"] = bench->tg_read_gb_per_s / bench->ceiling_read_gb_per_s;
    }
    std::printf("%s\n", out.dump().c_str());
  } else {
    // A step is one token for each session.
    std::printf(
        "pp %d x %d: %.2f tok/s, tg %d x %d: %.2f tok/s (%.3f ms a step), %d thread%s, weights "
        "%.1f MiB (%.1f MiB repacked), load %.3f s, %s kernels, on %s\n",
        bench->prompt_tokens, bench->parallel, bench->pp_tokens_per_s, bench->gen_tokens,
        bench->parallel, bench->tg_tokens_per_s, 1000.0 * bench->tg_s / bench->gen_tokens,
        bench->threads, bench->threads == 1 ? "" : "s", double(bench->model_bytes) / (1 << 20),
        double(bench->repacked_bytes) / (1 << 20), bench->load_s, bench->kernels.c_str(),
        bench->device.c_str());
    if (options.interleaved_ceiling) {
      std::printf(
          "decode read the weights at %.1f GB/s; reads between the steps ran at %.1f GB/s "
          "(%.1f %%)\n",
          bench->tg_read_gb_per_s, bench->ceiling_read_gb_per_s,
          100 * bench->tg_read_gb_per_s / bench->ceiling_read_gb_per_s);
    }
  }
  return 0;
}

}  // namespace

int run_llm_cli(int argc, char** argv) {
  CLI::App app{"rbee-llm: run, inspect and make GGUF models with rbee's engine"};
  app.set_version_flag("--version", std::string("rbee-llm ") + RBEE_VERSION);
  app.require_subcommand(1);
  bool json = false;

  std::string info_model;
  auto* info =
      app.add_subcommand("info", "architecture, shape, parameters, types, vocabulary, template");
  info->add_option("--model", info_model, "GGUF model file")->required();
  info->add_flag("--json", json, "one JSON line");

  std::string tokenize_model, tokenize_text;
  bool tokenize_no_bos = false;
  auto* tokenize = app.add_subcommand("tokenize", "the token ids of a text");
  tokenize->add_option("--model", tokenize_model, "GGUF model file")->required();
  tokenize->add_option("--text", tokenize_text, "text to tokenize")->required();
  tokenize->add_flag("--no-bos", tokenize_no_bos, "do not add BOS");
  tokenize->add_flag("--json", json, "one JSON line");

  CommonOptions run_common;
  std::string run_prompt;
  GenerateOptions generate_options;
  auto* run = app.add_subcommand("run", "generate a continuation");
  add_common(*run, run_common);
  run->add_option("--prompt", run_prompt, "prompt text")->required();
  run->add_option("--max-tokens", generate_options.max_tokens, "tokens to generate")
      ->capture_default_str();
  run->add_option("--temperature", generate_options.sampling.temperature, "0 = greedy")
      ->capture_default_str();
  run->add_option("--top-k", generate_options.sampling.top_k)->capture_default_str();
  run->add_option("--top-p", generate_options.sampling.top_p)->capture_default_str();
  run->add_option("--min-p", generate_options.sampling.min_p)->capture_default_str();
  run->add_option("--repeat-penalty", generate_options.sampling.repeat_penalty)
      ->capture_default_str();
  run->add_option("--seed", generate_options.sampling.seed)->capture_default_str();
  run->add_option("--stop", generate_options.stop, "stop strings");
  run->add_flag("--json", json, "one JSON line with tokens and text");

  CommonOptions logits_common;
  std::string logits_prompt, logits_out;
  int logits_n = 0;
  std::vector<int32_t> follow;
  auto* logits =
      app.add_subcommand("logits", "write the logits of the prompt and N steps (float32 rows)");
  add_common(*logits, logits_common);
  logits->add_option("--prompt", logits_prompt, "prompt text")->required();
  logits->add_option("--n", logits_n, "steps after the prompt")
      ->required()
      ->check(CLI::Range(0, 1 << 20));
  logits->add_option("--out", logits_out, "output file")->required();
  logits->add_option("--follow", follow, "feed these ids instead of the greedy ones")
      ->delimiter(',');

  SynthOptions synth_options;
  std::string like, vocab_from;
  auto* synth = app.add_subcommand("synth", "write a random-weight model of any shape and type");
  synth->add_option("--like", like, "copy shape, metadata and vocabulary from this model");
  synth->add_option("--arch", synth_options.arch, "llama or qwen2")->capture_default_str();
  synth->add_option("--n-embd", synth_options.n_embd);
  synth->add_option("--n-layer", synth_options.n_layer);
  synth->add_option("--n-head", synth_options.n_head);
  synth->add_option("--n-head-kv", synth_options.n_head_kv);
  synth->add_option("--n-ff", synth_options.n_ff);
  synth->add_option("--n-ctx", synth_options.n_ctx)->capture_default_str();
  synth->add_option("--vocab-from", vocab_from, "take the tokenizer from this model");
  synth->add_option("--type", synth_options.type, "tensor type of the matrices")
      ->capture_default_str();
  synth
      ->add_option("--n-vocab", synth_options.n_vocab,
                   "pad the vocabulary to this many tokens (default: --vocab-from's)")
      ->check(CLI::Range(int64_t(1), int64_t(1) << 24));
  synth->add_option("--seed", synth_options.seed)->capture_default_str();
  synth->add_option("-o,--out", synth_options.out, "output file")->required();

  BenchOptions bench_options;
  std::string bench_model, bench_kv_type = "f16";
  auto* bench = app.add_subcommand(
      "bench", "prompt processing and generation speed (tok/s) on random token ids");
  bench->add_option("--model", bench_model, "GGUF model file")->required();
  bench->add_option("--threads", bench_options.threads)
      ->capture_default_str()
      ->check(CLI::Range(1, 256));
  bench->add_option("--prompt-tokens", bench_options.prompt_tokens, "prompt evaluated in one batch")
      ->capture_default_str()
      ->check(CLI::Range(1, 1 << 16));
  bench->add_option("--gen-tokens", bench_options.gen_tokens, "tokens generated one at a time")
      ->capture_default_str()
      ->check(CLI::Range(1, 1 << 16));
  bench
      ->add_option("--parallel", bench_options.parallel,
                   "sessions generating together (one batch per step)")
      ->capture_default_str()
      ->check(CLI::Range(1, 256));
  bench->add_option("--seed", bench_options.seed, "seed of the prompt's token ids")
      ->capture_default_str();
  bench->add_option("--kv-type", bench_kv_type, "KV cache type: f16 or f32")->capture_default_str();
  bool no_repack = false;
  bench->add_flag("--no-repack", no_repack,
                  "read every weight from the mapped file (no copy into faster layouts)");
  bench
      ->add_option("--device", bench_options.device,
                   "where the forward pass runs: cpu, or cuda:N in builds with -DRBEE_CUDA=ON")
      ->capture_default_str();
  bench->add_flag("--ceiling", bench_options.interleaved_ceiling,
                  "after every decode step, time a read of a buffer as large as the weights a step "
                  "reads: the bandwidth at the moments the engine ran");
  bench->add_flag("--json", json, "one JSON line");

  BandwidthOptions bandwidth_options;
  auto* bandwidth = app.add_subcommand(
      "bandwidth",
      "memory read bandwidth (GB/s): the ceiling of decoding, bytes of weights a second");
  bandwidth->add_option("--threads", bandwidth_options.threads)
      ->capture_default_str()
      ->check(CLI::Range(1, 256));
  bandwidth
      ->add_option("--mib", bandwidth_options.mib,
                   "buffer size (default: 1024, or a quarter of the available memory)")
      ->check(CLI::Range(int64_t(1), int64_t(1) << 20));
  bandwidth->add_option("--passes", bandwidth_options.passes, "timed passes; the best one counts")
      ->capture_default_str()
      ->check(CLI::Range(1, 1000));
  bandwidth->add_flag("--json", json, "one JSON line");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);    // prints help or the error
    return code == 0 ? 0 : 2;  // CLI11's own codes are 100+; usage errors are 2 here
  }

  if (info->parsed()) return command_info(info_model, json);
  if (tokenize->parsed())
    return command_tokenize(tokenize_model, tokenize_text, tokenize_no_bos, json);
  if (run->parsed()) {
    generate_options.add_bos = !run_common.no_bos;
    return command_run(run_common, run_prompt, generate_options, json);
  }
  if (logits->parsed())
    return command_logits(logits_common, logits_prompt, logits_n, logits_out, follow);
  if (bench->parsed()) {
    auto kv_type = parse_kv_type(bench_kv_type);
    if (!kv_type) return fail(kv_type.error().message);
    bench_options.model = bench_model;
    bench_options.kv_type = *kv_type;
    bench_options.repack = !no_repack;
    return command_bench(bench_options, json);
  }
  if (bandwidth->parsed()) return command_bandwidth(bandwidth_options, json);
  if (!like.empty()) synth_options.like = like;
  if (!vocab_from.empty()) synth_options.vocab_from = vocab_from;
  auto written = synthesize_model(synth_options);
  if (!written) return fail(written.error().message);
  std::printf("wrote %s\n", synth_options.out.c_str());
  return 0;
}

}  // namespace rbee::llm
