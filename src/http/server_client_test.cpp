#include <gtest/gtest.h>

#include <atomic>
#include <chrono>

#include "http/client.hpp"
#include "http/server.hpp"
#include "http/test_server.hpp"

namespace rbee::http {
namespace {

using contracts::Json;

class ServerClientTest : public ::testing::Test {
 protected:
  ServerClientTest() : server_(ServerOptions{"test", 1024, 8, "s3cret"}) {
    server_.route("GET", "/hello/([a-z]+)", Access::kPublic, [](const Request& req) {
      return json_response(200, Json{{"name", req.path_params.at(0)}});
    });
    server_.route("POST", "/echo", Access::kPublic, [](const Request& req) {
      return json_response(200, Json{{"body", req.body}});
    });
    server_.route("POST", "/internal", Access::kClusterToken, [this](const Request&) {
      ++internal_calls_;
      return json_response(200, Json{{"ok", true}});
    });
    server_.route("GET", "/fail", Access::kPublic, [](const Request&) {
      return error_response(Error{ErrorCode::kNotFound, "no such thing"});
    });
    server_.route("GET", "/throws", Access::kPublic,
                  [](const Request&) -> Response { throw std::runtime_error("boom"); });
    server_.route("GET", "/stream", Access::kPublic, [](const Request&) {
      Response response;
      response.content_type = "text/event-stream";
      response.stream = [](StreamSink& sink) {
        for (int i = 1; i <= 3; ++i) {
          sink.write(
              format_sse_event({std::to_string(i), "n", "{\"i\":" + std::to_string(i) + "}"}));
        }
      };
      return response;
    });
    server_.route("POST", "/stream-echo", Access::kPublic, [](const Request& req) {
      Response response;
      response.content_type = "text/event-stream";
      response.stream = [body = req.body](StreamSink& sink) {
        for (char c : body) {
          if (!sink.write(format_sse_event({"", "", std::string(1, c)}))) return;
        }
      };
      return response;
    });
    server_.route("POST", "/short", Access::kPublic, [](const Request&) {
      Response response;
      response.content_type = "application/octet-stream";
      response.stream_length = 10;
      response.stream = [](StreamSink& sink) { sink.write("0123"); };
      return response;
    });
    server_.route("GET", "/query", Access::kPublic, [](const Request& req) {
      return json_response(200, Json{{"a", req.query_param("a")}, {"b", req.query_param("b")}});
    });
    // Fixed-length bodies: /fixed/N sends N of its 10 bytes, in pieces of 3.
    server_.route("GET", "/fixed/([0-9]+)", Access::kPublic, [](const Request& req) {
      Response response;
      response.content_type = "application/octet-stream";
      response.stream_length = 10;
      size_t to_send = std::stoul(req.path_params.at(0));
      response.stream = [to_send](StreamSink& sink) {
        const std::string content = "0123456789";
        for (size_t at = 0; at < to_send; at += 3) {
          if (!sink.write(std::string_view(content).substr(at, std::min<size_t>(3, to_send - at))))
            return;
        }
        // Past the length: refused, so the next response on the connection stays intact.
        if (to_send == content.size()) {
          EXPECT_FALSE(sink.write("x"));
        }
      };
      return response;
    });
    server_.route("GET", "/endless", Access::kPublic, [this](const Request&) {
      Response response;
      response.content_type = "text/event-stream";
      response.stream = [this](StreamSink& sink) {
        endless_started_ = true;
        while (sink.write(kSseKeepAlive)) std::this_thread::sleep_for(std::chrono::milliseconds(5));
        endless_finished_ = true;
      };
      return response;
    });
  }

  Server server_;
  std::atomic<int> internal_calls_{0};
  std::atomic<bool> endless_started_{false};
  std::atomic<bool> endless_finished_{false};
};

TEST_F(ServerClientTest, RoutesWithCaptures) {
  testing::RunningServer running(server_);
  Client client({running.url()});
  auto body = client.get_json("/hello/bee");
  ASSERT_TRUE(body) << body.error().message;
  EXPECT_EQ((*body)["name"], "bee");
}

TEST_F(ServerClientTest, UnknownPathGetsJsonError) {
  testing::RunningServer running(server_);
  auto response = Client({running.url()}).get("/nope");
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 404);
  auto error = error_from_response(*response);
  EXPECT_EQ(error.code, ErrorCode::kNotFound);
}

TEST_F(ServerClientTest, ErrorsCarryCodeAndMessage) {
  testing::RunningServer running(server_);
  auto body = Client({running.url()}).get_json("/fail");
  ASSERT_FALSE(body);
  EXPECT_EQ(body.error().code, ErrorCode::kNotFound);
  EXPECT_EQ(body.error().message, "no such thing");
}

TEST_F(ServerClientTest, ThrowingHandlerIs500) {
  testing::RunningServer running(server_);
  auto response = Client({running.url()}).get("/throws");
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 500);
}

TEST_F(ServerClientTest, OversizedBodyIs413) {
  testing::RunningServer running(server_);
  auto response = Client({running.url()}).post("/echo", std::string(4096, 'x'));
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 413);
  EXPECT_EQ(error_from_response(*response).code, ErrorCode::kResourceExhausted);
}

