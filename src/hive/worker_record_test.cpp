#include "hive/worker_record.hpp"

#include <gtest/gtest.h>

#include "common/files.hpp"
#include "common/test_dir.hpp"

namespace rbee::hive {
namespace {

WorkerRecord sample(const std::string& worker_id) {
  WorkerRecord record;
  record.worker_id = worker_id;
  record.pid = 4242;
  record.start_ticks = 123456789;
  record.port = 9100;
  record.url = "http://127.0.0.1:9100";
  record.model = "local:tiny";
  record.model_path = "/models/tiny.gguf";
  record.worker_type = "cpu";
  record.device = "cpu";
  record.ctx = 2048;
  record.parallel = 2;
  record.binary = "/bin/llm-worker-rbee";
  record.log_file = "/logs/" + worker_id + ".log";
  record.started_ms = 1700000000000;
  record.argv = {"/bin/llm-worker-rbee", "--worker-id", worker_id};
  return record;
}

TEST(WorkerRecordTest, RoundTripsThroughItsFile) {
  testing::TestDir dir;
  WorkerRecords records(dir.path() / "workers");
  EXPECT_TRUE(records.load_all().records.empty());  // no folder yet
  ASSERT_TRUE(records.write(sample("hive-abc123")));
  auto loaded = records.load_all();
  ASSERT_EQ(loaded.records.size(), 1u);
  const WorkerRecord& back = loaded.records[0];
  EXPECT_EQ(to_json(back), to_json(sample("hive-abc123")));
  EXPECT_EQ(back.start_ticks, 123456789u);
  EXPECT_EQ(back.argv.size(), 3u);
  // The operations show less than the file holds.
  auto summary = summary_json(back);
  EXPECT_EQ(summary["port"], 9100);
  EXPECT_FALSE(summary.contains("argv"));
  records.remove("hive-abc123");
  EXPECT_FALSE(std::filesystem::exists(records.path_for("hive-abc123")));
}

TEST(WorkerRecordTest, BadFilesAreReportedAndLeftoversRemoved) {
  testing::TestDir dir;
  WorkerRecords records(dir.path());
  ASSERT_TRUE(records.write(sample("good")));
  ASSERT_TRUE(write_file_atomic(dir.path() / "torn.json", "{\"worker_id\":\"to"));
  ASSERT_TRUE(write_file_atomic(dir.path() / "nopid.json", "{\"worker_id\":\"nopid\"}"));
  ASSERT_TRUE(write_file_atomic(dir.path() / "renamed.json", to_json(sample("other")).dump()));
  ASSERT_TRUE(write_file_atomic(dir.path() / "good.json.tmp.999", "{"));
  auto loaded = records.load_all();
  ASSERT_EQ(loaded.records.size(), 1u);
  EXPECT_EQ(loaded.records[0].worker_id, "good");
  EXPECT_EQ(loaded.invalid.size(), 3u);
  EXPECT_FALSE(std::filesystem::exists(dir.path() / "good.json.tmp.999"));
  EXPECT_TRUE(std::filesystem::exists(dir.path() / "torn.json"));  // left for a person to see
}

TEST(WorkerRecordTest, ParsingIsStrictAboutTheIdentity) {
  auto json = to_json(sample("w"));
  json["pid"] = 0;
  EXPECT_EQ(parse_worker_record(json).error().code, ErrorCode::kInvalidArgument);
  json = to_json(sample("w"));
  json["argv"] = "one string";
  EXPECT_EQ(parse_worker_record(json).error().code, ErrorCode::kInvalidArgument);
  json = to_json(sample("w"));
  json.erase("start_ticks");
  EXPECT_FALSE(parse_worker_record(json));
}

}  // namespace
}  // namespace rbee::hive
