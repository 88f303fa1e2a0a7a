#pragma once

// Incremental SHA-256 (OpenSSL) and whole-file hashing.

#include <cstddef>
#include <filesystem>
#include <stop_token>
#include <string>
#include <string_view>

#include "common/result.hpp"

struct evp_md_ctx_st;  // OpenSSL's EVP_MD_CTX, kept out of this header

namespace rbee::provision {

class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;

  void update(const void* data, size_t size);
  void update(std::string_view bytes) { update(bytes.data(), bytes.size()); }
  // The digest of everything given since construction or the last reset(), as 64 lowercase hex
  // characters. Resets the hasher.
  std::string hex_digest();
  void reset();

 private:
  evp_md_ctx_st* context_;
};

// The SHA-256 of a file's bytes. kNotFound / kInternal naming the path; kCancelled on stop.
Result<std::string> sha256_file(const std::filesystem::path& path, std::stop_token stop = {});

// Whether `text` is 64 hex digits (either case).
bool is_sha256_hex(std::string_view text);

}  // namespace rbee::provision
