#include "http/sse.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace rbee::http {
namespace {

std::vector<SseEvent> parse_all(const std::string& text, size_t chunk_size) {
  SseParser parser;
  std::vector<SseEvent> events;
  for (size_t i = 0; i < text.size(); i += chunk_size) {
    parser.feed(std::string_view(text).substr(i, chunk_size), [&](SseEvent&& event) {
      events.push_back(std::move(event));
      return true;
    });
  }
  return events;
}

TEST(SseTest, FormatsIdEventAndData) {
  EXPECT_EQ(format_sse_event({"7", "done", R"({"status":"completed"})"}),
            "id: 7\nevent: done\ndata: {\"status\":\"completed\"}\n\n");
}

TEST(SseTest, MultiLineDataBecomesSeveralLines) {
  EXPECT_EQ(format_sse_event({"", "", "a\nb"}), "data: a\ndata: b\n\n");
}

TEST(SseTest, NewlinesInIdAndEventCannotBreakTheFrame) {
  std::string text = format_sse_event({"1\nevent: evil", "x\r\ny", "d"});
  auto events = parse_all(text, 1000);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].event, "x  y");
}

TEST(SseTest, RoundTripsAtEveryChunkSize) {
  std::string text;
  text += format_sse_event({"1", "narration", R"({"human":"hi"})"});
  text += std::string(kSseKeepAlive);
  text += format_sse_event({"2", "done", "line1\nline2"});
  for (size_t chunk : {1u, 2u, 3u, 7u, 1000u}) {
    auto events = parse_all(text, chunk);
    ASSERT_EQ(events.size(), 2u) << chunk;
    EXPECT_EQ(events[0].id, "1");
    EXPECT_EQ(events[0].event, "narration");
    EXPECT_EQ(events[1].data, "line1\nline2");
  }
}

TEST(SseTest, AcceptsCrlfAndCr) {
  auto events = parse_all("id: 3\r\nevent: e\r\ndata: x\r\n\r\ndata: y\r\r", 1);
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].id, "3");
  EXPECT_EQ(events[0].data, "x");
  EXPECT_EQ(events[1].data, "y");
}

TEST(SseTest, IncompleteEventIsNotDispatched) {
  EXPECT_TRUE(parse_all("data: partial\n", 100).empty());
}

TEST(SseTest, CallbackCanStopTheStream) {
  SseParser parser;
  int seen = 0;
  bool more = parser.feed("data: a\n\ndata: b\n\n", [&](SseEvent&&) {
    ++seen;
    return false;
  });
  EXPECT_FALSE(more);
  EXPECT_EQ(seen, 1);
}

}  // namespace
}  // namespace rbee::http
