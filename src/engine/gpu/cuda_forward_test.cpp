// The CUDA forward pass against the CPU's, on every test model: these need a CUDA build and a
// GPU, and skip without them (CI has neither).

#include "engine/gpu/cuda_forward.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>

#include "engine/gguf/gguf_writer.hpp"
#include "engine/gpu/device_placement.hpp"
#include "engine/kernels/float16.hpp"
#include "engine/kernels/kernel_type.hpp"
#include "engine/model/matmul.hpp"
#include "engine/model/model_test_util.hpp"

namespace rbee::engine::gpu {
namespace {

const std::filesystem::path kModels = std::filesystem::path(RBEE_TESTDATA_DIR) / "models";

// Why these tests cannot run here, or nullptr.
const char* no_gpu_reason() {
  if (!cuda_built()) return "built without CUDA (-DRBEE_CUDA=ON)";
  if (cuda_device_count() == 0) return "no CUDA device here";
  return nullptr;
}

#define RBEE_SKIP_WITHOUT_GPU() \
  if (const char* reason = no_gpu_reason()) GTEST_SKIP() << reason

std::vector<std::filesystem::path> test_models() {
  std::vector<std::filesystem::path> models;
  for (const auto& entry : std::filesystem::directory_iterator(kModels)) {
    if (entry.path().extension() == ".gguf") models.push_back(entry.path());
  }
  std::sort(models.begin(), models.end());
  return models;
}

using testing::random_tokens;

// The types the kernels read as the file stores them; the others are decoded on the CPU and
// kept as F16 (BF16 as F32).
bool kept_as_stored(kernels::KernelType type) {
  using kernels::KernelType;
  switch (type) {
    case KernelType::kF32:
    case KernelType::kF16:
    case KernelType::kQ8_0:
    case KernelType::kQ4_0:
    case KernelType::kQ4_K:
    case KernelType::kQ6_K:
    case KernelType::kBF16:
      return true;
    default:
      return false;
  }
}

// Every element of every matrix the forward pass uploads, decoded on the GPU, is the CPU's
// dequantized value (rounded to F16 for the types kept as F16).
TEST(CudaForwardTest, DecodesEveryMatrixAsTheCpuDoes) {
  RBEE_SKIP_WITHOUT_GPU();
  for (const auto& path : test_models()) {
    SCOPED_TRACE(path.filename().string());
    auto model = Model::load(path, {.repack = false});
    if (!model) continue;
    std::vector<const GgufTensor*> matrices = {&(*model)->output()};
    const LayerWeights& layer = (*model)->layer(0);
    for (const GgufTensor* m :
         {layer.wq, layer.wk, layer.wv, layer.wo, layer.ffn_gate, layer.ffn_up, layer.ffn_down}) {
      matrices.push_back(m);
    }
    for (const GgufTensor* m : matrices) {
      SCOPED_TRACE(std::string(m->name));
      auto decoded = cuda_decode_tensor(*m, 0);
      ASSERT_TRUE(decoded) << decoded.error().message;
      const int64_t cols = int64_t(m->dims[0]);
      const bool exact = kept_as_stored(kernels::KernelType(m->type));
      std::vector<float> row(static_cast<size_t>(cols));
      for (int64_t r = 0; r < int64_t(m->dims[1]); ++r) {
        dequantize_row(*m, r, row.data());
        for (int64_t c = 0; c < cols; ++c) {
          const float expected =
              exact ? row[size_t(c)] : kernels::fp16_to_fp32(kernels::fp32_to_fp16(row[size_t(c)]));
          ASSERT_EQ((*decoded)[size_t(r * cols + c)], expected) << "row " << r << " col " << c;
        }
      }
    }
  }
}

// The largest difference between two logits rows, over the largest CPU logit's magnitude.
double relative_difference(std::span<const float> gpu, std::span<const float> cpu) {
  double scale = 1e-6;
  double worst = 0;
  for (size_t i = 0; i < cpu.size(); ++i) {
    scale = std::max(scale, double(std::fabs(cpu[i])));
    worst = std::max(worst, double(std::fabs(gpu[i] - cpu[i])));
  }
  return worst / scale;
}

// A copy of the model at `path` with every tensor decoded to F32, in `dir`: the CPU computes
// it in float throughout (F32 weights take float activations), as the GPU computes the
// original.
std::filesystem::path write_f32_copy(const std::filesystem::path& path,
                                     const std::filesystem::path& dir) {
  auto gguf = GgufReader::open(path);
  EXPECT_TRUE(gguf);
  GgufWriter writer;
  for (const GgufKeyInfo& key : gguf->metadata()) {
    auto value = gguf->get_value(key.key);
    EXPECT_TRUE(value);
    writer.set(std::string(key.key), std::move(*value));
  }
  for (const GgufTensor& tensor : gguf->tensors()) {
    const int64_t cols = int64_t(tensor.dims[0]);
    const int64_t rows = int64_t(tensor.n_elements) / cols;
    std::vector<float> values(tensor.n_elements);
    for (int64_t r = 0; r < rows; ++r) dequantize_row(tensor, r, values.data() + r * cols);
    const auto shape = tensor.shape();
    EXPECT_TRUE(writer.add_tensor(std::string(tensor.name), GgmlType::kF32,
                                  {shape.begin(), shape.end()}, std::as_bytes(std::span(values))));
  }
  const auto out = dir / (path.stem().string() + "-as-f32.gguf");
  EXPECT_TRUE(writer.write(out));
  return out;
}

// A prompt, then greedy decoding (the greedy tokens of `reference`), on both sessions; the
// largest relative difference of any logits row. The GPU takes prompts of 16 tokens or more
// through cuBLAS, shorter ones through its own matrix-vector kernel.
double compare_generation(Session& reference, Session& other, int64_t prompt_tokens) {
  const int64_t n_vocab = reference.model().hparams().n_vocab;
  const auto prompt = random_tokens(prompt_tokens, n_vocab, 7);
  auto ref_logits = reference.eval(prompt, true);
  auto other_logits = other.eval(prompt, true);
  EXPECT_TRUE(ref_logits && other_logits);
  if (!ref_logits || !other_logits) return INFINITY;
  EXPECT_EQ(ref_logits->size(), other_logits->size());
  double worst = 0;
  for (size_t row = 0; row < prompt.size(); ++row) {
    const auto r = std::span(*ref_logits).subspan(row * size_t(n_vocab), size_t(n_vocab));
    const auto o = std::span(*other_logits).subspan(row * size_t(n_vocab), size_t(n_vocab));
    worst = std::max(worst, relative_difference(o, r));
  }
  std::vector<float> last(ref_logits->end() - n_vocab, ref_logits->end());
  for (int step = 0; step < 8; ++step) {
    const int32_t next = int32_t(std::max_element(last.begin(), last.end()) - last.begin());
    auto ref_step = reference.eval(std::vector<int32_t>{next});
    auto other_step = other.eval(std::vector<int32_t>{next});
    EXPECT_TRUE(ref_step && other_step);
    if (!ref_step || !other_step) return INFINITY;
    worst = std::max(worst, relative_difference(*other_step, *ref_step));
    last = *ref_step;
  }
  EXPECT_EQ(other.n_past(), reference.n_past());
  return worst;
}

Result<std::unique_ptr<Model>> load_on_gpu(const std::filesystem::path& path) {
  RBEE_ASSIGN_OR_RETURN(auto model, Model::load(path, {.repack = false}));
  RBEE_RETURN_IF_ERROR(place_model(*model, "cuda:0"));
  return model;
}

// The GPU's logits on each model are the CPU's on the same weights decoded to F32, to float
// rounding (the two add in different orders), or to F16's rounding of the weights for the
// types the GPU keeps as F16. (Measured on an H100: at most 1.4e-6 of the largest logit with
// an F32 cache, 5.2e-4 with an F16 one, 2.4e-3 for the types kept as F16.)
TEST(CudaForwardTest, LogitsMatchTheCpuInFloatOnEveryModel) {
  RBEE_SKIP_WITHOUT_GPU();
  const auto dir =
      std::filesystem::temp_directory_path() / ("rbee-cuda-test-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  for (const auto& path : test_models()) {
    auto probe = Model::load(path, {.repack = false});
    if (!probe) continue;
    const auto weight_type = kernels::KernelType((*probe)->layer(0).ffn_down->type);
    const auto f32_path = write_f32_copy(path, dir);
    for (KvType kv : {KvType::kF16, KvType::kF32}) {
      // An F16 cache rounds keys, values, queries and attention weights to F16 on both sides,
      // where a last-bit difference in float can round to the neighbouring F16 value.
      const double tolerance =
          !kept_as_stored(weight_type) ? 1e-2 : (kv == KvType::kF16 ? 1e-3 : 1e-5);
      SCOPED_TRACE(path.filename().string() + (kv == KvType::kF16 ? " f16 cache" : " f32 cache"));
      auto cpu_model = Model::load(f32_path);
      auto gpu_model = load_on_gpu(path);
      ASSERT_TRUE(cpu_model && gpu_model) << (gpu_model ? "" : gpu_model.error().message);
      for (int64_t prompt_tokens : {13, 40}) {
        auto cpu = Session::create(**cpu_model, 64, kv, 2);
        auto gpu = Session::create(**gpu_model, 64, kv, 1);
        ASSERT_TRUE(cpu && gpu);
        const double worst = compare_generation(**cpu, **gpu, prompt_tokens);
        std::printf("%-36s %s cache, %2d-token prompt: worst relative difference %.2e\n",
                    path.filename().c_str(), kv == KvType::kF16 ? "f16" : "f32", int(prompt_tokens),
                    worst);
        EXPECT_LT(worst, tolerance) << prompt_tokens << "-token prompt";
      }
    }
  }
  std::filesystem::remove_all(dir);
}

// Against the CPU's own path on the original weights the difference is what the CPU's Q8
// (or F16) rounding of activations makes: a few percent of the largest logit on these
// random models, through every layer.
TEST(CudaForwardTest, LogitsFollowTheCpuPathOnEveryModel) {
  RBEE_SKIP_WITHOUT_GPU();
  for (const auto& path : test_models()) {
    SCOPED_TRACE(path.filename().string());
    auto cpu_model = Model::load(path);
    if (!cpu_model) continue;
    auto gpu_model = load_on_gpu(path);
    ASSERT_TRUE(gpu_model) << gpu_model.error().message;
    auto cpu = Session::create(**cpu_model, 64, KvType::kF16, 2);
    auto gpu = Session::create(**gpu_model, 64, KvType::kF16, 1);
    ASSERT_TRUE(cpu && gpu);
    const double worst = compare_generation(**cpu, **gpu, 13);
    std::printf("%-40s worst relative difference to the CPU path %.2e\n", path.filename().c_str(),
                worst);
    EXPECT_LT(worst, 0.15);
  }
}

class CudaSessionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    RBEE_SKIP_WITHOUT_GPU();
    auto model = Model::load(kModels / "rand-llama-q-Q4_K_M.gguf", {.repack = false});
    ASSERT_TRUE(model) << model.error().message;
    model_ = std::move(*model);
    auto placed = place_model(*model_, "cuda:0");
    ASSERT_TRUE(placed) << placed.error().message;
  }
  std::unique_ptr<Session> session(int64_t n_ctx = 128) {
    auto created = Session::create(*model_, n_ctx, KvType::kF16, 1);
    EXPECT_TRUE(created) << created.error().message;
    return created ? std::move(*created) : nullptr;
  }
  int64_t n_vocab() const { return model_->hparams().n_vocab; }
  std::unique_ptr<Model> model_;
};

