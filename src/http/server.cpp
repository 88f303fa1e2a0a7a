#include "http/server.hpp"

#include <httplib.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>

#include <atomic>
#include <cstring>
#include <mutex>
#include <thread>

#include "common/logging.hpp"
#include "common/random.hpp"
#include "contracts/job_events.hpp"
#include "contracts/openai.hpp"
#include "http/error_mapping.hpp"
#include "http/headers.hpp"

namespace rbee::http {
namespace {

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

const char* reason_for(int status) {
  switch (status) {
    case 400:
      return "the request is malformed";
    case 404:
      return "no such endpoint";
    case 405:
      return "method not allowed";
    case 413:
      return "the request body is too large";
    case 414:
      return "the request URI is too long";
    default:
      return "request failed";
  }
}

Request to_request(const httplib::Request& req) {
  Request out;
  out.method = req.method;
  out.path = req.path;
  for (size_t i = 1; i < req.matches.size(); ++i) out.path_params.push_back(req.matches[i].str());
  for (const auto& [name, value] : req.headers) out.headers.emplace_back(name, value);
  for (const auto& [name, value] : req.params) out.query.emplace_back(name, value);
  out.body = req.body;
  out.remote_addr = req.remote_addr;
  return out;
}

class HttplibSink : public StreamSink {
 public:
  HttplibSink(httplib::DataSink& sink, const std::atomic<bool>& stopping)
      : sink_(sink), stopping_(stopping) {}
  bool write(std::string_view data) override {
    if (!is_open()) return false;
    return sink_.write(data.data(), data.size());
  }
  bool is_open() const override { return !stopping_.load() && sink_.is_writable(); }

 private:
  httplib::DataSink& sink_;
  const std::atomic<bool>& stopping_;
};

// A sink for fixed-length bodies: counts what was sent and refuses bytes past the length, so
// a producer cannot break the framing of the next response on a kept-alive connection.
class FixedLengthSink : public StreamSink {
 public:
  FixedLengthSink(httplib::DataSink& sink, const std::atomic<bool>& stopping, size_t length)
      : inner_(sink, stopping), remaining_(length) {}
  bool write(std::string_view data) override {
    if (data.size() > remaining_ || !inner_.write(data)) return false;
    remaining_ -= data.size();
    return true;
  }
  bool is_open() const override { return inner_.is_open(); }
  bool complete() const { return remaining_ == 0; }

 private:
  HttplibSink inner_;
  size_t remaining_;
};

}  // namespace

std::string Request::query_param(std::string_view name) const {
  for (const auto& [key, value] : query) {
    if (key == name) return value;
  }
  return "";
}

std::string find_header(const HeaderList& headers, std::string_view name) {
  for (const auto& [key, value] : headers) {
    if (iequals(key, name)) return value;
  }
  return "";
}

std::string Request::header(std::string_view name) const {
  return find_header(headers, name);
}

Response json_response(int status, const contracts::Json& body) {
  Response response;
  response.status = status;
  response.body = body.dump();
  return response;
}

Response openai_error_response(const Error& error, std::string_view param) {
  Response response =
      json_response(http_status_for(error.code), contracts::openai_error_body(error, param));
  if (error.code == ErrorCode::kResourceExhausted || error.code == ErrorCode::kUnavailable) {
    response.headers.emplace_back("Retry-After", "1");
  }
  return response;
}

Response error_response(const Error& error) {
  return json_response(http_status_for(error.code), contracts::error_body(error));
}

bool bearer_matches(std::string_view authorization, std::string_view token) {
  constexpr std::string_view kPrefix = "Bearer ";
  if (token.empty() || authorization.size() < kPrefix.size() ||
      !iequals(authorization.substr(0, kPrefix.size()), kPrefix)) {
    return false;
  }
  return constant_time_equals(authorization.substr(kPrefix.size()), token);
}

struct Server::Impl {
  ServerOptions options;
  httplib::Server server;
  std::atomic<bool> stopping{false};
  std::atomic<bool> in_run{false};  // run() was entered and has not returned
  int listen_fd = -1;               // the socket httplib binds (recorded by its options hook)
  mutable std::mutex token_mu;
  std::string cluster_token;  // guarded by token_mu

  std::atomic<bool> loopback_only{true};

  bool authorized(const httplib::Request& req) const {
    std::lock_guard lock(token_mu);
    return bearer_matches(req.get_header_value("Authorization"), cluster_token);
  }

  void write_response(const Response& response, httplib::Response& res) {
    res.status = response.status;
    for (const auto& [name, value] : response.headers) res.set_header(name, value);
    if (!response.stream) {
      res.set_content(response.body, response.content_type.c_str());
      return;
    }
    auto producer = response.stream;
    if (response.stream_length == 0) {
      res.set_content("", response.content_type.c_str());
      return;
    }
    if (response.stream_length > 0) {
      res.set_content_provider(
          static_cast<size_t>(response.stream_length), response.content_type,
          [this, producer](size_t offset, size_t length, httplib::DataSink& sink) {
            // httplib asks again while bytes are missing; the producer writes everything in
            // one call, so a short body means it gave up: returning false closes the
            // connection instead of waiting for bytes that will never come.
            if (offset != 0) return false;
            FixedLengthSink wrapped(sink, stopping, length);
            producer(wrapped);
            return wrapped.complete();
          });
      return;
    }
    res.set_header("Cache-Control", "no-cache");
    res.set_header("X-Accel-Buffering", "no");
    res.set_chunked_content_provider(response.content_type,
                                     [this, producer](size_t /*offset*/, httplib::DataSink& sink) {
                                       HttplibSink wrapped(sink, stopping);
                                       producer(wrapped);
                                       sink.done();
                                       return true;
                                     });
  }

