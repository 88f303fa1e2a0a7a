#pragma once

// detail::GgufCursor: bounds-checked little-endian reads over a GGUF file's bytes, and the
// walk over one metadata value (GGUF spec, "Metadata value types"). Every read either stays
// inside the bytes or returns kInvalidArgument saying what was being read, at which offset.

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <string_view>

#include "common/result.hpp"
#include "engine/gguf/gguf_value.hpp"

namespace rbee::engine::detail {

class GgufCursor {
 public:
  GgufCursor(std::span<const uint8_t> bytes, size_t pos) : bytes_(bytes), pos_(pos) {}

  size_t pos() const { return pos_; }
  size_t remaining() const { return bytes_.size() - pos_; }
  size_t file_size() const { return bytes_.size(); }

  // Reads a fixed-size little-endian value. `what` names it in the error.
  template <typename T>
  Result<T> read(std::string_view what) {
    if (remaining() < sizeof(T)) return truncated(what, sizeof(T));
    T value;
    std::memcpy(&value, bytes_.data() + pos_, sizeof(T));
    pos_ += sizeof(T);
    return value;
  }

  // Reads a gguf_string (u64 length, then that many bytes) as a view into the bytes.
  Result<std::string_view> read_string(std::string_view what);

  // Moves past n bytes. kInvalidArgument when fewer remain.
  Status skip(size_t n_bytes, std::string_view what);

  // "<what> at offset <pos>: <problem>" as kInvalidArgument, at the cursor or at `pos`.
  Error error_here(std::string_view what, const std::string& problem) const {
    return error_at(pos_, what, problem);
  }
  static Error error_at(size_t pos, std::string_view what, const std::string& problem);

 private:
  Error truncated(std::string_view what, uint64_t n_bytes) const;

  std::span<const uint8_t> bytes_;
  size_t pos_;
};

// Walks one value of `type` at the cursor: checks every length, count, element type, bool
// and nesting depth against the bytes, and moves past it. When `out` is not null the value is
// also decoded into it. `what` names the value in errors (e.g. "metadata 'general.name'").
Status walk_value(GgufCursor& cursor, GgufValueType type, int depth, std::string_view what,
                  GgufValue* out);

}  // namespace rbee::engine::detail
