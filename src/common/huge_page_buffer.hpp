#pragma once

// Anonymous memory in transparent huge pages where the kernel gives them (2 MiB boundary,
// MADV_HUGEPAGE), for buffers read end to end faster than the TLB can follow in 4 KiB pages:
// repacked weights, and the bandwidth benchmark that sets their ceiling.

#include <cstddef>

namespace rbee {

class HugePageBuffer {
 public:
  HugePageBuffer() = default;
  // `bytes` of zeroed memory; empty (data() == nullptr) when the OS refuses them.
  explicit HugePageBuffer(size_t bytes);
  ~HugePageBuffer();
  HugePageBuffer(HugePageBuffer&& other) noexcept;
  HugePageBuffer& operator=(HugePageBuffer&& other) noexcept;
  HugePageBuffer(const HugePageBuffer&) = delete;
  HugePageBuffer& operator=(const HugePageBuffer&) = delete;

  std::byte* data() const { return data_; }
  size_t size() const { return size_; }

 private:
  void release();

  void* mapping_ = nullptr;
  size_t mapping_bytes_ = 0;
  std::byte* data_ = nullptr;
  size_t size_ = 0;
};

}  // namespace rbee