// Sequences batched together on the GPU get the bits each gets alone (the kernels reduce a
// token's sums in the same order whatever shares the launch).
TEST_F(CudaSessionTest, BatchedSequencesMatchEachAlone) {
  auto a = session(), b = session(), alone_a = session(), alone_b = session();
  const auto prompt_a = random_tokens(11, n_vocab(), 1);
  const auto prefix_b = random_tokens(5, n_vocab(), 2);
  const auto next_b = random_tokens(1, n_vocab(), 3);
  ASSERT_TRUE(b->eval(prefix_b));
  ASSERT_TRUE(alone_b->eval(prefix_b));
  const SequenceInput inputs[] = {{a.get(), prompt_a, true}, {b.get(), next_b, false}};
  auto together = eval_batch(inputs);
  ASSERT_TRUE(together) << together.error().message;
  auto first = alone_a->eval(prompt_a, true);
  auto second = alone_b->eval(next_b);
  ASSERT_TRUE(first && second);
  EXPECT_EQ((*together)[0], *first);
  EXPECT_EQ((*together)[1], *second);
  EXPECT_EQ(a->n_past(), 11);
  EXPECT_EQ(b->n_past(), 6);
}

// A prompt longer than one device slice (512 tokens) gives the logits of feeding it in parts
// (to float rounding: cuBLAS may order its sums by the product's size).
TEST_F(CudaSessionTest, LongPromptsGoInSlices) {
  auto whole = session(1024), parts = session(1024);
  const auto prompt = random_tokens(700, n_vocab(), 9);
  auto at_once = whole->eval(prompt);
  ASSERT_TRUE(at_once) << at_once.error().message;
  ASSERT_TRUE(parts->eval(std::span(prompt).first(300)));
  auto in_parts = parts->eval(std::span(prompt).subspan(300));
  ASSERT_TRUE(in_parts);
  EXPECT_LT(relative_difference(*in_parts, *at_once), 1e-4);
}

