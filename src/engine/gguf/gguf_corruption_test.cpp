// Damaged GGUF bytes: every case must give a clean kInvalidArgument whose message says what is
// wrong, never a crash or a read outside the bytes (run under ASan/UBSan in CI).

#include <gtest/gtest.h>

#include <cstring>
#include <functional>

#include "engine/gguf/gguf_reader.hpp"
#include "engine/gguf/gguf_writer.hpp"

namespace rbee::engine {
namespace {

std::span<const uint8_t> as_span(const std::string& bytes) {
  return {reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()};
}

// A small valid file: a few keys of several types and two tensors (F32 then Q8_0).
std::string base_file() {
  GgufWriter writer;
  writer.set("general.architecture", "llama");
  writer.set("k.aaa", uint32_t{7});
  writer.set("k.aab", uint32_t{8});
  writer.set("k.flag", true);
  writer.set("k.tokens", GgufValue::string_array({"<unk>", "<s>", "hello"}));
  writer.set("k.scores", GgufValue::array_of<float>({0.5f, 1.5f, 2.5f}));
  std::vector<float> f32(16, 1.0f);
  std::vector<uint8_t> q8(34, 3);
  EXPECT_TRUE(writer.add_tensor("t.aa", GgmlType::kF32, {8, 2}, std::as_bytes(std::span(f32))));
  EXPECT_TRUE(writer.add_tensor("t.ab", GgmlType::kQ8_0, {32, 1}, std::as_bytes(std::span(q8))));
  return *writer.serialize();
}

size_t find(const std::string& bytes, std::string_view needle) {
  size_t pos = bytes.find(needle);
  EXPECT_NE(pos, std::string::npos) << needle;
  EXPECT_EQ(bytes.find(needle, pos + 1), std::string::npos) << needle << " is not unique";
  return pos;
}

template <typename T>
void put(std::string& bytes, size_t offset, T value) {
  std::memcpy(bytes.data() + offset, &value, sizeof(T));
}

// Offsets of a key's type and value, and of a tensor info's fields, found by name.
size_t key_type_at(const std::string& bytes, std::string_view key) {
  return find(bytes, key) + key.size();
}
size_t key_value_at(const std::string& bytes, std::string_view key) {
  return key_type_at(bytes, key) + 4;
}
size_t tensor_field_at(const std::string& bytes, std::string_view name, std::string_view field) {
  size_t n_dims_at = find(bytes, name) + name.size();
  uint32_t n_dims = 0;
  std::memcpy(&n_dims, bytes.data() + n_dims_at, 4);
  if (field == "n_dims") return n_dims_at;
  if (field == "dims") return n_dims_at + 4;
  if (field == "type") return n_dims_at + 4 + 8 * n_dims;
  return n_dims_at + 4 + 8 * n_dims + 4;  // offset
}

struct Corruption {
  std::string name;
  std::function<void(std::string&)> damage;
  std::string expected;  // words the error message must contain
};

std::vector<Corruption> corruptions() {
  return {
      {"magic", [](std::string& b) { b[0] = 'X'; }, "bad magic"},
      {"version 1", [](std::string& b) { put<uint32_t>(b, 4, 1); }, "unsupported GGUF version 1"},
      {"version 4", [](std::string& b) { put<uint32_t>(b, 4, 4); }, "unsupported GGUF version 4"},
      {"big-endian", [](std::string& b) { put<uint32_t>(b, 4, 0x03000000); }, "big-endian"},
      {"absurd tensor count", [](std::string& b) { put<uint64_t>(b, 8, 1ull << 60); },
       "tensor count 1152921504606846976 cannot fit in the file"},
      {"absurd metadata count", [](std::string& b) { put<uint64_t>(b, 16, ~0ull); },
       "metadata count 18446744073709551615 cannot fit"},
      {"metadata count one too many", [](std::string& b) { put<uint64_t>(b, 16, 7); },
       "runs past the end"},
      {"key length past the end", [](std::string& b) { put<uint64_t>(b, 24, 1ull << 40); },
       "metadata #0 key at offset 24: string length 1099511627776 runs past the end"},
      {"key length near 2^64", [](std::string& b) { put<uint64_t>(b, 24, ~0ull - 3); },
       "string length"},
      {"empty key", [](std::string& b) { put<uint64_t>(b, 24, 0); }, "key length 0"},
      {"string value length",
       [](std::string& b) { put<uint64_t>(b, key_value_at(b, "general.architecture"), 1 << 20); },
       "metadata 'general.architecture' at offset"},
      {"unknown value type", [](std::string& b) { put<uint32_t>(b, key_type_at(b, "k.aaa"), 13); },
       "unknown value type 13"},
      {"unknown array element type",
       [](std::string& b) { put<uint32_t>(b, key_value_at(b, "k.scores"), 99); },
       "array of unknown value type 99"},
      {"array count past the end",
       [](std::string& b) { put<uint64_t>(b, key_value_at(b, "k.scores") + 4, 1ull << 62); },
       "array of 4611686018427387904 float32 runs past the end"},
      {"string array count past the end",
       [](std::string& b) { put<uint64_t>(b, key_value_at(b, "k.tokens") + 4, ~0ull / 2); },
       "string runs past the end"},
      {"string element length",
       [](std::string& b) { put<uint64_t>(b, key_value_at(b, "k.tokens") + 12, 1ull << 50); },
       "metadata 'k.tokens' at offset"},
      {"bool not 0 or 1", [](std::string& b) { b[key_value_at(b, "k.flag")] = 2; },
       "bool value 2 is neither 0 nor 1"},
      {"duplicate key", [](std::string& b) { b[find(b, "k.aab") + 4] = 'a'; },
       "metadata 'k.aaa' at offset 90: duplicate key (also metadata #1)"},
      {"tensor n_dims 0",
       [](std::string& b) { put<uint32_t>(b, tensor_field_at(b, "t.aa", "n_dims"), 0); },
       "tensor 't.aa' at offset 243: n_dims 0 is not in 1..4"},
      {"tensor n_dims 5",
       [](std::string& b) { put<uint32_t>(b, tensor_field_at(b, "t.aa", "n_dims"), 5); },
       "n_dims 5 is not in 1..4"},
      {"tensor dim 0",
       [](std::string& b) { put<uint64_t>(b, tensor_field_at(b, "t.aa", "dims") + 8, 0); },
       "dim 1 is 0"},
      {"tensor dims overflow",
       [](std::string& b) {
         put<uint64_t>(b, tensor_field_at(b, "t.aa", "dims"), 1ull << 40);
         put<uint64_t>(b, tensor_field_at(b, "t.aa", "dims") + 8, 1ull << 40);
       },
       "element count overflows"},
      {"tensor too big for the file",
       [](std::string& b) { put<uint64_t>(b, tensor_field_at(b, "t.aa", "dims"), 1ull << 40); },
       "tensor 't.aa': data [0, 8796093022208) of the data section at"},
      {"unknown tensor type",
       [](std::string& b) { put<uint32_t>(b, tensor_field_at(b, "t.ab", "type"), 1000); },
       "unsupported tensor type 1000 (unknown)"},
      {"unsupported tensor type",
       [](std::string& b) { put<uint32_t>(b, tensor_field_at(b, "t.ab", "type"), 16); },
       "unsupported tensor type 16 (IQ2_XXS)"},
      {"ne0 not a whole block",
       [](std::string& b) {
         put<uint64_t>(b, tensor_field_at(b, "t.ab", "dims"), 16);
         put<uint64_t>(b, tensor_field_at(b, "t.ab", "dims") + 8, 2);
       },
       "ne0 16 is not a multiple of the block size 32 of Q8_0"},
      {"unaligned tensor offset",
       [](std::string& b) { put<uint64_t>(b, tensor_field_at(b, "t.ab", "offset"), 65); },
       "tensor 't.ab': data offset 65 is not a multiple of the alignment 32"},
      {"tensor offset past the end",
       [](std::string& b) { put<uint64_t>(b, tensor_field_at(b, "t.ab", "offset"), 1 << 20); },
       "tensor 't.ab': data [1048576, 1048610) of the data section at"},
      {"tensor offset near 2^64",
       [](std::string& b) { put<uint64_t>(b, tensor_field_at(b, "t.ab", "offset"), ~0ull - 31); },
       "ends past the file"},
      {"overlapping tensors",
       [](std::string& b) { put<uint64_t>(b, tensor_field_at(b, "t.ab", "offset"), 32); },
       "tensors 't.aa' [0, 64) and 't.ab' [32, 66) overlap"},
      {"duplicate tensor name", [](std::string& b) { b[find(b, "t.ab") + 3] = 'a'; },
       "duplicate name (also tensor #0)"},
      {"tensor name length",
       [](std::string& b) { put<uint64_t>(b, find(b, "t.aa") - 8, 1ull << 33); },
       "tensor #0 name at offset"},
  };
}

TEST(GgufCorruptionTest, BaseFileIsValid) {
  std::string bytes = base_file();
  auto gguf = GgufReader::from_bytes(as_span(bytes));
  ASSERT_TRUE(gguf) << gguf.error().message;
  EXPECT_EQ(gguf->tensors().size(), 2u);
}

TEST(GgufCorruptionTest, EachDamageIsACleanErrorSayingWhatIsWrong) {
  for (const Corruption& corruption : corruptions()) {
    SCOPED_TRACE(corruption.name);
    std::string bytes = base_file();
    corruption.damage(bytes);
    auto gguf = GgufReader::from_bytes(as_span(bytes));
    ASSERT_FALSE(gguf);
    EXPECT_EQ(gguf.error().code, ErrorCode::kInvalidArgument);
    EXPECT_NE(gguf.error().message.find(corruption.expected), std::string::npos)
        << "message: " << gguf.error().message;
  }
}

TEST(GgufCorruptionTest, TruncationAnywhereBeforeTheLastTensorEndsIsAnError) {
  std::string bytes = base_file();
  auto whole = GgufReader::from_bytes(as_span(bytes));
  ASSERT_TRUE(whole);
  const GgufTensor& last = whole->tensors().back();
  size_t needed = static_cast<size_t>(whole->data_offset() + last.offset + last.n_bytes);
  for (size_t size = 0; size < needed; ++size) {
    // A fresh buffer of exactly `size` bytes, so that ASan sees any read past its end.
    std::vector<uint8_t> cut(bytes.begin(), bytes.begin() + static_cast<ptrdiff_t>(size));
    auto gguf = GgufReader::from_bytes(cut);
    ASSERT_FALSE(gguf) << "size " << size;
    EXPECT_EQ(gguf.error().code, ErrorCode::kInvalidArgument);
    const std::string& message = gguf.error().message;
    bool says_why = message.find("truncated") != std::string::npos ||
                    message.find("past the end") != std::string::npos ||
                    message.find("past the file") != std::string::npos ||
                    message.find("cannot fit") != std::string::npos;
    EXPECT_TRUE(says_why) << "size " << size << ": " << message;
  }
  // The padding after the last tensor is not needed.
  std::vector<uint8_t> cut(bytes.begin(), bytes.begin() + static_cast<ptrdiff_t>(needed));
  EXPECT_TRUE(GgufReader::from_bytes(cut));
}

TEST(GgufCorruptionTest, BadAlignmentValuesAreRefused) {
  for (uint32_t alignment : {0u, 3u, 48u}) {
    SCOPED_TRACE(alignment);
    GgufWriter writer;
    writer.set("general.alignment", uint32_t{64});
    std::string bytes = *writer.serialize();
    put<uint32_t>(bytes, key_value_at(bytes, "general.alignment"), alignment);
    auto gguf = GgufReader::from_bytes(as_span(bytes));
    ASSERT_FALSE(gguf);
    EXPECT_NE(gguf.error().message.find("must be a non-zero power of two"), std::string::npos)
        << gguf.error().message;
  }
  GgufWriter writer;
  writer.set("general.alignment", uint32_t{64});
  std::string bytes = *writer.serialize();
  put<uint32_t>(bytes, key_type_at(bytes, "general.alignment"),
                static_cast<uint32_t>(GgufValueType::kInt32));
  auto gguf = GgufReader::from_bytes(as_span(bytes));
  ASSERT_FALSE(gguf);
  EXPECT_NE(gguf.error().message.find("'general.alignment' has type int32, must be uint32"),
            std::string::npos)
      << gguf.error().message;
}

// Arrays nested one level deeper than kGgufMaxArrayDepth, written by hand (the writer refuses).
TEST(GgufCorruptionTest, TooDeepNestingIsRefused) {
  std::string bytes;
  auto u32 = [&bytes](uint32_t v) { bytes.append(reinterpret_cast<const char*>(&v), 4); };
  auto u64 = [&bytes](uint64_t v) { bytes.append(reinterpret_cast<const char*>(&v), 8); };
  u32(kGgufMagic);
  u32(3);
  u64(0);
  u64(1);
  u64(4);
  bytes += "deep";
  u32(static_cast<uint32_t>(GgufValueType::kArray));
  for (int level = 0; level < 100; ++level) {
    u32(static_cast<uint32_t>(GgufValueType::kArray));
    u64(1);
  }
  auto gguf = GgufReader::from_bytes(as_span(bytes));
  ASSERT_FALSE(gguf);
  EXPECT_NE(gguf.error().message.find("arrays nested deeper than 8 levels"), std::string::npos)
      << gguf.error().message;
}

TEST(GgufCorruptionTest, FromBytesErrorsStartWithTheProblem) {
  std::string bytes = base_file();
  bytes[0] = 'X';
  auto gguf = GgufReader::from_bytes(as_span(bytes));
  ASSERT_FALSE(gguf);
  EXPECT_EQ(gguf.error().message.find("not a GGUF file"), 0u) << gguf.error().message;
}

}  // namespace
}  // namespace rbee::engine
