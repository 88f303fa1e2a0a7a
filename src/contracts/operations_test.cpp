#include "contracts/operations.hpp"

#include <gtest/gtest.h>

namespace rbee::contracts {
namespace {

Result<Operation> parse(const std::string& text) {
  return parse_operation(Json::parse(text));
}

TEST(OperationsTest, ParsesStatus) {
  auto op = parse(R"({"operation":"status"})");
  ASSERT_TRUE(op) << op.error().message;
  EXPECT_TRUE(std::holds_alternative<StatusOperation>(*op));
  EXPECT_EQ(operation_name(*op), "status");
  EXPECT_EQ(target_hive(*op), "");
}

TEST(OperationsTest, HiveCheckDefaultsToLocalHive) {
  auto op = parse(R"({"operation":"hive_check"})");
  ASSERT_TRUE(op);
  const auto& check = std::get<HiveCheckOperation>(*op);
  EXPECT_EQ(check.hive_id, "localhost");
  EXPECT_EQ(check.duration_s, 0);
  EXPECT_EQ(target_hive(*op), "localhost");
}

TEST(OperationsTest, HiveCheckRoundTrips) {
  auto op = parse(R"({"operation":"hive_check","hive_id":"attic","duration_s":2.5})");
  ASSERT_TRUE(op);
  auto again = parse_operation(to_json(*op));
  ASSERT_TRUE(again);
  EXPECT_EQ(std::get<HiveCheckOperation>(*again).hive_id, "attic");
  EXPECT_DOUBLE_EQ(std::get<HiveCheckOperation>(*again).duration_s, 2.5);
}

TEST(OperationsTest, UnknownOperationNamesTheField) {
  auto op = parse(R"({"operation":"make_coffee"})");
  ASSERT_FALSE(op);
  EXPECT_EQ(op.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(op.error().message.find("'operation'"), std::string::npos);
  EXPECT_NE(op.error().message.find("make_coffee"), std::string::npos);
}

TEST(OperationsTest, MissingOperationNamesTheField) {
  auto op = parse(R"({"hive_id":"x"})");
  ASSERT_FALSE(op);
  EXPECT_NE(op.error().message.find("missing field 'operation'"), std::string::npos);
}

TEST(OperationsTest, MissingRequiredFieldOfAnOperation) {
  auto op = parse(R"({"operation":"hive_get"})");
  ASSERT_FALSE(op);
  EXPECT_NE(op.error().message.find("missing field 'alias'"), std::string::npos);
}

TEST(OperationsTest, WrongTypeNamesFieldAndTypes) {
  auto op = parse(R"({"operation":"hive_check","hive_id":7})");
  ASSERT_FALSE(op);
  EXPECT_NE(op.error().message.find("'hive_id' must be a string, got number"), std::string::npos)
      << op.error().message;
  auto op2 = parse(R"({"operation":"hive_check","duration_s":"long"})");
  ASSERT_FALSE(op2);
  EXPECT_NE(op2.error().message.find("'duration_s' must be a number"), std::string::npos);
}

TEST(OperationsTest, UnknownFieldIsRejected) {
  auto op = parse(R"({"operation":"status","verbose":true})");
  ASSERT_FALSE(op);
  EXPECT_NE(op.error().message.find("unknown field 'verbose'"), std::string::npos);
}

TEST(OperationsTest, NonObjectBodyIsRejected) {
  auto op = parse(R"(["status"])");
  ASSERT_FALSE(op);
  EXPECT_NE(op.error().message.find("must be a JSON object"), std::string::npos);
}

TEST(OperationsTest, HiveIdWithPathTricksIsRejected) {
  for (const char* id : {"../etc", "a/b", "..", "", "with space"}) {
    Json body{{"operation", "hive_check"}, {"hive_id", id}};
    auto op = parse_operation(body);
    EXPECT_FALSE(op) << id;
  }
}

TEST(OperationsTest, NegativeDurationIsRejected) {
  auto op = parse(R"({"operation":"hive_check","duration_s":-1})");
  ASSERT_FALSE(op);
  EXPECT_NE(op.error().message.find("duration_s"), std::string::npos);
}

TEST(JsonReaderTest, MalformedJsonNamesThePosition) {
  auto parsed = parse_json_text("{\"operation\": ");
  ASSERT_FALSE(parsed);
  EXPECT_EQ(parsed.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(parsed.error().message.find("malformed JSON"), std::string::npos);
}

}  // namespace
}  // namespace rbee::contracts