// Below kGemmMinTokens a batch's tokens go through the matrix-vector kernel, whose sums do not
// depend on the batch: a prompt fed at once and token by token give the same bits.
TEST_F(CudaSessionTest, ShortPromptsGiveTheBitsOfTokenByToken) {
  auto at_once = session(), one_by_one = session();
  const auto prompt = random_tokens(15, n_vocab(), 10);
  auto all = at_once->eval(prompt, true);
  ASSERT_TRUE(all);
  for (size_t i = 0; i < prompt.size(); ++i) {
    auto step = one_by_one->eval(std::span(prompt).subspan(i, 1));
    ASSERT_TRUE(step);
    const auto row = std::span(*all).subspan(i * size_t(n_vocab()), size_t(n_vocab()));
    EXPECT_TRUE(std::equal(row.begin(), row.end(), step->begin())) << "token " << i;
  }
}

TEST_F(CudaSessionTest, ErrorsLeaveTheSessionAsItWas) {
  auto s = session(16);
  ASSERT_TRUE(s->eval(random_tokens(10, n_vocab(), 4)));
  auto outside = s->eval(std::vector<int32_t>{int32_t(n_vocab())});
  ASSERT_FALSE(outside);
  EXPECT_EQ(outside.error().code, ErrorCode::kInvalidArgument);
  auto too_many = s->eval(random_tokens(7, n_vocab(), 5));
  ASSERT_FALSE(too_many);
  EXPECT_EQ(too_many.error().code, ErrorCode::kResourceExhausted);
  EXPECT_EQ(s->n_past(), 10);
  EXPECT_TRUE(s->eval(random_tokens(6, n_vocab(), 6)));
}

