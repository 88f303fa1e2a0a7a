// rbee-llm as a user runs it: the real binary on the shared test models.

#include <fcntl.h>
#include <gtest/gtest.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>

#include "common/files.hpp"
#include "common/test_dir.hpp"

namespace rbee {
namespace {

using Json = nlohmann::json;
namespace fs = std::filesystem;

const fs::path kTestdata = RBEE_TESTDATA_DIR;
const fs::path kModels = kTestdata / "models";

struct Output {
  int exit_code = -1;
  std::string out;
  std::string err;
};

// Runs rbee-llm with `args`, capturing stdout and stderr through files.
Output rbee_llm(const std::vector<std::string>& args) {
  testing::TestDir dir;
  std::vector<std::string> argv{(fs::path(RBEE_TEST_BIN_DIR) / "rbee-llm").string()};
  argv.insert(argv.end(), args.begin(), args.end());
  std::vector<char*> raw;
  for (auto& arg : argv) raw.push_back(arg.data());
  raw.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, (dir.path() / "out").c_str(), O_WRONLY | O_CREAT,
                                   0644);
  posix_spawn_file_actions_addopen(&actions, 2, (dir.path() / "err").c_str(), O_WRONLY | O_CREAT,
                                   0644);
  pid_t pid = 0;
  Output output;
  if (::posix_spawn(&pid, raw[0], &actions, nullptr, raw.data(), environ) != 0) return output;
  posix_spawn_file_actions_destroy(&actions);
  int status = 0;
  ::waitpid(pid, &status, 0);
  output.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  output.out = read_file(dir.path() / "out").value();
  output.err = read_file(dir.path() / "err").value();
  return output;
}

bool have_testdata() {
  return fs::exists(kModels / "stories260K.gguf");
}

TEST(LlmCliTest, InfoDescribesTheModel) {
  if (!have_testdata()) GTEST_SKIP() << "no test models";
  auto result = rbee_llm({"info", "--model", (kModels / "stories260K.gguf").string(), "--json"});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  auto info = Json::parse(result.out);
  EXPECT_EQ(info["architecture"], "llama");
  EXPECT_EQ(info["n_embd"], 64);
  EXPECT_EQ(info["n_layer"], 5);
  EXPECT_EQ(info["n_head_kv"], 4);
  EXPECT_EQ(info["n_vocab"], 512);
  EXPECT_EQ(info["tokenizer"], "llama");
  EXPECT_GT(info["n_params"].get<int64_t>(), 200000);
}

TEST(LlmCliTest, TokenizeMatchesLlamaCpp) {
  if (!have_testdata()) GTEST_SKIP() << "no test models";
  auto result = rbee_llm({"tokenize", "--model", (kModels / "stories260K.gguf").string(), "--text",
                          "Once upon a time", "--json"});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(Json::parse(result.out)["tokens"], Json({1, 403, 407, 261, 378}));
  auto no_bos = rbee_llm({"tokenize", "--model", (kModels / "stories260K.gguf").string(), "--text",
                          "Once upon a time", "--no-bos", "--json"});
  EXPECT_EQ(Json::parse(no_bos.out)["tokens"], Json({403, 407, 261, 378}));
}

TEST(LlmCliTest, RunGivesLlamaCppsGreedyStory) {
  if (!have_testdata()) GTEST_SKIP() << "no test models";
  for (const char* threads : {"1", "2"}) {
    auto result = rbee_llm({"run", "--model", (kModels / "stories260K.gguf").string(), "--prompt",
                            "Once upon a time", "--max-tokens", "32", "--temperature", "0",
                            "--threads", threads, "--json"});
    ASSERT_EQ(result.exit_code, 0) << result.err;
    auto line = Json::parse(result.out);
    EXPECT_EQ(line["text"],
              ", there was a little girl named Lily. She loved to play outside in the park. One "
              "day, she saw");
    EXPECT_EQ(line["prompt_tokens"], Json({1, 403, 407, 261, 378}));
    EXPECT_EQ(line["tokens"].size(), 32u);
  }
}

TEST(LlmCliTest, LogitsFileHasTheReferenceLayout) {
  if (!have_testdata()) GTEST_SKIP() << "no test models";
  testing::TestDir dir;
  auto out = dir.path() / "logits.f32";
  auto result =
      rbee_llm({"logits", "--model", (kModels / "stories260K.gguf").string(), "--prompt",
                "Once upon a time", "--n", "4", "--out", out.string(), "--kv-type", "f32"});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  auto bytes = read_file(out).value();
  ASSERT_EQ(bytes.size(), 5u * 512 * sizeof(float));
  // Compare with llama.cpp's rows for the same steps (F32 KV cache reference).
  auto reference = read_file(kTestdata / "golden/kv_f32/stories260K/p1_once.logits.f32").value();
  ASSERT_GE(reference.size(), bytes.size());
  std::vector<float> ours(bytes.size() / 4), theirs(bytes.size() / 4);
  std::memcpy(ours.data(), bytes.data(), bytes.size());
  std::memcpy(theirs.data(), reference.data(), bytes.size());
  float worst = 0;
  for (size_t i = 0; i < ours.size(); ++i) worst = std::max(worst, std::fabs(ours[i] - theirs[i]));
  EXPECT_LT(worst, 1e-3f);
  EXPECT_EQ(Json::parse(result.out)["tokens"], Json({432, 383, 286, 261}));

  auto forced =
      rbee_llm({"logits", "--model", (kModels / "stories260K.gguf").string(), "--prompt",
                "Once upon a time", "--n", "2", "--out", out.string(), "--follow", "7,8"});
  ASSERT_EQ(forced.exit_code, 0) << forced.err;
  EXPECT_EQ(Json::parse(forced.out)["tokens"], Json({7, 8}));
}

TEST(LlmCliTest, SynthMakesALoadableModelOfAnyShapeAndType) {
  if (!have_testdata()) GTEST_SKIP() << "no test models";
  testing::TestDir dir;
  auto out = dir.path() / "synth.gguf";
  auto made = rbee_llm({"synth",
                        "--arch",
                        "llama",
                        "--n-embd",
                        "256",
                        "--n-layer",
                        "2",
                        "--n-head",
                        "4",
                        "--n-head-kv",
                        "2",
                        "--n-ff",
                        "512",
                        "--vocab-from",
                        (kModels / "stories260K.gguf").string(),
                        "--type",
                        "q4_K",
                        "--seed",
                        "3",
                        "-o",
                        out.string()});
  ASSERT_EQ(made.exit_code, 0) << made.err;
  auto info = rbee_llm({"info", "--model", out.string(), "--json"});
  ASSERT_EQ(info.exit_code, 0) << info.err;
  auto parsed = Json::parse(info.out);
  EXPECT_EQ(parsed["n_embd"], 256);
  EXPECT_EQ(parsed["tensor_types"]["Q4_K"], 2 * 7 + 2);  // 7 matrices a layer, embeddings, output
  auto run =
      rbee_llm({"run", "--model", out.string(), "--prompt", "Hi", "--max-tokens", "4", "--json"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_LE(Json::parse(run.out)["tokens"].size(), 4u);

  auto like = rbee_llm({"synth", "--like", (kModels / "rand-llama-q-F32.gguf").string(), "--type",
                        "q8_0", "-o", (dir.path() / "like.gguf").string()});
  ASSERT_EQ(like.exit_code, 0) << like.err;
  auto like_info = rbee_llm({"info", "--model", (dir.path() / "like.gguf").string(), "--json"});
  ASSERT_EQ(like_info.exit_code, 0) << like_info.err;
  EXPECT_EQ(Json::parse(like_info.out)["n_layer"], 2);
  // llama.cpp's Q4_K_M mix: Q6_K for the output and for attn_v and ffn_down of the layers
  // that get more bits (of 2 layers: layer 1, the last eighth), Q4_K elsewhere.
  auto mix = rbee_llm({"synth", "--like", (kModels / "rand-llama-q-F32.gguf").string(), "--type",
                       "q4_K_M", "-o", (dir.path() / "mix.gguf").string()});
  ASSERT_EQ(mix.exit_code, 0) << mix.err;
  auto mix_info = rbee_llm({"info", "--model", (dir.path() / "mix.gguf").string(), "--json"});
  ASSERT_EQ(mix_info.exit_code, 0) << mix_info.err;
  const auto mix_types = Json::parse(mix_info.out)["tensor_types"];
  EXPECT_EQ(mix_types["Q6_K"], 3) << mix_types.dump();
  EXPECT_EQ(mix_types["Q4_K"], 2 * 7 + 1 - 2) << mix_types.dump();

  auto bad_type = rbee_llm({"synth", "--like", (kModels / "stories260K.gguf").string(), "--type",
                            "q4_K", "-o", (dir.path() / "bad.gguf").string()});
  EXPECT_EQ(bad_type.exit_code, 1);
  EXPECT_NE(bad_type.err.find("multiples of 256"), std::string::npos) << bad_type.err;
  EXPECT_FALSE(fs::exists(dir.path() / "bad.gguf"));
}

TEST(LlmCliTest, BenchReportsSpeedsAndTheWeightBytes) {
  if (!have_testdata()) GTEST_SKIP() << "no test models";
  const auto model = kModels / "stories260K.gguf";
  auto result = rbee_llm({"bench", "--model", model.string(), "--threads", "2", "--prompt-tokens",
                          "8", "--gen-tokens", "4", "--parallel", "2", "--json"});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  auto line = Json::parse(result.out);
  EXPECT_GT(line["pp_tokens_per_s"].get<double>(), 0);
  EXPECT_GT(line["tg_tokens_per_s"].get<double>(), 0);
  EXPECT_GE(line["load_s"].get<double>(), 0);
  EXPECT_EQ(line["threads"], 2);
  EXPECT_EQ(line["parallel"], 2);
  EXPECT_EQ(line["prompt_tokens"], 8);
  EXPECT_EQ(line["gen_tokens"], 4);
  // The tensors' data: most of the file, never more.
  auto model_bytes = line["model_bytes"].get<uint64_t>();
  EXPECT_GT(model_bytes, fs::file_size(model) / 2);
  EXPECT_LT(model_bytes, fs::file_size(model));
  // A decode step reads every tensor but the token embedding table (stories260K has its own
  // output matrix; all its tensors are F32).
  auto info = rbee_llm({"info", "--model", model.string(), "--json"});
  ASSERT_EQ(info.exit_code, 0) << info.err;
  const auto shape = Json::parse(info.out);
  ASSERT_EQ(shape["tensor_types"].size(), 1u);
  ASSERT_TRUE(shape["tensor_types"].contains("F32"));
  const auto embedding_bytes =
      shape["n_vocab"].get<uint64_t>() * shape["n_embd"].get<uint64_t>() * sizeof(float);
  EXPECT_EQ(line["decode_read_bytes"].get<uint64_t>(), model_bytes - embedding_bytes);

  auto human =
      rbee_llm({"bench", "--model", model.string(), "--prompt-tokens", "4", "--gen-tokens", "2"});
  ASSERT_EQ(human.exit_code, 0) << human.err;
  EXPECT_NE(human.out.find("tok/s"), std::string::npos) << human.out;
  EXPECT_FALSE(line.contains("ceiling_read_gb_per_s")) << result.out;

  // --ceiling reads a buffer between the decode steps; the share is the steps' read rate over
  // the buffer's.
  auto interleaved = rbee_llm({"bench", "--model", model.string(), "--threads", "2",
                               "--prompt-tokens", "4", "--gen-tokens", "3", "--ceiling", "--json"});
  ASSERT_EQ(interleaved.exit_code, 0) << interleaved.err;
  const auto shares = Json::parse(interleaved.out);
  const double ceiling = shares["ceiling_read_gb_per_s"].get<double>();
  const double steps = shares["tg_read_gb_per_s"].get<double>();
  EXPECT_GT(ceiling, 0);
  EXPECT_NEAR(steps,
              double(shares["decode_read_bytes"].get<uint64_t>()) *
                  shares["gen_tokens"].get<double>() / shares["tg_s"].get<double>() / 1e9,
              steps * 1e-9);
  EXPECT_DOUBLE_EQ(shares["tg_ceiling_share"].get<double>(), steps / ceiling);
  auto interleaved_human = rbee_llm({"bench", "--model", model.string(), "--prompt-tokens", "4",
                                     "--gen-tokens", "2", "--ceiling"});
  ASSERT_EQ(interleaved_human.exit_code, 0) << interleaved_human.err;
  EXPECT_NE(interleaved_human.out.find("reads between the steps ran at"), std::string::npos)
      << interleaved_human.out;

  // A Q4_0 model's matrices are repacked at load where the kernels have the layout (not with
  // the scalar ones), and --no-repack reads them from the file.
  const auto q4_0 = kModels / "rand-llama-q-Q4_0.gguf";
  auto repacked = rbee_llm(
      {"bench", "--model", q4_0.string(), "--prompt-tokens", "4", "--gen-tokens", "2", "--json"});
  ASSERT_EQ(repacked.exit_code, 0) << repacked.err;
  const auto fast = Json::parse(repacked.out);
  if (fast["kernels"] != "scalar") {
    EXPECT_GT(fast["repacked_bytes"].get<uint64_t>(), fast["model_bytes"].get<uint64_t>() / 2);
  } else {
    EXPECT_EQ(fast["repacked_bytes"], 0);
  }
  auto from_file = rbee_llm({"bench", "--model", q4_0.string(), "--prompt-tokens", "4",
                             "--gen-tokens", "2", "--no-repack", "--json"});
  ASSERT_EQ(from_file.exit_code, 0) << from_file.err;
  EXPECT_EQ(Json::parse(from_file.out)["repacked_bytes"], 0);
}

TEST(LlmCliTest, BenchRefusesBadInput) {
  testing::TestDir dir;
  auto missing = rbee_llm({"bench", "--model", (dir.path() / "nope.gguf").string(), "--json"});
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_NE(missing.err.find("nope.gguf"), std::string::npos) << missing.err;
  EXPECT_TRUE(missing.out.empty()) << missing.out;
  for (const char* flag : {"--parallel", "--prompt-tokens", "--gen-tokens", "--threads"}) {
    auto zero = rbee_llm({"bench", "--model", (kModels / "stories260K.gguf").string(), flag, "0"});
    EXPECT_EQ(zero.exit_code, 2) << flag << ": " << zero.err;
  }
  // The interleaved ceiling is the CPU's memory: refused for a GPU before any model loads.
  auto gpu_ceiling = rbee_llm({"bench", "--model", (kModels / "stories260K.gguf").string(),
                               "--device", "cuda:0", "--ceiling"});
  EXPECT_EQ(gpu_ceiling.exit_code, 1);
  EXPECT_NE(gpu_ceiling.err.find("--device cpu"), std::string::npos) << gpu_ceiling.err;
}

TEST(LlmCliTest, BandwidthReportsGigabytesPerSecond) {
  auto result = rbee_llm({"bandwidth", "--threads", "2", "--mib", "16", "--passes", "2", "--json"});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  auto line = Json::parse(result.out);
  EXPECT_GT(line["read_gb_per_s"].get<double>(), 0);
  EXPECT_EQ(line["threads"], 2);
  EXPECT_EQ(line["bytes"], 16 << 20);
  auto human = rbee_llm({"bandwidth", "--mib", "8", "--passes", "1"});
  ASSERT_EQ(human.exit_code, 0) << human.err;
  EXPECT_NE(human.out.find("GB/s"), std::string::npos) << human.out;
  EXPECT_EQ(rbee_llm({"bandwidth", "--threads", "0"}).exit_code, 2);
  EXPECT_EQ(rbee_llm({"bandwidth", "--mib", "0"}).exit_code, 2);
}

TEST(LlmCliTest, SynthPadsTheVocabulary) {
  if (!have_testdata()) GTEST_SKIP() << "no test models";
  testing::TestDir dir;
  auto out = dir.path() / "padded.gguf";
  std::vector<std::string> args{"synth",
                                "--arch",
                                "llama",
                                "--n-embd",
                                "64",
                                "--n-layer",
                                "1",
                                "--n-head",
                                "2",
                                "--n-ff",
                                "128",
                                "--vocab-from",
                                (kModels / "stories260K.gguf").string(),
                                "--type",
                                "q8_0",
                                "-o",
                                out.string(),
                                "--n-vocab"};
  auto padded = args;
  padded.push_back("1000");
  auto made = rbee_llm(padded);
  ASSERT_EQ(made.exit_code, 0) << made.err;
  auto info = rbee_llm({"info", "--model", out.string(), "--json"});
  ASSERT_EQ(info.exit_code, 0) << info.err;
  EXPECT_EQ(Json::parse(info.out)["n_vocab"], 1000);
  // The tokenizer still works, and the padding tokens never come out of plain text.
  auto tokens =
      rbee_llm({"tokenize", "--model", out.string(), "--text", "Once upon a time", "--json"});
  ASSERT_EQ(tokens.exit_code, 0) << tokens.err;
  EXPECT_EQ(Json::parse(tokens.out)["tokens"], Json({1, 403, 407, 261, 378}));

  auto smaller = args;
  smaller.push_back("100");
  auto refused = rbee_llm(smaller);
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_NE(refused.err.find("--n-vocab"), std::string::npos) << refused.err;
  auto with_like = rbee_llm({"synth", "--like", (kModels / "stories260K.gguf").string(),
                             "--n-vocab", "1000", "-o", (dir.path() / "like.gguf").string()});
  EXPECT_EQ(with_like.exit_code, 1);
  EXPECT_NE(with_like.err.find("--n-vocab"), std::string::npos) << with_like.err;
}

TEST(LlmCliTest, BadInputIsOneClearLine) {
  testing::TestDir dir;
  auto missing_flag = rbee_llm({"run", "--prompt", "x"});
  EXPECT_EQ(missing_flag.exit_code, 2) << missing_flag.err;
  auto missing_file = rbee_llm({"info", "--model", (dir.path() / "nope.gguf").string()});
  EXPECT_EQ(missing_file.exit_code, 1);
  EXPECT_NE(missing_file.err.find("nope.gguf"), std::string::npos) << missing_file.err;
  ASSERT_TRUE(write_file_atomic(dir.path() / "corrupt.gguf", "GGUF\x03\x00\x00\x00garbage"));
  auto corrupt =
      rbee_llm({"run", "--model", (dir.path() / "corrupt.gguf").string(), "--prompt", "x"});
  EXPECT_EQ(corrupt.exit_code, 1);
  EXPECT_EQ(std::count(corrupt.err.begin(), corrupt.err.end(), '\n'), 1) << corrupt.err;
  if (have_testdata()) {
    auto bad_kv = rbee_llm({"run", "--model", (kModels / "stories260K.gguf").string(), "--prompt",
                            "x", "--kv-type", "q9"});
    EXPECT_EQ(bad_kv.exit_code, 1);
    EXPECT_NE(bad_kv.err.find("--kv-type"), std::string::npos);
  }
}

}  // namespace
}  // namespace rbee
