#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>

#include "common/files.hpp"
#include "common/test_dir.hpp"
#include "engine/gguf/gguf_reader.hpp"
#include "engine/gguf/gguf_writer.hpp"

namespace rbee::engine {
namespace {

std::span<const uint8_t> as_span(const std::string& bytes) {
  return {reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()};
}

template <typename T>
std::span<const std::byte> raw(const std::vector<T>& values) {
  return std::as_bytes(std::span(values));
}

// Every scalar type at its extremes, strings (empty, with a NUL, UTF-8), arrays of each type
// and arrays of arrays.
GgufWriter every_type_writer() {
  GgufWriter writer;
  writer.set("t.uint8", uint8_t{255});
  writer.set("t.int8", int8_t{-128});
  writer.set("t.uint16", uint16_t{65535});
  writer.set("t.int16", int16_t{-32768});
  writer.set("t.uint32", uint32_t{4000000000u});
  writer.set("t.int32", int32_t{-2000000000});
  writer.set("t.float32", 3.25f);
  writer.set("t.bool", true);
  writer.set("t.bool_false", false);
  writer.set("t.string", "llama");
  writer.set("t.empty_string", "");
  writer.set("t.odd_string", std::string("a\0b\xc3\xa9", 5));
  writer.set("t.uint64", std::numeric_limits<uint64_t>::max());
  writer.set("t.int64", std::numeric_limits<int64_t>::min());
  writer.set("t.float64", -1.0e300);
  writer.set("a.uint8", GgufValue::array_of<uint8_t>({0, 1, 255}));
  writer.set("a.int8", GgufValue::array_of<int8_t>({-1, 2}));
  writer.set("a.uint16", GgufValue::array_of<uint16_t>({7}));
  writer.set("a.int16", GgufValue::array_of<int16_t>({-7, 8}));
  writer.set("a.uint32", GgufValue::array_of<uint32_t>({1, 2, 3}));
  writer.set("a.int32", GgufValue::array_of<int32_t>({1, 2, 3, 6}));
  writer.set("a.float32", GgufValue::array_of<float>({0.0f, -1.5f, 1e30f}));
  writer.set("a.bool", GgufValue::array_of<bool>({true, false, true}));
  writer.set("a.string", GgufValue::string_array({"<unk>", "<s>", "", "\xe2\x96\x81the"}));
  writer.set("a.uint64", GgufValue::array_of<uint64_t>({1ull << 63}));
  writer.set("a.int64", GgufValue::array_of<int64_t>({-1}));
  writer.set("a.float64", GgufValue::array_of<double>({0.5, 1e-300}));
  writer.set("a.empty", GgufValue::array_of<float>({}));
  GgufArray nested{
      GgufValueType::kArray,
      {GgufValue::array_of<int32_t>({1, 2}), GgufValue::string_array({"x"}),
       GgufValue(GgufArray{GgufValueType::kArray, {GgufValue::array_of<double>({2.5})}})}};
  writer.set("a.nested", GgufValue(nested));
  return writer;
}

TEST(GgufRoundTripTest, EveryScalarTypeReadsBackExactly) {
  auto bytes = every_type_writer().serialize();
  ASSERT_TRUE(bytes) << bytes.error().message;
  auto gguf = GgufReader::from_bytes(as_span(*bytes));
  ASSERT_TRUE(gguf) << gguf.error().message;
  EXPECT_EQ(gguf->version(), 3u);
  EXPECT_EQ(gguf->alignment(), 32u);
  EXPECT_EQ(*gguf->get<uint8_t>("t.uint8"), 255);
  EXPECT_EQ(*gguf->get<int8_t>("t.int8"), -128);
  EXPECT_EQ(*gguf->get<uint16_t>("t.uint16"), 65535);
  EXPECT_EQ(*gguf->get<int16_t>("t.int16"), -32768);
  EXPECT_EQ(*gguf->get<uint32_t>("t.uint32"), 4000000000u);
  EXPECT_EQ(*gguf->get<int32_t>("t.int32"), -2000000000);
  EXPECT_EQ(*gguf->get<float>("t.float32"), 3.25f);
  EXPECT_EQ(*gguf->get<bool>("t.bool"), true);
  EXPECT_EQ(*gguf->get<bool>("t.bool_false"), false);
  EXPECT_EQ(*gguf->get<std::string_view>("t.string"), "llama");
  EXPECT_EQ(*gguf->get<std::string_view>("t.empty_string"), "");
  EXPECT_EQ(*gguf->get<std::string_view>("t.odd_string"), std::string_view("a\0b\xc3\xa9", 5));
  EXPECT_EQ(*gguf->get<uint64_t>("t.uint64"), std::numeric_limits<uint64_t>::max());
  EXPECT_EQ(*gguf->get<int64_t>("t.int64"), std::numeric_limits<int64_t>::min());
  EXPECT_EQ(*gguf->get<double>("t.float64"), -1.0e300);
}

TEST(GgufRoundTripTest, EveryArrayTypeReadsBackExactly) {
  auto bytes = every_type_writer().serialize();
  ASSERT_TRUE(bytes);
  auto gguf = GgufReader::from_bytes(as_span(*bytes));
  ASSERT_TRUE(gguf) << gguf.error().message;
  EXPECT_EQ(*gguf->get_array<uint8_t>("a.uint8"), (std::vector<uint8_t>{0, 1, 255}));
  EXPECT_EQ(*gguf->get_array<int8_t>("a.int8"), (std::vector<int8_t>{-1, 2}));
  EXPECT_EQ(*gguf->get_array<uint16_t>("a.uint16"), (std::vector<uint16_t>{7}));
  EXPECT_EQ(*gguf->get_array<int16_t>("a.int16"), (std::vector<int16_t>{-7, 8}));
  EXPECT_EQ(*gguf->get_array<uint32_t>("a.uint32"), (std::vector<uint32_t>{1, 2, 3}));
  EXPECT_EQ(*gguf->get_array<int32_t>("a.int32"), (std::vector<int32_t>{1, 2, 3, 6}));
  EXPECT_EQ(*gguf->get_array<float>("a.float32"), (std::vector<float>{0.0f, -1.5f, 1e30f}));
  EXPECT_EQ(*gguf->get_array<bool>("a.bool"), (std::vector<bool>{true, false, true}));
  EXPECT_EQ(*gguf->get_string_array("a.string"),
            (std::vector<std::string_view>{"<unk>", "<s>", "", "\xe2\x96\x81the"}));
  EXPECT_EQ(*gguf->get_array<uint64_t>("a.uint64"), (std::vector<uint64_t>{1ull << 63}));
  EXPECT_EQ(*gguf->get_array<int64_t>("a.int64"), (std::vector<int64_t>{-1}));
  EXPECT_EQ(*gguf->get_array<double>("a.float64"), (std::vector<double>{0.5, 1e-300}));
  EXPECT_TRUE(gguf->get_array<float>("a.empty")->empty());
  const GgufKeyInfo* info = gguf->find_key("a.string");
  ASSERT_NE(info, nullptr);
  EXPECT_EQ(info->type, GgufValueType::kArray);
  EXPECT_EQ(info->element_type, GgufValueType::kString);
  EXPECT_EQ(info->n_elements, 4u);
}

TEST(GgufRoundTripTest, GetValueReturnsEveryValueAsWritten) {
  GgufWriter writer = every_type_writer();
  auto bytes = writer.serialize();
  ASSERT_TRUE(bytes);
  auto gguf = GgufReader::from_bytes(as_span(*bytes));
  ASSERT_TRUE(gguf) << gguf.error().message;
  // Rebuild a writer from what was read: the same bytes must come out.
  GgufWriter copy;
  for (const GgufKeyInfo& info : gguf->metadata()) {
    auto value = gguf->get_value(info.key);
    ASSERT_TRUE(value) << value.error().message;
    copy.set(std::string(info.key), *value);
  }
  EXPECT_EQ(*copy.serialize(), *bytes);
  auto nested = gguf->get_value("a.nested");
  ASSERT_TRUE(nested);
  const GgufArray* outer = nested->get_if<GgufArray>();
  ASSERT_NE(outer, nullptr);
  ASSERT_EQ(outer->elements.size(), 3u);
  EXPECT_EQ(outer->elements[0], GgufValue::array_of<int32_t>({1, 2}));
  EXPECT_EQ(outer->elements[1], GgufValue::string_array({"x"}));
  const GgufArray* inner = outer->elements[2].get_if<GgufArray>();
  ASSERT_NE(inner, nullptr);
  EXPECT_EQ(inner->elements[0], GgufValue::array_of<double>({2.5}));
}

TEST(GgufRoundTripTest, TypedGettersNameTheKeyOnMissingAndWrongType) {
  auto bytes = every_type_writer().serialize();
  auto gguf = GgufReader::from_bytes(as_span(*bytes));
  ASSERT_TRUE(gguf);
  auto missing = gguf->get<uint32_t>("llama.block_count");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, ErrorCode::kNotFound);
  EXPECT_NE(missing.error().message.find("'llama.block_count'"), std::string::npos);
  auto wrong = gguf->get<uint32_t>("t.string");
  ASSERT_FALSE(wrong);
  EXPECT_EQ(wrong.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(wrong.error().message.find("'t.string' has type string, not uint32"), std::string::npos)
      << wrong.error().message;
  auto wrong_array = gguf->get_array<float>("a.int32");
  ASSERT_FALSE(wrong_array);
  EXPECT_NE(wrong_array.error().message.find("array of int32, not array of float32"),
            std::string::npos)
      << wrong_array.error().message;
  EXPECT_FALSE(gguf->get_array<float>("t.float32"));
  EXPECT_EQ(gguf->get_value("nope").error().code, ErrorCode::kNotFound);
  EXPECT_FALSE(gguf->has_key("nope"));
  EXPECT_TRUE(gguf->has_key("t.uint8"));
}

TEST(GgufRoundTripTest, GetUintAcceptsAnyNonNegativeInteger) {
  auto bytes = every_type_writer().serialize();
  auto gguf = GgufReader::from_bytes(as_span(*bytes));
  ASSERT_TRUE(gguf);
  EXPECT_EQ(*gguf->get_uint("t.uint8"), 255u);
  EXPECT_EQ(*gguf->get_uint("t.uint32"), 4000000000u);
  EXPECT_EQ(*gguf->get_uint("t.uint64"), std::numeric_limits<uint64_t>::max());
  EXPECT_EQ(gguf->get_uint("t.int32").error().code, ErrorCode::kInvalidArgument);  // negative
  EXPECT_EQ(gguf->get_uint("t.float32").error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(gguf->get_uint("missing").error().code, ErrorCode::kNotFound);
}

TEST(GgufRoundTripTest, TensorsKeepShapeTypeAndBytesAtAlignedOffsets) {
  GgufWriter writer;
  writer.set("general.architecture", "llama");
  std::vector<float> embd(64 * 3);
  for (size_t i = 0; i < embd.size(); ++i) embd[i] = static_cast<float>(i) * 0.5f;
  std::vector<uint8_t> q8(34 * 2 * 5, 0x5a);  // two Q8_0 blocks per row, 5 rows
  std::vector<float> norm{1.0f, 2.0f, 3.0f};  // 12 bytes: the next tensor needs padding
  ASSERT_TRUE(writer.add_tensor("token_embd.weight", GgmlType::kF32, {64, 3}, raw(embd)));
  ASSERT_TRUE(writer.add_tensor("norm.weight", GgmlType::kF32, {3}, raw(norm)));
  ASSERT_TRUE(writer.add_tensor("blk.0.attn_q.weight", GgmlType::kQ8_0, {64, 5}, raw(q8)));
  auto bytes = writer.serialize();
  ASSERT_TRUE(bytes) << bytes.error().message;
  auto gguf = GgufReader::from_bytes(as_span(*bytes));
  ASSERT_TRUE(gguf) << gguf.error().message;
  ASSERT_EQ(gguf->tensors().size(), 3u);
  EXPECT_EQ(gguf->data_offset() % 32, 0u);
  auto t = gguf->tensor("token_embd.weight");
  ASSERT_TRUE(t);
  EXPECT_EQ(t->type, GgmlType::kF32);
  EXPECT_EQ(std::vector<uint64_t>(t->shape().begin(), t->shape().end()),
            (std::vector<uint64_t>{64, 3}));
  EXPECT_EQ(t->n_elements, 192u);
  EXPECT_EQ(t->n_bytes, 192u * 4);
  EXPECT_EQ(std::memcmp(t->data, embd.data(), t->n_bytes), 0);
  auto q = gguf->tensor("blk.0.attn_q.weight");
  ASSERT_TRUE(q);
  EXPECT_EQ(q->type, GgmlType::kQ8_0);
  EXPECT_EQ(q->n_bytes, q8.size());
  EXPECT_EQ(q->offset % 32, 0u);
  EXPECT_EQ(std::memcmp(q->data, q8.data(), q8.size()), 0);
  EXPECT_EQ(gguf->tensor("nope").error().code, ErrorCode::kNotFound);
  EXPECT_EQ(gguf->find_tensor("nope"), nullptr);
}

TEST(GgufRoundTripTest, CustomAlignmentIsHonored) {
  GgufWriter writer;
  writer.set("general.alignment", uint32_t{256});
  std::vector<float> a{1.0f};
  std::vector<float> b{2.0f, 3.0f};
  ASSERT_TRUE(writer.add_tensor("a", GgmlType::kF32, {1}, raw(a)));
  ASSERT_TRUE(writer.add_tensor("b", GgmlType::kF32, {2}, raw(b)));
  auto bytes = writer.serialize();
  ASSERT_TRUE(bytes);
  auto gguf = GgufReader::from_bytes(as_span(*bytes));
  ASSERT_TRUE(gguf) << gguf.error().message;
  EXPECT_EQ(gguf->alignment(), 256u);
  EXPECT_EQ(gguf->data_offset() % 256, 0u);
  EXPECT_EQ(gguf->tensor("b")->offset, 256u);
  EXPECT_EQ(reinterpret_cast<const float*>(gguf->tensor("b")->data)[1], 3.0f);
}

TEST(GgufRoundTripTest, WriteThenOpenMapsTheFile) {
  testing::TestDir dir;
  GgufWriter writer = every_type_writer();
  std::vector<float> data(32, 1.5f);
  ASSERT_TRUE(writer.add_tensor("w", GgmlType::kF32, {32}, raw(data)));
  auto path = dir.path() / "model.gguf";
  ASSERT_TRUE(writer.write(path));
  auto gguf = GgufReader::open(path);
  ASSERT_TRUE(gguf) << gguf.error().message;
  EXPECT_EQ(*gguf->get<std::string_view>("t.string"), "llama");
  // A moved reader keeps its views: the mapping stays where it was.
  GgufReader moved = std::move(*gguf);
  EXPECT_EQ(*moved.get<std::string_view>("t.string"), "llama");
  EXPECT_EQ(reinterpret_cast<const float*>(moved.tensor("w")->data)[31], 1.5f);
  EXPECT_EQ(moved.file_size_bytes(), std::filesystem::file_size(path));
}

TEST(GgufRoundTripTest, MissingFileIsNotFound) {
  testing::TestDir dir;
  auto gguf = GgufReader::open(dir.path() / "absent.gguf");
  ASSERT_FALSE(gguf);
  EXPECT_EQ(gguf.error().code, ErrorCode::kNotFound);
  EXPECT_NE(gguf.error().message.find("absent.gguf"), std::string::npos);
}

TEST(GgufRoundTripTest, EmptyFileAndFolderAreInvalid) {
  testing::TestDir dir;
  auto empty = dir.path() / "empty.gguf";
  ASSERT_TRUE(write_file_atomic(empty, ""));
  auto gguf = GgufReader::open(empty);
  ASSERT_FALSE(gguf);
  EXPECT_EQ(gguf.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(gguf.error().message.find("empty.gguf"), std::string::npos);
  EXPECT_EQ(GgufReader::open(dir.path()).error().code, ErrorCode::kInvalidArgument);
}

TEST(GgufRoundTripTest, WriterRejectsBadTensorsAndValues) {
  GgufWriter writer;
  std::vector<float> four(4);
  EXPECT_TRUE(writer.add_tensor("x", GgmlType::kF32, {4}, raw(four)));
  EXPECT_EQ(writer.add_tensor("x", GgmlType::kF32, {4}, raw(four)).error().code,
            ErrorCode::kAlreadyExists);
  EXPECT_EQ(writer.add_tensor("y", GgmlType::kF32, {5}, raw(four)).error().code,
            ErrorCode::kInvalidArgument);  // wrong byte count
  EXPECT_FALSE(writer.add_tensor("y", GgmlType::kF32, {}, raw(four)));
  EXPECT_FALSE(writer.add_tensor("y", GgmlType::kF32, {1, 1, 1, 1, 4}, raw(four)));
  EXPECT_FALSE(writer.add_tensor("y", GgmlType::kF32, {0, 4}, raw(four)));
  EXPECT_FALSE(writer.add_tensor("y", GgmlType::kQ8_0, {16}, raw(four)));  // ne0 % 32
  EXPECT_FALSE(writer.add_tensor("y", static_cast<GgmlType>(16), {4}, raw(four)));

  GgufWriter mixed;
  mixed.set("bad", GgufValue(GgufArray{GgufValueType::kInt32, {int32_t{1}, 2.0f}}));
  auto bytes = mixed.serialize();
  ASSERT_FALSE(bytes);
  EXPECT_NE(bytes.error().message.find("'bad'"), std::string::npos);

  GgufWriter misaligned;
  misaligned.set("general.alignment", uint32_t{48});
  EXPECT_FALSE(misaligned.serialize());
  misaligned.set("general.alignment", uint64_t{64});
  EXPECT_FALSE(misaligned.serialize());
  misaligned.set("general.alignment", uint32_t{64});
  EXPECT_TRUE(misaligned.serialize());
}

TEST(GgufRoundTripTest, SettingAKeyAgainReplacesItInPlace) {
  GgufWriter writer;
  writer.set("a", uint32_t{1});
  writer.set("b", uint32_t{2});
  writer.set("a", "now a string");
  auto bytes = writer.serialize();
  auto gguf = GgufReader::from_bytes(as_span(*bytes));
  ASSERT_TRUE(gguf);
  ASSERT_EQ(gguf->metadata().size(), 2u);
  EXPECT_EQ(gguf->metadata()[0].key, "a");
  EXPECT_EQ(*gguf->get<std::string_view>("a"), "now a string");
}

TEST(GgufRoundTripTest, DeepestAllowedNestingRoundTrips) {
  GgufValue value = GgufValue::array_of<uint8_t>({7});
  for (int depth = 1; depth < kGgufMaxArrayDepth; ++depth) {
    value = GgufValue(GgufArray{GgufValueType::kArray, {value}});
  }
  GgufWriter writer;
  writer.set("deep", value);
  auto bytes = writer.serialize();
  ASSERT_TRUE(bytes) << bytes.error().message;
  auto gguf = GgufReader::from_bytes(as_span(*bytes));
  ASSERT_TRUE(gguf) << gguf.error().message;
  EXPECT_EQ(*gguf->get_value("deep"), value);
  // One level more is refused by the writer.
  writer.set("deep", GgufValue(GgufArray{GgufValueType::kArray, {value}}));
  EXPECT_FALSE(writer.serialize());
}

}  // namespace
}  // namespace rbee::engine