  httplib::Server::Handler wrap(const std::string& method, Access access, Handler handler) {
    return [this, method, access, handler = std::move(handler)](const httplib::Request& req,
                                                                httplib::Response& res) {
      // httplib would cut every body to the requested Range (and answer 200 with it); ranges
      // are the handler's business here. The request object is httplib's own non-const local.
      const_cast<httplib::Request&>(req).ranges.clear();
      const bool needs_token =
          access == Access::kClusterToken ||
          (access == Access::kClusterTokenBeyondLoopback && !loopback_only.load());
      if (needs_token && !authorized(req)) {
        write_response(
            error_response(Error{ErrorCode::kUnauthenticated,
                                 "missing or wrong cluster token (Authorization: Bearer ...)"}),
            res);
        return;
      }
      try {
        write_response(handler(to_request(req)), res);
      } catch (const std::exception& e) {
        // Last-resort net: handlers return errors, they should never throw.
        logger("http")->error("{} {} {} threw: {}", options.name, method, req.path, e.what());
        write_response(error_response(Error{ErrorCode::kInternal, "internal error"}), res);
      }
    };
  }
};

Server::Server(ServerOptions options) : impl_(std::make_unique<Impl>()) {
  impl_->options = std::move(options);
  impl_->cluster_token = impl_->options.cluster_token;
  auto& server = impl_->server;
  int n_threads = impl_->options.n_threads;
  server.new_task_queue = [n_threads] {
    return new httplib::ThreadPool(static_cast<size_t>(n_threads));
  };
  server.set_payload_max_length(impl_->options.max_body_bytes);
  server.set_keep_alive_timeout(2);
  // Token streams are many small writes; Nagle's algorithm would delay each one.
  server.set_tcp_nodelay(true);
  server.set_read_timeout(10, 0);
  server.set_error_handler([](const httplib::Request&, httplib::Response& res) {
    if (!res.body.empty()) return;
    Error error{error_code_for_status(res.status), reason_for(res.status)};
    res.set_content(contracts::error_body(error).dump(), "application/json");
  });
  server.set_logger([this](const httplib::Request& req, const httplib::Response& res) {
    logger("http")->debug("{} {} {} -> {}", impl_->options.name, req.method, req.path, res.status);
  });
}

Server::~Server() {
  stop();
}

void Server::route(const std::string& method, const std::string& pattern, Access access,
                   Handler handler) {
  auto wrapped = impl_->wrap(method, access, std::move(handler));
  if (method == "GET") {
    impl_->server.Get(pattern, wrapped);
  } else if (method == "POST") {
    impl_->server.Post(pattern, wrapped);
  } else if (method == "DELETE") {
    impl_->server.Delete(pattern, wrapped);
  } else if (method == "PUT") {
    impl_->server.Put(pattern, wrapped);
  } else {
    std::abort();  // a route table typo is a programmer error
  }
}

bool is_loopback_host(const std::string& host) {
  return host == "localhost" || host == "::1" || host.rfind("127.", 0) == 0;
}

Result<int> Server::bind(const std::string& host, int port) {
  impl_->loopback_only = is_loopback_host(host);
  impl_->server.set_socket_options([this](int sock) {
    httplib::default_socket_options(sock);
    impl_->listen_fd = sock;
  });
  int bound = port;
  if (port == 0) {
    bound = impl_->server.bind_to_any_port(host);
    if (bound <= 0) {
      return make_error(ErrorCode::kUnavailable, "cannot bind " + host + " on any port");
    }
  } else if (!impl_->server.bind_to_port(host, port)) {
    return make_error(ErrorCode::kUnavailable, "cannot listen on " + host + ":" +
                                                   std::to_string(port) +
                                                   " (is another program using the port?)");
  }
  // Debian's compiled cpp-httplib listens with a backlog of 5: a burst of connections (many
  // clients at once, a queen relaying to a worker) overflows it, and the kernel drops SYNs
  // that clients retry only a second later. Listening again on the bound socket raises it.
  if (impl_->listen_fd >= 0) ::listen(impl_->listen_fd, SOMAXCONN);
  return bound;
}

void Server::run() {
  // httplib's stop() does nothing until the accept loop runs, so a stop() that comes between
  // bind() and here would be lost and run() would serve forever. Each side writes its flag,
  // then reads the other's: either run() sees the stop, or stop() sees run() and waits for
  // the loop.
  impl_->in_run = true;
  if (!impl_->stopping) impl_->server.listen_after_bind();
  impl_->in_run = false;
}

void Server::stop() {
  impl_->stopping = true;
  while (impl_->in_run && !impl_->server.is_running()) std::this_thread::yield();
  impl_->server.stop();
}

bool Server::is_stopping() const {
  return impl_->stopping.load();
}

void Server::set_cluster_token(std::string token) {
  std::lock_guard lock(impl_->token_mu);
  impl_->cluster_token = std::move(token);
}

}  // namespace rbee::http
