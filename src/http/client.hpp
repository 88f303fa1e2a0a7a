#pragma once

// rbee's HTTP client for calls between its programs (and from the CLI): JSON requests with
// the cluster token, and SSE streams read event by event. Each call opens its own connection,
// so one Client may be used from several threads.

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/result.hpp"
#include "contracts/json_reader.hpp"
#include "http/sse.hpp"

namespace rbee::http {

struct ClientOptions {
  std::string base_url;      // "http://127.0.0.1:7833"
  std::string bearer_token;  // sent as `Authorization: Bearer` when not empty
  double connect_timeout_s = 3;
  double read_timeout_s = 30;
};

struct ClientResponse {
  int status = 0;
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;

  // The first header with this name (case-insensitive), or empty.
  std::string header(std::string_view name) const;
};

class Client {
 public:
  explicit Client(ClientOptions options);

  // Transport failures (refused, timed out, dropped) are kUnavailable naming the URL; any
  // HTTP status is a successful Result.
  Result<ClientResponse> get(const std::string& path) const;
  Result<ClientResponse> post(const std::string& path, const std::string& json_body) const;
  Result<ClientResponse> del(const std::string& path) const;

  // Like the above, but a non-2xx status becomes an Error (from the peer's error body when it
  // has one) and the 2xx body is parsed as JSON.
  Result<contracts::Json> get_json(const std::string& path) const;
  Result<contracts::Json> post_json(const std::string& path, const contracts::Json& body) const;
  Result<contracts::Json> delete_json(const std::string& path) const;

  // Reads `text/event-stream` from `path`, calling on_event for each event until it returns
  // false or the server ends the stream. `last_event_id` is sent as `Last-Event-ID`.
  // kUnavailable when the connection fails or drops; a non-200 answer is an Error.
  Status stream_events(const std::string& path, const std::optional<std::string>& last_event_id,
                       const std::function<bool(SseEvent&&)>& on_event) const;

  // Sends a POST and hands the response body to `on_chunk` piece by piece as it arrives, so a
  // stream can be relayed byte for byte. `on_start` sees the status and content type before
  // the first piece. Either callback returning false closes the connection (the peer notices
  // the disconnect). OK when the body ended or a callback stopped it; kUnavailable when the
  // connection failed or dropped, with `*bytes_received` telling how far it got.
  Status post_stream(
      const std::string& path, const std::string& json_body,
      const std::function<bool(int status, const std::string& content_type)>& on_start,
      const std::function<bool(std::string_view chunk)>& on_chunk,
      int64_t* bytes_received = nullptr) const;

  const std::string& base_url() const { return options_.base_url; }

 private:
  ClientOptions options_;
};

// A non-2xx response as an Error: the peer's {"error":{...}} when present, else the status.
Error error_from_response(const ClientResponse& response);

}  // namespace rbee::http
