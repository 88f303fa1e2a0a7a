#pragma once

// Which address to tell others to dial. A server bound to a wildcard address (0.0.0.0, ::)
// listens everywhere, but "0.0.0.0" is not an address anyone can connect to, and 127.0.0.1
// only works on the same machine: a hive on another host must advertise the address of its
// interface that faces the queen.

#include <string>
#include <string_view>

#include "common/result.hpp"

namespace rbee::http {

// The local source address the kernel's routing picks for packets to `url`'s host
// ("http://host:port/..."), as text (IPv6 without brackets). Nothing is sent: it connects a
// UDP socket and reads its name. kInvalidArgument for a URL without a host, kUnavailable when
// the host does not resolve or has no route.
Result<std::string> local_address_toward(std::string_view url);

// The host part of the URL others should use for a server bound to `bind_host`: the bind
// address itself unless it is a wildcard; for a wildcard, the address facing `peer_url` (the
// queen), or 127.0.0.1 when there is no peer or no route to it. IPv6 comes in brackets.
std::string advertised_host(const std::string& bind_host, std::string_view peer_url);

}  // namespace rbee::http
