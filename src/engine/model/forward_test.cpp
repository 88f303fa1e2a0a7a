// Batched evaluation: several sequences in one forward pass, prompts longer than one slice,
// and the promise that a sequence's logits are the same bits whatever it was batched with.

#include <gtest/gtest.h>

#include "engine/kernels/kernel_table.hpp"
#include "engine/model/model.hpp"
#include "engine/model/model_test_util.hpp"

namespace rbee::engine {
namespace {

const std::filesystem::path kModels = std::filesystem::path(RBEE_TESTDATA_DIR) / "models";

using testing::random_tokens;

struct BatchCase {
  const char* model;
  KvType kv;
  int n_threads;
};

void PrintTo(const BatchCase& c, std::ostream* os) {
  *os << c.model << (c.kv == KvType::kF16 ? " kv=f16" : " kv=f32") << " threads=" << c.n_threads;
}

class ForwardBatchTest : public ::testing::TestWithParam<BatchCase> {
 protected:
  void SetUp() override {
    auto model = Model::load(kModels / GetParam().model);
    if (!model) GTEST_SKIP() << model.error().message;
    model_ = std::move(*model);
    pool_ = std::make_shared<ThreadPool>(GetParam().n_threads);
  }
  std::unique_ptr<Session> session(int64_t n_ctx = 512) {
    auto created = Session::create(*model_, n_ctx, GetParam().kv, pool_);
    EXPECT_TRUE(created);
    return created ? std::move(*created) : nullptr;
  }
  int64_t n_vocab() const { return model_->hparams().n_vocab; }

  std::unique_ptr<Model> model_;
  std::shared_ptr<ThreadPool> pool_;
};

// Three sequences at different points (a fresh prompt, one mid-generation, one fed a single
// token) evaluated together give each one's logits exactly as evaluated alone.
TEST_P(ForwardBatchTest, BatchedSequencesMatchEachAlone) {
  const auto prompt_a = random_tokens(9, n_vocab(), 1);
  const auto prefix_b = random_tokens(20, n_vocab(), 2);
  const auto next_b = random_tokens(1, n_vocab(), 3);
  const auto prompt_c = random_tokens(1, n_vocab(), 4);

  auto alone_a = session();
  auto alone_b = session();
  auto alone_c = session();
  ASSERT_TRUE(alone_b->eval(prefix_b));
  auto expect_a = alone_a->eval(prompt_a, /*all_logits=*/true);
  auto expect_b = alone_b->eval(next_b);
  auto expect_c = alone_c->eval(prompt_c);
  ASSERT_TRUE(expect_a && expect_b && expect_c);

  auto a = session();
  auto b = session();
  auto c = session();
  ASSERT_TRUE(b->eval(prefix_b));
  const SequenceInput inputs[] = {
      {a.get(), prompt_a, true}, {b.get(), next_b, false}, {c.get(), prompt_c, false}};
  auto batched = eval_batch(inputs);
  ASSERT_TRUE(batched) << batched.error().message;
  ASSERT_EQ(batched->size(), 3u);
  EXPECT_EQ((*batched)[0], *expect_a);
  EXPECT_EQ((*batched)[1], *expect_b);
  EXPECT_EQ((*batched)[2], *expect_c);
  EXPECT_EQ(a->n_past(), 9);
  EXPECT_EQ(b->n_past(), 21);
  EXPECT_EQ(c->n_past(), 1);

  // And they go on alike: the next token of each, batched and alone.
  const auto step = random_tokens(3, n_vocab(), 5);
  const SequenceInput next[] = {{a.get(), std::span(&step[0], 1)},
                                {b.get(), std::span(&step[1], 1)},
                                {c.get(), std::span(&step[2], 1)}};
  auto batched_next = eval_batch(next);
  ASSERT_TRUE(batched_next);
  EXPECT_EQ((*batched_next)[0], *alone_a->eval(std::span(&step[0], 1)));
  EXPECT_EQ((*batched_next)[1], *alone_b->eval(std::span(&step[1], 1)));
  EXPECT_EQ((*batched_next)[2], *alone_c->eval(std::span(&step[2], 1)));
}

// A prompt spanning several forward slices gives every row the logits of feeding it token
// by token.
TEST_P(ForwardBatchTest, LongPromptMatchesTokenByToken) {
  const auto prompt = random_tokens(300, n_vocab(), 6);
  auto whole = session();
  auto logits = whole->eval(prompt, /*all_logits=*/true);
  ASSERT_TRUE(logits);
  ASSERT_EQ(logits->size(), prompt.size() * size_t(n_vocab()));
  auto one_by_one = session();
  for (size_t i = 0; i < prompt.size(); ++i) {
    auto row = one_by_one->eval(std::span(&prompt[i], 1));
    ASSERT_TRUE(row);
    ASSERT_TRUE(std::equal(row->begin(), row->end(), logits->begin() + long(i) * n_vocab()))
        << "row " << i;
  }
}

// A bad input in a batch names the sequence and leaves every session where it was.
TEST_P(ForwardBatchTest, ErrorsChangeNothing) {
  auto a = session();
  auto b = session(8);
  const auto prompt = random_tokens(4, n_vocab(), 7);
  const auto too_long = random_tokens(9, n_vocab(), 8);
  const SequenceInput overflow[] = {{a.get(), prompt}, {b.get(), too_long}};
  auto result = eval_batch(overflow);
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code, ErrorCode::kResourceExhausted);
  EXPECT_NE(result.error().message.find("sequence 1: the context holds 8 tokens"),
            std::string::npos)
      << result.error().message;
  EXPECT_EQ(a->n_past(), 0);
  EXPECT_EQ(b->n_past(), 0);

