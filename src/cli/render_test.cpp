#include "cli/render.hpp"

#include <gtest/gtest.h>

namespace rbee::cli {
namespace {

using contracts::Json;

TEST(RenderTest, FormatsBytes) {
  EXPECT_EQ(format_bytes(512), "512 B");
  EXPECT_EQ(format_bytes(1536), "1.5 KiB");
  EXPECT_EQ(format_bytes(3.0 * 1024 * 1024 * 1024), "3.0 GiB");
}

TEST(RenderTest, FormatsDurations) {
  EXPECT_EQ(format_duration(2.5), "2.5 s");
  EXPECT_EQ(format_duration(42), "42 s");
  EXPECT_EQ(format_duration(75), "1 min 15 s");
  EXPECT_EQ(format_duration(7300), "2 h 1 min");
  EXPECT_EQ(format_duration(-1), "?");
}

TEST(RenderTest, ProgressLineHasBarRateAndEta) {
  contracts::Progress progress{"download",  "model.gguf", true, 512 * 1024,
                               1024 * 1024, 256 * 1024,   2};
  std::string line = format_progress_line(progress, 10);
  EXPECT_EQ(line,
            "download model.gguf  [#####.....]  50%  512.0 KiB/1.0 MiB  256.0 KiB/s  ETA 2.0 s");
}

TEST(RenderTest, PlainProgressLineHasNoBar) {
  contracts::Progress progress{"check", "", false, 3, 6, 1, 3};
  EXPECT_EQ(format_progress_line(progress, 0), "check  50%  3/6  1/s  ETA 3.0 s");
}

TEST(RenderTest, UnknownTotalShowsAmountOnly) {
  contracts::Progress progress{"download", "", true, 2048, 0, 0, -1};
  EXPECT_EQ(format_progress_line(progress, 10), "download  2.0 KiB");
}

TEST(RenderTest, StatusResultListsHivesAndDevices) {
  Json result = {{"version", "0.1.0"},
                 {"uptime_s", 5},
                 {"hives",
                  {{{"hive_id", "localhost"},
                    {"state", "online"},
                    {"url", "http://127.0.0.1:7835"},
                    {"last_seen_ago_ms", 300},
                    {"devices",
                     {{{"id", "cpu"},
                       {"kind", "cpu"},
                       {"name", "Test CPU"},
                       {"cores", 4},
                       {"ram_total_bytes", 8LL << 30},
                       {"ram_free_bytes", 4LL << 30}}}}}}},
                 {"workers", Json::array()}};
  std::string text = format_result("status", result);
  EXPECT_NE(text.find("queen-rbee 0.1.0"), std::string::npos) << text;
  EXPECT_NE(text.find("localhost"), std::string::npos);
  EXPECT_NE(text.find("online"), std::string::npos);
  EXPECT_NE(text.find("Test CPU (4 cores, RAM 4.0 GiB free of 8.0 GiB)"), std::string::npos)
      << text;
  EXPECT_NE(text.find("(no workers"), std::string::npos) << text;
}

TEST(RenderTest, WorkerListIsATableWithIdHiveModelDeviceStatePortPid) {
  Json result = {{"workers",
                  {{{"worker_id", "localhost-1a2b3c"},
                    {"hive_id", "localhost"},
                    {"model", "org/repo:Q4_K_M"},
                    {"device", "cpu"},
                    {"state", "busy"},
                    {"port", 9101},
                    {"pid", 4242}}}}};
  std::string text = format_result("active_worker_list", result);
  EXPECT_NE(text.find("WORKER"), std::string::npos) << text;
  for (const char* expected :
       {"localhost-1a2b3c", "org/repo:Q4_K_M", "cpu", "busy", "9101", "4242"}) {
    EXPECT_NE(text.find(expected), std::string::npos) << expected << " missing in\n" << text;
  }
}

TEST(RenderTest, UnknownOperationResultIsPrettyJson) {
  EXPECT_EQ(format_result("other", Json{{"a", 1}}), "{\n  \"a\": 1\n}\n");
}

}  // namespace
}  // namespace rbee::cli
