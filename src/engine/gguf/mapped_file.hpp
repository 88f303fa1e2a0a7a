#pragma once

// detail::MappedFile: a whole file mapped read-only (PROT_READ, MAP_PRIVATE) at a 2 MiB
// boundary with transparent huge pages asked for, unmapped when the object dies. Moving it keeps
// the mapping where it is, so pointers into bytes() stay valid for the life of whichever object
// holds it.

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <span>

#include "common/result.hpp"

namespace rbee::engine::detail {

class MappedFile {
 public:
  MappedFile() = default;
  ~MappedFile();
  MappedFile(MappedFile&& other) noexcept;
  MappedFile& operator=(MappedFile&& other) noexcept;
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  // Maps `path`. kNotFound when it does not exist, kInvalidArgument when it is not a regular
  // file, kInternal (with the path and errno text) when open/fstat/mmap fail. An empty file
  // maps to an empty span.
  static Result<MappedFile> open(const std::filesystem::path& path);

  std::span<const uint8_t> bytes() const { return {data_, size_bytes_}; }

 private:
  const uint8_t* data_ = nullptr;
  size_t size_bytes_ = 0;
  bool mapped_ = false;  // false for an empty file (nothing to unmap)
};

// Drops this process's mapping of the whole pages inside [data, data + bytes) of a file
// mapping: they stay in the page cache and come back on a later read, but stop counting in
// the process's resident memory (for weights that now live elsewhere: a repacked copy, a GPU).
void release_mapped_pages(const uint8_t* data, size_t bytes);

}  // namespace rbee::engine::detail
