#pragma once

// SHA-256 of files and bytes (OpenSSL's EVP), as lowercase hex: the form HuggingFace's LFS
// metadata and `sha256sum` use, so hashes compare as strings.
//
//   RBEE_ASSIGN_OR_RETURN(std::string hash, sha256_file(path, on_progress, stop));

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <stop_token>
#include <string>
#include <string_view>

#include "common/result.hpp"

struct evp_md_ctx_st;  // OpenSSL's EVP_MD_CTX, kept out of this header

namespace rbee {

// Called after each block with the bytes done so far and the total (the file's size when
// hashing started). Runs on the hashing thread; it should be quick (throttle in the callee).
using ByteProgress = std::function<void(uint64_t bytes_done, uint64_t bytes_total)>;

// Bytes read per step when hashing or copying files.
inline constexpr size_t kFileBlockBytes = size_t{1} << 20;

// An incremental SHA-256. Not thread-safe; one owner feeds it.
class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(Sha256&&) noexcept;
  Sha256& operator=(Sha256&&) noexcept;
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;

  void update(const void* data, size_t n_bytes);
  void update(std::string_view bytes) { update(bytes.data(), bytes.size()); }
  // The digest as 64 lowercase hex digits. The hasher starts over afterwards.
  std::string finish_hex();

 private:
  struct ContextDeleter {
    void operator()(evp_md_ctx_st* context) const;
  };
  std::unique_ptr<evp_md_ctx_st, ContextDeleter> context_;
};

// The SHA-256 of `bytes` as lowercase hex.
std::string sha256_hex(std::string_view bytes);

// The SHA-256 of the file at `path`, read in 1 MiB blocks. `progress` (optional) is called
// after each block. kNotFound when the file does not exist; kCancelled when `stop` is
// requested (checked between blocks); kInternal naming the path on read errors.
Result<std::string> sha256_file(const std::filesystem::path& path,
                                const ByteProgress& progress = {}, std::stop_token stop = {});

// Whether `text` is 64 hex digits (either case).
bool is_sha256_hex(std::string_view text);

// `text` in lowercase (for comparing user-given hashes with ours).
std::string to_lower_ascii(std::string_view text);

}  // namespace rbee
