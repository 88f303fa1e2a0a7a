#include "provision/hf_files.hpp"

#include <gtest/gtest.h>

namespace rbee::provision {
namespace {

RepoFile file(std::string path, uint64_t size = 100) {
  return RepoFile{std::move(path), size, std::string(64, 'a')};
}

ModelReference repo_reference(std::string quant = "", std::string path = "") {
  ModelReference reference;
  reference.repo = "org/repo";
  reference.quant = std::move(quant);
  reference.file = std::move(path);
  return reference;
}

std::vector<std::string> paths_of(const ModelSelection& selection) {
  std::vector<std::string> out;
  for (const auto& f : selection.files) out.push_back(f.path);
  return out;
}

TEST(QuantLabelTest, FromCommonNamingSchemes) {
  EXPECT_EQ(quant_label_from_filename("Llama-3.2-1B-Instruct-Q4_K_M.gguf"), "Q4_K_M");
  EXPECT_EQ(quant_label_from_filename("llama-2-7b.Q5_K_S.gguf"), "Q5_K_S");
  EXPECT_EQ(quant_label_from_filename("qwen2.5-0.5b-instruct-q8_0.gguf"), "Q8_0");
  EXPECT_EQ(quant_label_from_filename("dir/model-F16.gguf"), "F16");
  EXPECT_EQ(quant_label_from_filename("model-bf16-00001-of-00003.gguf"), "BF16");
  EXPECT_EQ(quant_label_from_filename("Model.i1-IQ4_XS.gguf"), "IQ4_XS");
  EXPECT_EQ(quant_label_from_filename("stories260K-Q4_K_M-fallback.gguf"), "Q4_K_M");
  EXPECT_EQ(quant_label_from_filename("ggml-model-q4_0.gguf"), "Q4_0");
  EXPECT_EQ(quant_label_from_filename("Qwen2-7B-UD-Q4_K_XL.gguf"), "Q4_K_XL");
  EXPECT_EQ(quant_label_from_filename("stories260K.gguf"), "");
  EXPECT_EQ(quant_label_from_filename("Qwen2.5-7B.gguf"), "");
}

TEST(SplitPartTest, ParsesNumbering) {
  auto part = parse_split_part("dir/model-Q8_0-00002-of-00003.gguf");
  ASSERT_TRUE(part);
  EXPECT_EQ(part->base, "dir/model-Q8_0");
  EXPECT_EQ(part->index, 2);
  EXPECT_EQ(part->count, 3);
  EXPECT_FALSE(parse_split_part("model-Q8_0.gguf"));
  EXPECT_FALSE(parse_split_part("model-00004-of-00003.gguf"));
  EXPECT_FALSE(parse_split_part("model-00000-of-00003.gguf"));
  EXPECT_FALSE(parse_split_part("-00001-of-00003.gguf"));
  EXPECT_FALSE(parse_split_part("model-00001-of-00003.bin"));
}

TEST(SelectGgufTest, FollowsThePreferenceOrder) {
  std::vector<RepoFile> files = {
      file("README.md"),     file("m-F16.gguf"),    file("m-Q8_0.gguf"),       file("m-Q4_0.gguf"),
      file("m-Q5_K_M.gguf"), file("m-Q4_K_S.gguf"), file("mmproj-Q4_K_M.gguf")};
  std::vector<std::string> expected_order = {"m-Q4_K_S.gguf", "m-Q5_K_M.gguf", "m-Q8_0.gguf",
                                             "m-Q4_0.gguf", "m-F16.gguf"};
  files.push_back(file("m-Q4_K_M.gguf"));
  auto best = select_gguf(files, repo_reference());
  ASSERT_TRUE(best) << best.error().message;
  // The projector carries a Q4_K_M tag too, but it is not a model.
  EXPECT_EQ(paths_of(*best), std::vector<std::string>{"m-Q4_K_M.gguf"});
  EXPECT_EQ(best->quant, "Q4_K_M");
  // Take away the winner each time: the next preference wins.
  for (const auto& next : expected_order) {
    std::erase_if(files, [&](const RepoFile& f) { return f.path == paths_of(*best).front(); });
    best = select_gguf(files, repo_reference());
    ASSERT_TRUE(best) << best.error().message;
    EXPECT_EQ(paths_of(*best), std::vector<std::string>{next});
  }
}

TEST(SelectGgufTest, OtherwiseTheFirstGgufByPath) {
  std::vector<RepoFile> files = {file("z-IQ2_XXS.gguf"), file("b-Q6_K.gguf"), file("a.gguf")};
  auto chosen = select_gguf(files, repo_reference());
  ASSERT_TRUE(chosen) << chosen.error().message;
  EXPECT_EQ(paths_of(*chosen), std::vector<std::string>{"a.gguf"});
  EXPECT_EQ(chosen->quant, "");
}

TEST(SelectGgufTest, ExplicitQuant) {
  std::vector<RepoFile> files = {file("m-Q4_K_M.gguf"), file("m-Q8_0.gguf"), file("m-q6_k.gguf")};
  auto chosen = select_gguf(files, repo_reference("Q6_K"));
  ASSERT_TRUE(chosen) << chosen.error().message;
  EXPECT_EQ(paths_of(*chosen), std::vector<std::string>{"m-q6_k.gguf"});
  EXPECT_EQ(chosen->quant, "Q6_K");

  auto missing = select_gguf(files, repo_reference("Q2_K"));
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, ErrorCode::kNotFound);
  EXPECT_NE(missing.error().message.find("Q2_K"), std::string::npos);
  EXPECT_NE(missing.error().message.find("Q4_K_M, Q6_K, Q8_0"), std::string::npos)
      << missing.error().message;
}

TEST(SelectGgufTest, ExactFile) {
  std::vector<RepoFile> files = {file("a/m-Q4_K_M.gguf"), file("b/m-Q4_K_M.gguf")};
  auto chosen = select_gguf(files, repo_reference("", "b/m-Q4_K_M.gguf"));
  ASSERT_TRUE(chosen) << chosen.error().message;
  EXPECT_EQ(paths_of(*chosen), std::vector<std::string>{"b/m-Q4_K_M.gguf"});
  EXPECT_EQ(chosen->quant, "Q4_K_M");

  auto missing = select_gguf(files, repo_reference("", "c/m.gguf"));
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, ErrorCode::kNotFound);
  EXPECT_NE(missing.error().message.find("c/m.gguf"), std::string::npos);
  EXPECT_NE(missing.error().message.find("a/m-Q4_K_M.gguf"), std::string::npos);
}

