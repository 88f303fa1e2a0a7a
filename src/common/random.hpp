#pragma once

// Cryptographically random identifiers and secrets (OpenSSL RAND_bytes).

#include <string>
#include <string_view>

namespace rbee {

// `n_bytes` random bytes as lowercase hex.
std::string random_hex(size_t n_bytes);
// A random (version 4) UUID, e.g. "3f2b...-...".
std::string random_uuid();
// Compares two secrets in time that depends only on their lengths.
bool constant_time_equals(std::string_view a, std::string_view b);

}  // namespace rbee