TEST_F(ServerClientTest, ClusterTokenIsRequired) {
  testing::RunningServer running(server_);
  auto none = Client({running.url()}).post("/internal", "{}");
  ASSERT_TRUE(none);
  EXPECT_EQ(none->status, 401);
  auto wrong = Client({running.url(), "s3creT"}).post("/internal", "{}");
  ASSERT_TRUE(wrong);
  EXPECT_EQ(wrong->status, 401);
  EXPECT_EQ(internal_calls_.load(), 0);
  auto right = Client({running.url(), "s3cret"}).post("/internal", "{}");
  ASSERT_TRUE(right);
  EXPECT_EQ(right->status, 200);
  EXPECT_EQ(internal_calls_.load(), 1);
}

TEST_F(ServerClientTest, StreamsEvents) {
  testing::RunningServer running(server_);
  std::vector<std::string> ids;
  auto status =
      Client({running.url()}).stream_events("/stream", std::nullopt, [&](SseEvent&& event) {
        ids.push_back(event.id);
        return true;
      });
  ASSERT_TRUE(status) << status.error().message;
  EXPECT_EQ(ids, (std::vector<std::string>{"1", "2", "3"}));
}

TEST_F(ServerClientTest, StopEndsOpenStreams) {
  auto running = std::make_unique<testing::RunningServer>(server_);
  std::thread reader([url = running->url()] {
    (void)Client({url}).stream_events("/endless", std::nullopt, [](SseEvent&&) { return true; });
  });
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!endless_started_ && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  EXPECT_TRUE(endless_started_.load());
  running.reset();  // stop() + join(): would hang if the stream ignored the stop
  reader.join();
  EXPECT_TRUE(endless_finished_.load());
}

TEST_F(ServerClientTest, QueryParametersAreDecoded) {
  testing::RunningServer running(server_);
  auto body = Client({running.url()}).get_json("/query?a=1&b=x%20y");
  ASSERT_TRUE(body) << body.error().message;
  EXPECT_EQ((*body)["a"], "1");
  EXPECT_EQ((*body)["b"], "x y");
}

TEST_F(ServerClientTest, FixedLengthStreamIsSentWhole) {
  testing::RunningServer running(server_);
  auto response = Client({running.url()}).get("/fixed/10");
  ASSERT_TRUE(response) << response.error().message;
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->body, "0123456789");
}

TEST_F(ServerClientTest, ShortFixedLengthStreamDropsTheConnection) {
  testing::RunningServer running(server_);
  // The headers promised 10 bytes; after 4 the server closes, and the client must notice.
  auto response = Client({running.url()}).get("/fixed/4");
  ASSERT_FALSE(response);
  EXPECT_EQ(response.error().code, ErrorCode::kUnavailable);
  // The server is still healthy afterwards.
  auto again = Client({running.url()}).get("/fixed/10");
  ASSERT_TRUE(again) << again.error().message;
  EXPECT_EQ(again->body, "0123456789");
}

TEST_F(ServerClientTest, PostStreamRelaysEveryByte) {
  testing::RunningServer running(server_);
  int status = 0;
  std::string content_type;
  std::string relayed;
  auto result = Client({running.url()})
                    .post_stream(
                        "/stream-echo", "abc",
                        [&](int s, const std::string& type) {
                          status = s;
                          content_type = type;
                          return true;
                        },
                        [&](std::string_view chunk) {
                          relayed.append(chunk);
                          return true;
                        });
  ASSERT_TRUE(result) << result.error().message;
  EXPECT_EQ(status, 200);
  EXPECT_EQ(content_type, "text/event-stream");
  EXPECT_EQ(relayed, "data: a\n\ndata: b\n\ndata: c\n\n");
}

TEST_F(ServerClientTest, PostStreamStopsWhenTheCallerSaysSo) {
  testing::RunningServer running(server_);
  int chunks = 0;
  auto result =
      Client({running.url()})
          .post_stream(
              "/stream-echo", std::string(1000, 'x'), [](int, const std::string&) { return true; },
              [&](std::string_view) { return ++chunks < 2; });
  ASSERT_TRUE(result) << result.error().message;
  EXPECT_EQ(chunks, 2);
}

TEST_F(ServerClientTest, PostStreamReportsADroppedConnection) {
  testing::RunningServer running(server_);
  int64_t received = -1;
  auto result = Client({running.url()})
                    .post_stream(
                        "/short", "", [](int, const std::string&) { return true; },
                        [](std::string_view) { return true; }, &received);
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code, ErrorCode::kUnavailable);
  EXPECT_EQ(received, 4);
}

TEST(ServerLifecycleTest, StopRightAfterStartDoesNotHang) {
  // stop() may come before the serving thread reached its accept loop.
  for (int i = 0; i < 50; ++i) {
    Server server(ServerOptions{});
    testing::RunningServer running(server);
  }
}

TEST_F(ServerClientTest, RefusedConnectionIsUnavailable) {
  auto response = Client({"http://127.0.0.1:1", "", 1, 1}).get("/health");
  ASSERT_FALSE(response);
  EXPECT_EQ(response.error().code, ErrorCode::kUnavailable);
  EXPECT_NE(response.error().message.find("127.0.0.1:1"), std::string::npos);
}

TEST(BearerTest, MatchesOnlyTheExactToken) {
  EXPECT_TRUE(bearer_matches("Bearer abc", "abc"));
  EXPECT_TRUE(bearer_matches("bearer abc", "abc"));
  EXPECT_FALSE(bearer_matches("Bearer abcd", "abc"));
  EXPECT_FALSE(bearer_matches("abc", "abc"));
  EXPECT_FALSE(bearer_matches("Bearer ", ""));
  EXPECT_FALSE(bearer_matches("", "abc"));
}

}  // namespace
}  // namespace rbee::http