  const int32_t outside[] = {int32_t(n_vocab())};
  const SequenceInput bad_token[] = {{a.get(), prompt}, {b.get(), outside}};
  result = eval_batch(bad_token);
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(result.error().message.find("outside the vocabulary"), std::string::npos);

  const SequenceInput twice[] = {{a.get(), prompt}, {a.get(), prompt}};
  result = eval_batch(twice);
  ASSERT_FALSE(result);
  EXPECT_NE(result.error().message.find("twice"), std::string::npos);

  const SequenceInput empty[] = {{a.get(), prompt}, {b.get(), {}}};
  EXPECT_FALSE(eval_batch(empty));
  EXPECT_FALSE(eval_batch({}));
  EXPECT_EQ(a->n_past(), 0);
  EXPECT_EQ(b->n_past(), 0);
  // Still usable afterwards.
  EXPECT_TRUE(a->eval(prompt));
  EXPECT_EQ(a->n_past(), 4);
}

INSTANTIATE_TEST_SUITE_P(Models, ForwardBatchTest,
                         ::testing::Values(BatchCase{"stories260K.gguf", KvType::kF16, 1},
                                           BatchCase{"stories260K.gguf", KvType::kF32, 2},
                                           BatchCase{"rand-llama-q-Q4_0.gguf", KvType::kF16, 2},
                                           BatchCase{"rand-llama-q-Q8_0.gguf", KvType::kF16, 1},
                                           BatchCase{"rand-llama-q-Q4_K_M.gguf", KvType::kF16, 2},
                                           BatchCase{"rand-qwen2-Q8_0.gguf", KvType::kF32, 2},
                                           BatchCase{"rand-llama-q-F16.gguf", KvType::kF16, 2}),
                         [](const ::testing::TestParamInfo<BatchCase>& param_info) {
                           std::string name =
                               std::string(param_info.param.model) +
                               (param_info.param.kv == KvType::kF16 ? "_f16" : "_f32") + "_t" +
                               std::to_string(param_info.param.n_threads);
                           for (char& ch : name) {
                             if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
                           }
                           return name;
                         });

// The cache keeps each key head's keys as one run of positions (attention streams a head's
// keys) and V transposed (each dimension's values over positions), every value as stored.
TEST(KvCacheTest, KeepsEachKeyHeadsPositionsTogetherAndValuesTransposed) {
  ModelHParams hp;
  hp.n_layer = 2;
  hp.n_embd = 32;
  hp.n_head = 4;
  hp.n_head_kv = 2;  // head_dim 8, n_embd_kv 16
  constexpr int64_t kCtx = 5;
  KvCache cache(hp, kCtx, KvType::kF32);
  const auto key_of = [](int64_t layer, int64_t pos, int64_t e) {
    return float(1000 * layer + 100 * pos + e);
  };
  for (int64_t layer = 0; layer < hp.n_layer; ++layer) {
    for (int64_t pos = 0; pos < kCtx; ++pos) {
      std::vector<float> k(16), v(16);
      for (int64_t e = 0; e < 16; ++e) {
        k[size_t(e)] = key_of(layer, pos, e);
        v[size_t(e)] = -key_of(layer, pos, e);
      }
      cache.store(layer, pos, k.data(), v.data());
    }
  }
  for (int64_t layer = 0; layer < hp.n_layer; ++layer) {
    for (int64_t head = 0; head < hp.n_head_kv; ++head) {
      const auto* keys = reinterpret_cast<const float*>(cache.keys(layer, head));
      for (int64_t pos = 0; pos < kCtx; ++pos) {
        for (int64_t d = 0; d < 8; ++d) {
          ASSERT_EQ(keys[pos * 8 + d], key_of(layer, pos, head * 8 + d))
              << "layer " << layer << " head " << head << " pos " << pos << " d " << d;
        }
      }
    }
    for (int64_t dim = 0; dim < 16; ++dim) {
      const auto* values = reinterpret_cast<const float*>(cache.values(layer, dim));
      for (int64_t pos = 0; pos < kCtx; ++pos) {
        ASSERT_EQ(values[pos], -key_of(layer, pos, dim)) << "layer " << layer << " dim " << dim;
      }
    }
  }
}

TEST(ForwardTest, SessionsOfDifferentModelsCannotShareABatch) {
  auto first = Model::load(kModels / "stories260K.gguf");
  auto second = Model::load(kModels / "aidreams260K.gguf");
  if (!first || !second) GTEST_SKIP() << "test models are not available";
  auto pool = std::make_shared<ThreadPool>(1);
  auto a = Session::create(**first, 64, KvType::kF16, pool);
  auto b = Session::create(**second, 64, KvType::kF16, pool);
  ASSERT_TRUE(a && b);
  const int32_t token[] = {1};
  const SequenceInput inputs[] = {{a->get(), token}, {b->get(), token}};
  auto result = eval_batch(inputs);
  ASSERT_FALSE(result);
  EXPECT_NE(result.error().message.find("share one model"), std::string::npos);
  EXPECT_EQ((*a)->n_past(), 0);
}

// A model's Q4_0 and Q4_K matrices repacked at load (where the kernels have a repacked
// layout: Q4_0x8 rows, Q4_Kx8 groups of eight rows) give the logits of the file's layout bit
// for bit, alone and batched, and only the matrices the forward pass multiplies with are
// copied: the embedding table is read from the file.
struct RepackCase {
  const char* name;
  const char* file;
  GgmlType type;
  kernels::KernelType repacked;
};

class RepackedWeightsTest : public ::testing::TestWithParam<RepackCase> {};

TEST_P(RepackedWeightsTest, GiveTheFileLayoutsLogitsExactly) {
  const RepackCase& param = GetParam();
  const auto path = kModels / param.file;
  auto repacked = Model::load(path);
  auto mapped = Model::load(path, {.repack = false});
  if (!repacked || !mapped) GTEST_SKIP() << "test models are not available";
  const auto type = static_cast<kernels::KernelType>(static_cast<uint32_t>(param.type));
  if (kernels::type_traits(type).repack_rows == nullptr) {
    GTEST_SKIP() << "the active kernel table (" << kernels::KernelTable::active().name()
                 << ") has no repacked layout of " << param.file;
  }
  const Model& fast = **repacked;
  EXPECT_EQ((*mapped)->repacked_bytes(), 0u);
  // Every matrix of the two layers and the output matrix are copied; of the file, only the
  // embedding table is read (norms are copied out as floats at load).
  size_t matrices = 0;
  for (const GgufTensor& tensor : fast.gguf().tensors()) {
    const bool is_matrix = tensor.type == param.type && tensor.name != "token_embd.weight";
    EXPECT_EQ(fast.reads_from_file(tensor), tensor.name == "token_embd.weight") << tensor.name;
    const GgufTensor* same = (*mapped)->gguf().find_tensor(std::string(tensor.name));
    ASSERT_NE(same, nullptr);
    EXPECT_EQ((*mapped)->reads_from_file(*same), tensor.type == param.type) << tensor.name;
    if (is_matrix) matrices += tensor.n_bytes;
  }
  EXPECT_EQ(fast.repacked_bytes(), matrices);
  EXPECT_NE(fast.layer(0).wq->data, (*mapped)->layer(0).wq->data);
  EXPECT_EQ(static_cast<uint32_t>(fast.layer(0).wq->type), static_cast<uint32_t>(param.repacked));

  for (int threads : {1, 2}) {
    auto pool = std::make_shared<ThreadPool>(threads);
    const auto prompt = random_tokens(40, fast.hparams().n_vocab, 11);
    const auto other = random_tokens(3, fast.hparams().n_vocab, 12);
    auto a = Session::create(fast, 128, KvType::kF16, pool);
    auto b = Session::create(**mapped, 128, KvType::kF16, pool);
    ASSERT_TRUE(a && b);
    auto from_copy = (*a)->eval(prompt, /*all_logits=*/true);
    auto from_file = (*b)->eval(prompt, /*all_logits=*/true);
    ASSERT_TRUE(from_copy && from_file);
    EXPECT_EQ(*from_copy, *from_file) << threads << " threads";
    // Batched with a second sequence of the repacked model.
    auto c = Session::create(fast, 128, KvType::kF16, pool);
    ASSERT_TRUE(c);
    const SequenceInput inputs[] = {{a->get(), std::span(other).first(1)}, {c->get(), other}};
    auto batched = eval_batch(inputs);
    auto alone = (*b)->eval(std::span(other).first(1));
    ASSERT_TRUE(batched && alone);
    EXPECT_EQ((*batched)[0], *alone) << threads << " threads";
  }
}

INSTANTIATE_TEST_SUITE_P(
    RepackedTypes, RepackedWeightsTest,
    ::testing::Values(RepackCase{"q4_0x8", "rand-llama-q-Q4_0.gguf", GgmlType::kQ4_0,
                                 kernels::KernelType::kQ4_0x8},
                      RepackCase{"q4_Kx8", "rand-llama-q-Q4_K.gguf", GgmlType::kQ4_K,
                                 kernels::KernelType::kQ4_Kx8}),
    [](const ::testing::TestParamInfo<RepackCase>& test) { return std::string(test.param.name); });

}  // namespace
}  // namespace rbee::engine
