#include "common/random.hpp"

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include <vector>

#include "common/check.hpp"

namespace rbee {
namespace {

std::vector<unsigned char> random_bytes(size_t n_bytes) {
  std::vector<unsigned char> bytes(n_bytes);
  RBEE_CHECK(RAND_bytes(bytes.data(), static_cast<int>(bytes.size())) == 1,
             "the system random source failed");
  return bytes;
}

std::string to_hex(const unsigned char* data, size_t size) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(size * 2);
  for (size_t i = 0; i < size; ++i) {
    out.push_back(kDigits[data[i] >> 4]);
    out.push_back(kDigits[data[i] & 0xf]);
  }
  return out;
}

}  // namespace

std::string random_hex(size_t n_bytes) {
  auto bytes = random_bytes(n_bytes);
  return to_hex(bytes.data(), bytes.size());
}

std::string random_uuid() {
  auto bytes = random_bytes(16);
  bytes[6] = static_cast<unsigned char>((bytes[6] & 0x0f) | 0x40);  // version 4
  bytes[8] = static_cast<unsigned char>((bytes[8] & 0x3f) | 0x80);  // RFC 4122 variant
  std::string hex = to_hex(bytes.data(), bytes.size());
  return hex.substr(0, 8) + "-" + hex.substr(8, 4) + "-" + hex.substr(12, 4) + "-" +
         hex.substr(16, 4) + "-" + hex.substr(20);
}

bool constant_time_equals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  if (a.empty()) return true;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace rbee
