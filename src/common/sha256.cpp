#include "common/sha256.hpp"

#include <fcntl.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "common/check.hpp"

namespace rbee {
namespace {

std::string to_hex(const unsigned char* bytes, size_t n_bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string hex;
  hex.reserve(n_bytes * 2);
  for (size_t i = 0; i < n_bytes; ++i) {
    hex += kDigits[bytes[i] >> 4];
    hex += kDigits[bytes[i] & 0xf];
  }
  return hex;
}

void start_digest(EVP_MD_CTX* context) {
  RBEE_CHECK(EVP_DigestInit_ex(context, EVP_sha256(), nullptr) == 1, "SHA-256 is always available");
}

}  // namespace

void Sha256::ContextDeleter::operator()(evp_md_ctx_st* context) const {
  EVP_MD_CTX_free(context);
}

Sha256::Sha256() : context_(EVP_MD_CTX_new()) {
  RBEE_CHECK(context_ != nullptr, "out of memory for a digest context");
  start_digest(context_.get());
}

Sha256::~Sha256() = default;
Sha256::Sha256(Sha256&&) noexcept = default;
Sha256& Sha256::operator=(Sha256&&) noexcept = default;

void Sha256::update(const void* data, size_t n_bytes) {
  RBEE_CHECK(EVP_DigestUpdate(context_.get(), data, n_bytes) == 1, "digest update cannot fail");
}

std::string Sha256::finish_hex() {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int n_digest_bytes = 0;
  RBEE_CHECK(EVP_DigestFinal_ex(context_.get(), digest, &n_digest_bytes) == 1,
             "digest final cannot fail");
  start_digest(context_.get());
  return to_hex(digest, n_digest_bytes);
}

std::string sha256_hex(std::string_view bytes) {
  Sha256 hasher;
  hasher.update(bytes);
  return hasher.finish_hex();
}

Result<std::string> sha256_file(const std::filesystem::path& path, const ByteProgress& progress,
                                std::stop_token stop) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    ErrorCode code = errno == ENOENT ? ErrorCode::kNotFound : ErrorCode::kInternal;
    return make_error(code, "cannot open " + path.string() + ": " + std::strerror(errno));
  }
  struct stat info {};
  uint64_t total_bytes = ::fstat(fd, &info) == 0 ? static_cast<uint64_t>(info.st_size) : 0;
  // One pass front to back: let the kernel read ahead.
  ::posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);

  Sha256 hasher;
  std::vector<char> block(kFileBlockBytes);
  uint64_t done_bytes = 0;
  while (true) {
    if (stop.stop_requested()) {
      ::close(fd);
      return make_error(ErrorCode::kCancelled, "hashing " + path.string() + " was cancelled");
    }
    ssize_t n = ::read(fd, block.data(), block.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      Error error = make_error(ErrorCode::kInternal,
                               "cannot read " + path.string() + ": " + std::strerror(errno));
      ::close(fd);
      return error;
    }
    if (n == 0) break;
    hasher.update(block.data(), static_cast<size_t>(n));
    done_bytes += static_cast<uint64_t>(n);
    if (progress) progress(done_bytes, total_bytes);
  }
  ::close(fd);
  return hasher.finish_hex();
}

bool is_sha256_hex(std::string_view text) {
  if (text.size() != 64) return false;
  for (char c : text) {
    bool hex = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
    if (!hex) return false;
  }
  return true;
}

std::string to_lower_ascii(std::string_view text) {
  std::string lower(text);
  for (char& c : lower) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return lower;
}

}  // namespace rbee
