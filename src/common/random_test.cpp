#include "common/random.hpp"

#include <gtest/gtest.h>

#include <regex>
#include <set>

#include "common/result.hpp"

namespace rbee {
namespace {

TEST(RandomTest, UuidHasVersion4Shape) {
  std::regex shape("[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}");
  std::set<std::string> seen;
  for (int i = 0; i < 100; ++i) {
    std::string id = random_uuid();
    EXPECT_TRUE(std::regex_match(id, shape)) << id;
    seen.insert(id);
  }
  EXPECT_EQ(seen.size(), 100u);
}

TEST(RandomTest, HexHasTwoDigitsPerByte) {
  EXPECT_EQ(random_hex(16).size(), 32u);
  EXPECT_NE(random_hex(16), random_hex(16));
}

TEST(RandomTest, ConstantTimeEquals) {
  EXPECT_TRUE(constant_time_equals("abc", "abc"));
  EXPECT_FALSE(constant_time_equals("abc", "abd"));
  EXPECT_FALSE(constant_time_equals("abc", "abcd"));
  EXPECT_FALSE(constant_time_equals("", "a"));
  EXPECT_TRUE(constant_time_equals("", ""));
}

TEST(ResultTest, WireNamesRoundTrip) {
  for (ErrorCode code : {ErrorCode::kInvalidArgument, ErrorCode::kNotFound, ErrorCode::kUnavailable,
                         ErrorCode::kCancelled, ErrorCode::kInternal}) {
    EXPECT_EQ(error_code_from_wire_name(wire_name(code)), code);
  }
  EXPECT_EQ(wire_name(ErrorCode::kInvalidArgument), "invalid_argument");
}

}  // namespace
}  // namespace rbee
