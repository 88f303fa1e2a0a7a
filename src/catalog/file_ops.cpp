#include "catalog/file_ops.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "common/random.hpp"

namespace rbee::catalog::detail {
namespace {

// Closes a descriptor when it goes out of scope.
class FileDescriptor {
 public:
  explicit FileDescriptor(int fd) : fd_(fd) {}
  ~FileDescriptor() {
    if (fd_ >= 0) ::close(fd_);
  }
  FileDescriptor(const FileDescriptor&) = delete;
  FileDescriptor& operator=(const FileDescriptor&) = delete;
  int get() const { return fd_; }
  // Closes now and reports whether close() succeeded (it can report a failed write-back).
  bool close() {
    int fd = fd_;
    fd_ = -1;
    return ::close(fd) == 0;
  }

 private:
  int fd_;
};

Status write_all(int fd, const char* data, size_t n_bytes, const std::filesystem::path& path) {
  size_t written = 0;
  while (written < n_bytes) {
    ssize_t n = ::write(fd, data + written, n_bytes - written);
    if (n < 0) {
      if (errno == EINTR) continue;
      return system_error(ErrorCode::kInternal, "cannot write", path, errno);
    }
    written += static_cast<size_t>(n);
  }
  return ok_status();
}

}  // namespace

Error system_error(ErrorCode code, const std::string& what, const std::filesystem::path& path,
                   int err) {
  return make_error(code, what + " " + path.string() + ": " + std::strerror(err));
}

Status sync_directory(const std::filesystem::path& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return system_error(ErrorCode::kInternal, "cannot open folder", dir, errno);
  FileDescriptor guard(fd);
  if (::fsync(fd) != 0) return system_error(ErrorCode::kInternal, "cannot sync folder", dir, errno);
  return ok_status();
}

Result<std::string> copy_file_hashed(const std::filesystem::path& source,
                                     const std::filesystem::path& destination, mode_t mode,
                                     const ByteProgress& progress, std::stop_token stop) {
  int source_fd = ::open(source.c_str(), O_RDONLY | O_CLOEXEC);
  if (source_fd < 0) {
    return system_error(errno == ENOENT ? ErrorCode::kNotFound : ErrorCode::kInternal,
                        "cannot open", source, errno);
  }
  FileDescriptor source_guard(source_fd);
  struct stat source_info {};
  if (::fstat(source_fd, &source_info) != 0) {
    return system_error(ErrorCode::kInternal, "cannot stat", source, errno);
  }
  if (!S_ISREG(source_info.st_mode)) {
    return make_error(ErrorCode::kInvalidArgument, source.string() + " is not a regular file");
  }
  ::posix_fadvise(source_fd, 0, 0, POSIX_FADV_SEQUENTIAL);

  // The temporary name starts with '.', so nothing that lists the folder mistakes it for
  // the finished file.
  std::filesystem::path temporary =
      destination.parent_path() /
      ("." + destination.filename().string() + ".part-" + random_hex(6));
  int destination_fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  if (destination_fd < 0) {
    return system_error(ErrorCode::kInternal, "cannot create", temporary, errno);
  }
  FileDescriptor destination_guard(destination_fd);
  auto fail = [&](Error error) -> Result<std::string> {
    destination_guard.close();
    ::unlink(temporary.c_str());
    return error;
  };

  Sha256 hasher;
  std::vector<char> block(kFileBlockBytes);
  const auto total_bytes = static_cast<uint64_t>(source_info.st_size);
  uint64_t done_bytes = 0;
  while (true) {
    if (stop.stop_requested()) {
      return fail(
          make_error(ErrorCode::kCancelled, "copying " + source.string() + " was cancelled"));
    }
    ssize_t n = ::read(source_fd, block.data(), block.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return fail(system_error(ErrorCode::kInternal, "cannot read", source, errno));
    }
    if (n == 0) break;
    Status written = write_all(destination_fd, block.data(), static_cast<size_t>(n), temporary);
    if (!written) return fail(std::move(written).error());
    hasher.update(block.data(), static_cast<size_t>(n));
    done_bytes += static_cast<uint64_t>(n);
    if (progress) progress(done_bytes, total_bytes);
  }
  // open() applied the umask; executables must end up exactly 0755.
  if (::fchmod(destination_fd, mode) != 0) {
    return fail(system_error(ErrorCode::kInternal, "cannot chmod", temporary, errno));
  }
  if (::fsync(destination_fd) != 0) {
    return fail(system_error(ErrorCode::kInternal, "cannot sync", temporary, errno));
  }
  if (!destination_guard.close()) {
    int err = errno;
    ::unlink(temporary.c_str());
    return system_error(ErrorCode::kInternal, "cannot close", temporary, err);
  }
  if (::rename(temporary.c_str(), destination.c_str()) != 0) {
    int err = errno;
    ::unlink(temporary.c_str());
    return system_error(ErrorCode::kInternal, "cannot rename into", destination, err);
  }
  RBEE_RETURN_IF_ERROR(sync_directory(destination.parent_path()));
  return hasher.finish_hex();
}

bool same_file(const std::filesystem::path& a, const std::filesystem::path& b) {
  struct stat a_info {};
  struct stat b_info {};
  if (::stat(a.c_str(), &a_info) != 0 || ::stat(b.c_str(), &b_info) != 0) return false;
  return a_info.st_dev == b_info.st_dev && a_info.st_ino == b_info.st_ino;
}

void remove_all_quietly(const std::filesystem::path& path) {
  std::error_code ignored;
  std::filesystem::remove_all(path, ignored);
}

}  // namespace rbee::catalog::detail