TEST(SelectGgufTest, SplitSetIsOneModelInPartOrder) {
  std::vector<RepoFile> files = {file("Q8_0/m-Q8_0-00003-of-00003.gguf", 3),
                                 file("Q8_0/m-Q8_0-00001-of-00003.gguf", 1),
                                 file("Q8_0/m-Q8_0-00002-of-00003.gguf", 2), file("m-F16.gguf")};
  auto chosen = select_gguf(files, repo_reference());
  ASSERT_TRUE(chosen) << chosen.error().message;
  EXPECT_EQ(paths_of(*chosen), (std::vector<std::string>{"Q8_0/m-Q8_0-00001-of-00003.gguf",
                                                         "Q8_0/m-Q8_0-00002-of-00003.gguf",
                                                         "Q8_0/m-Q8_0-00003-of-00003.gguf"}));
  EXPECT_EQ(chosen->quant, "Q8_0");
  EXPECT_EQ(chosen->total_size(), 6u);

  // Naming any part names the whole model.
  auto by_part = select_gguf(files, repo_reference("", "Q8_0/m-Q8_0-00002-of-00003.gguf"));
  ASSERT_TRUE(by_part) << by_part.error().message;
  EXPECT_EQ(by_part->files.size(), 3u);
  auto by_quant = select_gguf(files, repo_reference("q8_0"));
  ASSERT_TRUE(by_quant) << by_quant.error().message;
  EXPECT_EQ(by_quant->files.size(), 3u);
}

TEST(SelectGgufTest, IncompleteSplitSet) {
  std::vector<RepoFile> files = {file("m-Q4_K_M-00001-of-00003.gguf"),
                                 file("m-Q4_K_M-00003-of-00003.gguf"), file("m-Q8_0.gguf")};
  // Automatic choice passes over the incomplete set...
  auto automatic = select_gguf(files, repo_reference());
  ASSERT_TRUE(automatic) << automatic.error().message;
  EXPECT_EQ(paths_of(*automatic), std::vector<std::string>{"m-Q8_0.gguf"});
  // ... but asking for it says what is missing.
  auto asked = select_gguf(files, repo_reference("Q4_K_M"));
  ASSERT_FALSE(asked);
  EXPECT_EQ(asked.error().code, ErrorCode::kNotFound);
  EXPECT_NE(asked.error().message.find("part(s) 2 of 3"), std::string::npos)
      << asked.error().message;
  auto by_file = select_gguf(files, repo_reference("", "m-Q4_K_M-00001-of-00003.gguf"));
  ASSERT_FALSE(by_file);
  EXPECT_NE(by_file.error().message.find("incomplete"), std::string::npos);

  std::vector<RepoFile> only_incomplete = {file("m-00002-of-00002.gguf")};
  auto none = select_gguf(only_incomplete, repo_reference());
  ASSERT_FALSE(none);
  EXPECT_NE(none.error().message.find("part(s) 1 of 2"), std::string::npos) << none.error().message;
}

TEST(SelectGgufTest, NoGgufListsWhatIsThere) {
  std::vector<RepoFile> files = {file("config.json"), file("model.safetensors"), file("README.md")};
  auto chosen = select_gguf(files, repo_reference());
  ASSERT_FALSE(chosen);
  EXPECT_EQ(chosen.error().code, ErrorCode::kNotFound);
  EXPECT_NE(chosen.error().message.find("no GGUF"), std::string::npos);
  EXPECT_NE(chosen.error().message.find("config.json, model.safetensors, README.md"),
            std::string::npos)
      << chosen.error().message;
  EXPECT_NE(chosen.error().message.find("org/repo"), std::string::npos);
}

TEST(SelectGgufTest, LongListsAreShortened) {
  std::vector<RepoFile> files;
  for (int i = 0; i < 30; ++i) files.push_back(file("f" + std::to_string(i) + ".bin"));
  auto chosen = select_gguf(files, repo_reference());
  ASSERT_FALSE(chosen);
  EXPECT_NE(chosen.error().message.find("and 10 more"), std::string::npos);
}

}  // namespace
}  // namespace rbee::provision
