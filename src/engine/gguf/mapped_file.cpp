#include "engine/gguf/mapped_file.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <utility>

namespace rbee::engine::detail {
namespace {

Error os_error(const std::string& what, const std::filesystem::path& path) {
  return make_error(ErrorCode::kInternal, what + " " + path.string() + ": " + std::strerror(errno));
}

}  // namespace

MappedFile::~MappedFile() {
  if (mapped_) ::munmap(const_cast<uint8_t*>(data_), size_bytes_);
}

MappedFile::MappedFile(MappedFile&& other) noexcept
    : data_(std::exchange(other.data_, nullptr)),
      size_bytes_(std::exchange(other.size_bytes_, 0)),
      mapped_(std::exchange(other.mapped_, false)) {}

MappedFile& MappedFile::operator=(MappedFile&& other) noexcept {
  if (this != &other) {
    if (mapped_) ::munmap(const_cast<uint8_t*>(data_), size_bytes_);
    data_ = std::exchange(other.data_, nullptr);
    size_bytes_ = std::exchange(other.size_bytes_, 0);
    mapped_ = std::exchange(other.mapped_, false);
  }
  return *this;
}

namespace {

constexpr size_t kHugePage = size_t{2} << 20;

// Maps `bytes` of fd read-only at an address aligned to 2 MiB, and asks for transparent huge
// pages there. Where the file system keeps large folios (ext4, xfs on recent kernels), pages
// read in through this mapping come in 2 MiB folios that are mapped whole: a decode streams
// every weight once a token, and fewer TLB misses measured ~2.5 % faster F16 and Q4_0 decode
// on Zen 4 (median of 8 alternating runs). File offset 0 sits on the aligned address, as PMD
// mappings need.
void* map_aligned(int fd, size_t bytes) {
  void* reserved = ::mmap(nullptr, bytes + kHugePage, PROT_NONE,
                          MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (reserved == MAP_FAILED) return ::mmap(nullptr, bytes, PROT_READ, MAP_PRIVATE, fd, 0);
  const auto start = reinterpret_cast<uintptr_t>(reserved);
  const uintptr_t aligned = (start + kHugePage - 1) & ~(kHugePage - 1);
  void* data =
      ::mmap(reinterpret_cast<void*>(aligned), bytes, PROT_READ, MAP_PRIVATE | MAP_FIXED, fd, 0);
  if (data == MAP_FAILED) {
    ::munmap(reserved, bytes + kHugePage);
    return MAP_FAILED;
  }
  // Give back the reservation around the file's mapping.
  if (aligned > start) ::munmap(reserved, aligned - start);
  const auto page = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
  const uintptr_t end = aligned + (bytes + page - 1) / page * page;
  const uintptr_t reserved_end = start + bytes + kHugePage;
  if (reserved_end > end) ::munmap(reinterpret_cast<void*>(end), reserved_end - end);
  ::madvise(data, bytes, MADV_HUGEPAGE);
  return data;
}

}  // namespace

Result<MappedFile> MappedFile::open(const std::filesystem::path& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return make_error(ErrorCode::kNotFound, "no such file: " + path.string());
    return os_error("cannot open", path);
  }
  struct stat info {};
  if (::fstat(fd, &info) != 0) {
    Error error = os_error("cannot stat", path);
    ::close(fd);
    return error;
  }
  if (!S_ISREG(info.st_mode)) {
    ::close(fd);
    return make_error(ErrorCode::kInvalidArgument, "not a regular file: " + path.string());
  }
  MappedFile file;
  file.size_bytes_ = static_cast<size_t>(info.st_size);
  if (file.size_bytes_ > 0) {
    void* data = map_aligned(fd, file.size_bytes_);
    if (data == MAP_FAILED) {
      Error error = os_error("cannot map", path);
      ::close(fd);
      return error;
    }
    file.data_ = static_cast<const uint8_t*>(data);
    file.mapped_ = true;
  }
  // The mapping keeps the file's pages reachable; the descriptor is no longer needed.
  ::close(fd);
  return file;
}

void release_mapped_pages(const uint8_t* data, size_t bytes) {
  const auto page = static_cast<uintptr_t>(sysconf(_SC_PAGESIZE));
  const uintptr_t begin = (reinterpret_cast<uintptr_t>(data) + page - 1) & ~(page - 1);
  const uintptr_t end = (reinterpret_cast<uintptr_t>(data) + bytes) & ~(page - 1);
  if (end > begin) ::madvise(reinterpret_cast<void*>(begin), end - begin, MADV_DONTNEED);
}

}  // namespace rbee::engine::detail
