#include "http/advertised_address.hpp"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>

namespace rbee::http {
namespace {

struct HostPort {
  std::string host;
  std::string port;
};

// "scheme://host[:port][/...]" with host possibly "[v6]".
Result<HostPort> split_host_port(std::string_view url) {
  const size_t scheme_end = url.find("://");
  std::string_view rest = scheme_end == std::string_view::npos ? url : url.substr(scheme_end + 3);
  rest = rest.substr(0, rest.find('/'));
  HostPort out;
  out.port = url.starts_with("https://") ? "443" : "80";
  if (rest.starts_with('[')) {
    const size_t close = rest.find(']');
    if (close == std::string_view::npos) {
      return Error{ErrorCode::kInvalidArgument, "no closing ']' in " + std::string(url)};
    }
    out.host = std::string(rest.substr(1, close - 1));
    rest = rest.substr(close + 1);
    if (rest.starts_with(':')) out.port = std::string(rest.substr(1));
  } else {
    const size_t colon = rest.rfind(':');
    out.host = std::string(rest.substr(0, colon));
    if (colon != std::string_view::npos) out.port = std::string(rest.substr(colon + 1));
  }
  if (out.host.empty()) {
    return Error{ErrorCode::kInvalidArgument, "no host in '" + std::string(url) + "'"};
  }
  return out;
}

bool is_wildcard(const std::string& host) {
  return host == "0.0.0.0" || host == "::" || host == "[::]";
}

}  // namespace

Result<std::string> local_address_toward(std::string_view url) {
  RBEE_ASSIGN_OR_RETURN(HostPort target, split_host_port(url));
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_DGRAM;
  addrinfo* found = nullptr;
  if (int rc = getaddrinfo(target.host.c_str(), target.port.c_str(), &hints, &found); rc != 0) {
    return Error{ErrorCode::kUnavailable,
                 "cannot resolve '" + target.host + "': " + gai_strerror(rc)};
  }
  std::string reason = "no route";
  for (addrinfo* at = found; at != nullptr; at = at->ai_next) {
    const int fd = socket(at->ai_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) continue;
    sockaddr_storage local{};
    socklen_t length = sizeof(local);
    const bool routed = connect(fd, at->ai_addr, at->ai_addrlen) == 0 &&
                        getsockname(fd, reinterpret_cast<sockaddr*>(&local), &length) == 0;
    if (!routed) reason = std::strerror(errno);
    close(fd);
    if (!routed) continue;
    char text[INET6_ADDRSTRLEN] = {};
    const void* address =
        local.ss_family == AF_INET6
            ? static_cast<const void*>(&reinterpret_cast<sockaddr_in6*>(&local)->sin6_addr)
            : static_cast<const void*>(&reinterpret_cast<sockaddr_in*>(&local)->sin_addr);
    if (inet_ntop(local.ss_family, address, text, sizeof(text)) != nullptr) {
      freeaddrinfo(found);
      return std::string(text);
    }
  }
  freeaddrinfo(found);
  return Error{ErrorCode::kUnavailable, "no route to '" + target.host + "': " + reason};
}

std::string advertised_host(const std::string& bind_host, std::string_view peer_url) {
  if (!is_wildcard(bind_host)) {
    return bind_host.find(':') != std::string::npos && !bind_host.starts_with('[')
               ? "[" + bind_host + "]"
               : bind_host;
  }
  if (peer_url.empty()) return "127.0.0.1";
  auto facing = local_address_toward(peer_url);
  if (!facing) return "127.0.0.1";
  return facing->find(':') != std::string::npos ? "[" + *facing + "]" : *facing;
}

}  // namespace rbee::http
