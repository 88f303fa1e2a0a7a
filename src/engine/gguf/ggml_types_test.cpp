#include "engine/gguf/ggml_types.hpp"

#include <gtest/gtest.h>

namespace rbee::engine {
namespace {

struct Expected {
  GgmlType type;
  uint32_t id;
  std::string_view name;
  uint32_t block_size;
  uint32_t type_size;
};

TEST(GgufGgmlTypesTest, SupportedTypesHaveGgmlIdsAndBlockLayouts) {
  const Expected table[] = {
      {GgmlType::kF32, 0, "F32", 1, 4},        {GgmlType::kF16, 1, "F16", 1, 2},
      {GgmlType::kQ4_0, 2, "Q4_0", 32, 18},    {GgmlType::kQ4_1, 3, "Q4_1", 32, 20},
      {GgmlType::kQ5_0, 6, "Q5_0", 32, 22},    {GgmlType::kQ5_1, 7, "Q5_1", 32, 24},
      {GgmlType::kQ8_0, 8, "Q8_0", 32, 34},    {GgmlType::kQ8_1, 9, "Q8_1", 32, 36},
      {GgmlType::kQ2_K, 10, "Q2_K", 256, 84},  {GgmlType::kQ3_K, 11, "Q3_K", 256, 110},
      {GgmlType::kQ4_K, 12, "Q4_K", 256, 144}, {GgmlType::kQ5_K, 13, "Q5_K", 256, 176},
      {GgmlType::kQ6_K, 14, "Q6_K", 256, 210}, {GgmlType::kQ8_K, 15, "Q8_K", 256, 292},
      {GgmlType::kBF16, 30, "BF16", 1, 2},
  };
  for (const Expected& row : table) {
    SCOPED_TRACE(row.name);
    EXPECT_EQ(static_cast<uint32_t>(row.type), row.id);
    EXPECT_EQ(type_name(row.type), row.name);
    EXPECT_EQ(block_size(row.type), row.block_size);
    EXPECT_EQ(type_size(row.type), row.type_size);
    EXPECT_TRUE(is_supported(row.type));
  }
}

TEST(GgufGgmlTypesTest, KnownButUnsupportedTypesHaveNamesAndNoLayout) {
  auto iq2 = static_cast<GgmlType>(16);
  EXPECT_EQ(type_name(iq2), "IQ2_XXS");
  EXPECT_FALSE(is_supported(iq2));
  EXPECT_EQ(block_size(iq2), 0u);
  EXPECT_EQ(type_size(iq2), 0u);
  EXPECT_EQ(type_name(static_cast<GgmlType>(4)), "Q4_2");
  EXPECT_FALSE(is_supported(static_cast<GgmlType>(4)));
}

TEST(GgufGgmlTypesTest, UnknownIdsAreUnknown) {
  for (uint32_t id : {kGgmlTypeMaxKnownId + 1, 1000u, 0xffffffffu}) {
    auto type = static_cast<GgmlType>(id);
    EXPECT_EQ(type_name(type), "unknown");
    EXPECT_FALSE(is_supported(type));
    EXPECT_EQ(block_size(type), 0u);
  }
}

}  // namespace
}  // namespace rbee::engine
