#pragma once

// Weight matrices copied once at load time into a layout the kernels read with less work
// (KernelTraits::repack_rows; on CPUs with AVX2, Q4_0 rows become Q4_0x8 and Q4_K matrices
// groups of eight interleaved rows, Q4_Kx8). Decoding Q4_0 spends as
// much on regrouping each row's blocks into registers as on the products; the copy does that
// regrouping once. Results do not change: the repacked kernels give the original type's bits.
//
// The copies live in one anonymous mapping (transparent huge pages where the kernel allows
// them), and the file's pages of a repacked tensor are dropped from this process (they stay
// in the page cache), so resident memory stays about the size of the weights.

#include <cstddef>
#include <cstdint>
#include <deque>
#include <span>

#include "common/huge_page_buffer.hpp"
#include "engine/gguf/gguf_reader.hpp"
#include "engine/model/thread_pool.hpp"

namespace rbee::engine {

class RepackedWeights {
 public:
  RepackedWeights() = default;
  RepackedWeights(const RepackedWeights&) = delete;
  RepackedWeights& operator=(const RepackedWeights&) = delete;

  // Repacks each matrix *slots[i] whose type has a repacked layout in the active kernel table
  // and whose rows fit it, and points *slots[i] at the copy (a slot may repeat a tensor: it is
  // repacked once). The others stay as they are, as do all of them when the memory for the
  // copies cannot be had (the file's layout computes the same results, only slower).
  void repack(std::span<const GgufTensor** const> slots, ThreadPool& pool);

  // Bytes of weights held in repacked form.
  size_t bytes() const { return used_; }

 private:
  HugePageBuffer copies_;
  size_t used_ = 0;
  std::deque<GgufTensor> tensors_;  // the copies (a deque keeps their addresses)
};

}  // namespace rbee::engine
