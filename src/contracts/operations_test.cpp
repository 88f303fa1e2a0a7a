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

namespace rbee::contracts {
namespace {

TEST(CatalogOperationsTest, ModelDownloadDefaultsAndRoundTrip) {
  auto op = parse_operation(Json{{"operation", "model_download"}, {"model", "org/repo:Q8_0"}});
  ASSERT_TRUE(op) << op.error().message;
  const auto& download = std::get<ModelDownloadOperation>(*op);
  EXPECT_EQ(download.hive_id, "localhost");
  EXPECT_EQ(download.revision, "main");
  EXPECT_EQ(target_hive(*op), "localhost");
  auto again = parse_operation(to_json(*op));
  ASSERT_TRUE(again);
  EXPECT_EQ(std::get<ModelDownloadOperation>(*again).model, "org/repo:Q8_0");
}

TEST(CatalogOperationsTest, EveryHiveOperationTargetsItsHive) {
  for (const char* name : {"model_list", "worker_binary_list"}) {
    auto op = parse_operation(Json{{"operation", name}, {"hive_id", "attic"}});
    ASSERT_TRUE(op) << name;
    EXPECT_EQ(target_hive(*op), "attic");
    EXPECT_EQ(operation_name(*op), name);
  }
  auto del = parse_operation(
      Json{{"operation", "model_delete"}, {"hive_id", "attic"}, {"id", "a/b"}, {"force", true}});
  ASSERT_TRUE(del);
  EXPECT_TRUE(std::get<ModelDeleteOperation>(*del).force);
  EXPECT_EQ(target_hive(*del), "attic");
}

TEST(CatalogOperationsTest, RequiredFieldsAndControlCharacters) {
  auto missing = parse_operation(Json{{"operation", "model_get"}});
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().message.find("missing field 'id'"), std::string::npos);
  auto empty = parse_operation(Json{{"operation", "model_download"}, {"model", ""}});
  ASSERT_FALSE(empty);
  EXPECT_NE(empty.error().message.find("'model' is empty"), std::string::npos);
  auto control = parse_operation(Json{
      {"operation", "worker_binary_install"}, {"worker_type", "x\n"}, {"source", "/bin/true"}});
  ASSERT_FALSE(control);
  EXPECT_NE(control.error().message.find("'worker_type' contains a control character"),
            std::string::npos);
}

TEST(CatalogOperationsTest, InstallKeepsOptionalSha256) {
  auto op = parse_operation(Json{{"operation", "worker_binary_install"},
                                 {"worker_type", "llamacpp"},
                                 {"source", "https://example.org/llama-server"},
                                 {"sha256", "ab"}});
  ASSERT_TRUE(op);
  auto json = to_json(*op);
  EXPECT_EQ(json["sha256"], "ab");
  auto unknown = parse_operation(Json{{"operation", "worker_binary_install"},
                                      {"worker_type", "x"},
                                      {"source", "/bin/true"},
                                      {"checksum", "ab"}});
  ASSERT_FALSE(unknown);
  EXPECT_NE(unknown.error().message.find("unknown field 'checksum'"), std::string::npos);
}

}  // namespace
}  // namespace rbee::contracts

namespace rbee::contracts {
namespace {

TEST(WorkerOperationsTest, SpawnDefaultsAndRoundTrip) {
  auto parsed = parse_operation(Json{{"operation", "worker_spawn"}, {"model", "org/repo"}});
  ASSERT_TRUE(parsed) << parsed.error().message;
  const auto& spawn = std::get<WorkerSpawnOperation>(*parsed);
  EXPECT_EQ(spawn.hive_id, kLocalHiveId);
  EXPECT_EQ(spawn.worker_type, "cpu");
  EXPECT_EQ(spawn.device, "cpu");
  EXPECT_EQ(spawn.parallel, 1);
  EXPECT_EQ(target_hive(*parsed), kLocalHiveId);
  auto again = parse_operation(to_json(*parsed));
  ASSERT_TRUE(again) << again.error().message;
  EXPECT_EQ(to_json(*again), to_json(*parsed));
}

TEST(WorkerOperationsTest, SpawnRangesAndWorkerIdAreChecked) {
  for (const Json& bad :
       {Json{{"operation", "worker_spawn"}, {"model", "m"}, {"parallel", 0}},
        Json{{"operation", "worker_spawn"}, {"model", "m"}, {"ctx", -1}},
        Json{{"operation", "worker_spawn"}, {"model", "m"}, {"worker_id", "../x"}},
        Json{{"operation", "worker_process_get"}, {"pid", 0}},
        Json{{"operation", "worker_process_delete"}}, Json{{"operation", "active_worker_get"}}}) {
    EXPECT_FALSE(parse_operation(bad)) << bad.dump();
  }
}

TEST(WorkerOperationsTest, InferRunsOnTheQueenEvenWithAHive) {
  auto parsed = parse_operation(Json{{"operation", "infer"},
                                     {"model", "org/repo"},
                                     {"prompt", "Once"},
                                     {"hive_id", "localhost"},
                                     {"stop", "\n"},
                                     {"seed", 7},
                                     {"temperature", 0}});
  ASSERT_TRUE(parsed) << parsed.error().message;
  EXPECT_EQ(target_hive(*parsed), "");
  const auto& infer = std::get<InferOperation>(*parsed);
  EXPECT_EQ(infer.stop, std::vector<std::string>{"\n"});
  ASSERT_TRUE(infer.seed.has_value());
  EXPECT_EQ(*infer.seed, 7);
  EXPECT_EQ(infer.temperature, 0);
  auto again = parse_operation(to_json(*parsed));
  ASSERT_TRUE(again) << again.error().message;
  EXPECT_EQ(to_json(*again), to_json(*parsed));
}

TEST(WorkerOperationsTest, InferRejectsOutOfRangeSampling) {
  Json base{{"operation", "infer"}, {"model", "m"}, {"prompt", "p"}};
  for (auto [key, value] : {std::pair{"temperature", Json(3)}, std::pair{"top_p", Json(1.5)},
                            std::pair{"max_tokens", Json(0)}, std::pair{"stop", Json(5)}}) {
    Json bad = base;
    bad[key] = value;
    auto parsed = parse_operation(bad);
    ASSERT_FALSE(parsed) << bad.dump();
    EXPECT_NE(parsed.error().message.find(key), std::string::npos) << parsed.error().message;
  }
}

}  // namespace
}  // namespace rbee::contracts