TEST_F(CudaSessionTest, AContextBeyondTheAttentionKernelIsRefusedAtCreation) {
  auto created = Session::create(*model_, int64_t(1) << 30, KvType::kF16, 1);
  ASSERT_FALSE(created);
  EXPECT_EQ(created.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(created.error().message.find("cuda:0"), std::string::npos);
}

// Sessions come and go (the worker's slots): each one's device cache goes with it.
TEST_F(CudaSessionTest, ADroppedSessionFreesItsCache) {
  const ModelHParams& hp = model_->hparams();
  const int64_t n_ctx = 32 * 1024;
  const size_t cache_bytes = size_t(2 * hp.n_layer * hp.n_head_kv * n_ctx * hp.head_dim() * 2);
  auto before = cuda_free_bytes(0);
  ASSERT_TRUE(before);
  {
    auto s = session(n_ctx);
    ASSERT_TRUE(s->eval(std::vector<int32_t>{1, 2, 3}));
    auto during = cuda_free_bytes(0);
    ASSERT_TRUE(during);
    EXPECT_LE(*during + cache_bytes, *before);
  }
  auto after = cuda_free_bytes(0);
  ASSERT_TRUE(after);
  // The slice scratch stays allocated; the cache does not.
  EXPECT_GE(*after + cache_bytes / 2, *before) << "freed " << (*after - *before);
}

}  // namespace
}  // namespace rbee::engine::gpu
