#pragma once

// rbee's HTTP server: a flat route table over cpp-httplib (the only place that includes it),
// JSON error bodies for every failure, a body-size limit, cluster-token authentication per
// route, and streaming responses that end when the server stops.
//
// GET routes also answer HEAD (the body is left out; Request::method says "HEAD"). The server
// never applies a `Range` header itself: a handler that supports ranges reads the header and
// answers 206 with Content-Range on its own.

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/result.hpp"
#include "contracts/json_reader.hpp"

namespace rbee::http {

struct Request {
  std::string method;
  std::string path;
  std::vector<std::string> path_params;  // the route pattern's capture groups, in order
  std::vector<std::pair<std::string, std::string>> headers;
  std::vector<std::pair<std::string, std::string>> query;  // decoded `?name=value` pairs
  std::string body;
  std::string remote_addr;

  // The first header with this name (case-insensitive), or empty.
  std::string header(std::string_view name) const;
  // The first query parameter with this name (case-sensitive), or empty.
  std::string query_param(std::string_view name) const;
};

// Where a streaming response writes. write() returns false once the client is gone or the
// server is stopping; the producer must then return promptly.
class StreamSink {
 public:
  virtual ~StreamSink() = default;
  virtual bool write(std::string_view data) = 0;
  virtual bool is_open() const = 0;
};

struct Response {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
  // When set, the body is produced by this function (chunked) instead of `body`.
  std::function<void(StreamSink&)> stream;
  // When >= 0 (with `stream`): the body is exactly this many bytes, sent with Content-Length
  // instead of chunked (downloads need a real length for progress and ranges). Writes past the
  // length are refused. A producer that returns having written fewer bytes makes the server
  // close the connection mid-body, which the client sees as a truncated transfer.
  int64_t stream_length = -1;
};

// JSON responses in the one shape rbee uses.
Response json_response(int status, const contracts::Json& body);
// The error body with the status error_mapping gives the code.
Response error_response(const Error& error);
// The same error in OpenAI's shape ({"error":{"message","type","param","code"}}), for the
// OpenAI-compatible endpoints; 429 and 503 carry Retry-After.
Response openai_error_response(const Error& error, std::string_view param = {});

enum class Access {
  kPublic,        // anyone who can connect
  kClusterToken,  // `Authorization: Bearer <cluster token>`, else 401
  // The cluster token when the server listens beyond loopback (others on the network can
  // connect); anyone when only this machine can.
  kClusterTokenBeyondLoopback,
};

// Whether `host` (a bind address or name) is reachable from this machine only.
bool is_loopback_host(const std::string& host);

using Handler = std::function<Response(const Request&)>;

struct ServerOptions {
  std::string name = "rbee";            // for logs
  size_t max_body_bytes = 1024 * 1024;  // larger bodies get 413
  int n_threads = 64;                   // streams hold a thread each
  std::string cluster_token;            // required by kClusterToken routes
};

class Server {
 public:
  explicit Server(ServerOptions options);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Registers a route; `pattern` is a regular expression over the path. Not after run().
  void route(const std::string& method, const std::string& pattern, Access access, Handler handler);

  // Binds host:port (port 0 = any free port) and returns the bound port. kUnavailable when the
  // address is taken or cannot be bound.
  Result<int> bind(const std::string& host, int port);
  // Serves until stop(). Call after bind().
  void run();
  // Stops serving: open streams see is_open() == false. Thread-safe, idempotent.
  void stop();
  bool is_stopping() const;
  // Replaces the token kClusterToken routes accept (a hive learns it after it starts).
  void set_cluster_token(std::string token);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Whether `authorization` is "Bearer <token>" with exactly this token (constant time).
bool bearer_matches(std::string_view authorization, std::string_view token);

}  // namespace rbee::http
