#include "http/client.hpp"

#include <httplib.h>

#include <cmath>

#include "contracts/job_events.hpp"
#include "http/error_mapping.hpp"
#include "http/headers.hpp"

namespace rbee::http {
namespace {

std::chrono::microseconds to_duration(double seconds) {
  return std::chrono::microseconds(static_cast<int64_t>(std::llround(seconds * 1e6)));
}

}  // namespace

Client::Client(ClientOptions options) : options_(std::move(options)) {
  while (!options_.base_url.empty() && options_.base_url.back() == '/')
    options_.base_url.pop_back();
}

namespace {

struct Connection {
  httplib::Client client;
  httplib::Headers headers;

  explicit Connection(const ClientOptions& options) : client(options.base_url) {
    client.set_connection_timeout(to_duration(options.connect_timeout_s));
    client.set_read_timeout(to_duration(options.read_timeout_s));
    client.set_write_timeout(to_duration(options.read_timeout_s));
    client.set_keep_alive(false);
    // Streams are many small writes; Nagle's algorithm would hold each one back.
    client.set_tcp_nodelay(true);
    if (!options.bearer_token.empty()) {
      headers.emplace("Authorization", "Bearer " + options.bearer_token);
    }
  }
};

Result<ClientResponse> finish(const ClientOptions& options, const std::string& method,
                              const std::string& path, const httplib::Result& result) {
  if (!result) {
    return make_error(ErrorCode::kUnavailable, "cannot reach " + options.base_url + " (" + method +
                                                   " " + path +
                                                   "): " + httplib::to_string(result.error()));
  }
  ClientResponse response{result->status, result->body, {}};
  for (const auto& [name, value] : result->headers) response.headers.emplace_back(name, value);
  return response;
}

Result<contracts::Json> json_or_error(Result<ClientResponse> response) {
  if (!response) return std::move(response).error();
  if (response->status < 200 || response->status >= 300) return error_from_response(*response);
  if (response->body.empty()) return contracts::Json::object();
  return contracts::parse_json_text(response->body);
}

}  // namespace

std::string ClientResponse::header(std::string_view name) const {
  return find_header(headers, name);
}

Error error_from_response(const ClientResponse& response) {
  auto body = contracts::Json::parse(response.body, nullptr, false);
  if (!body.is_discarded() && body.is_object() && body.contains("error")) {
    return contracts::parse_error_object(body["error"]);
  }
  return Error{error_code_for_status(response.status),
               "HTTP " + std::to_string(response.status) +
                   (response.body.empty() ? std::string() : ": " + response.body.substr(0, 200))};
}

Result<ClientResponse> Client::get(const std::string& path) const {
  Connection connection(options_);
  return finish(options_, "GET", path, connection.client.Get(path, connection.headers));
}

Result<ClientResponse> Client::post(const std::string& path, const std::string& json_body) const {
  Connection connection(options_);
  return finish(options_, "POST", path,
                connection.client.Post(path, connection.headers, json_body, "application/json"));
}

Result<ClientResponse> Client::del(const std::string& path) const {
  Connection connection(options_);
  return finish(options_, "DELETE", path, connection.client.Delete(path, connection.headers));
}

Result<contracts::Json> Client::get_json(const std::string& path) const {
  return json_or_error(get(path));
}

Result<contracts::Json> Client::post_json(const std::string& path,
                                          const contracts::Json& body) const {
  return json_or_error(post(path, body.dump()));
}

Result<contracts::Json> Client::delete_json(const std::string& path) const {
  return json_or_error(del(path));
}

Status Client::stream_events(const std::string& path,
                             const std::optional<std::string>& last_event_id,
                             const std::function<bool(SseEvent&&)>& on_event) const {
  Connection connection(options_);
  connection.headers.emplace("Accept", "text/event-stream");
  if (last_event_id) connection.headers.emplace("Last-Event-ID", *last_event_id);
  int status = 0;
  std::string error_body;
  SseParser parser;
  bool stopped_by_caller = false;
  auto result = connection.client.Get(
      path, connection.headers,
      [&](const httplib::Response& response) {
        status = response.status;
        return true;
      },
      [&](const char* data, size_t size) {
        if (status != 200) {
          if (error_body.size() < 64 * 1024) error_body.append(data, size);
          return true;
        }
        if (!parser.feed(std::string_view(data, size), on_event)) {
          stopped_by_caller = true;
          return false;
        }
        return true;
      });
  if (stopped_by_caller) return ok_status();
  if (!result) {
    return make_error(ErrorCode::kUnavailable, "lost the event stream from " + options_.base_url +
                                                   path + ": " +
                                                   httplib::to_string(result.error()));
  }
  if (result->status != 200) return error_from_response(ClientResponse{result->status, error_body});
  return ok_status();
}

Status Client::post_stream(
    const std::string& path, const std::string& json_body,
    const std::function<bool(int status, const std::string& content_type)>& on_start,
    const std::function<bool(std::string_view chunk)>& on_chunk, int64_t* bytes_received) const {
  Connection connection(options_);
  httplib::Request request;
  request.method = "POST";
  request.path = path;
  request.headers = connection.headers;
  request.headers.emplace("Content-Type", "application/json");
  request.body = json_body;
  int64_t received = 0;
  bool stopped_by_caller = false;
  request.response_handler = [&](const httplib::Response& response) {
    if (on_start(response.status, response.get_header_value("Content-Type"))) return true;
    stopped_by_caller = true;
    return false;
  };
  request.content_receiver = [&](const char* data, size_t size, uint64_t, uint64_t) {
    received += static_cast<int64_t>(size);
    if (on_chunk(std::string_view(data, size))) return true;
    stopped_by_caller = true;
    return false;
  };
  auto result = connection.client.send(request);
  if (bytes_received) *bytes_received = received;
  if (stopped_by_caller || result) return ok_status();
  return make_error(ErrorCode::kUnavailable, "lost the connection to " + options_.base_url + path +
                                                 " after " + std::to_string(received) +
                                                 " bytes: " + httplib::to_string(result.error()));
}

}  // namespace rbee::http
