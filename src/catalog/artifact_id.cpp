#include "catalog/artifact_id.hpp"

#include <cstdint>

namespace rbee::catalog {
namespace {

constexpr char kHexDigits[] = "0123456789ABCDEF";

// Bytes that may appear as themselves in a directory name (the portable file name set).
bool is_plain_byte(unsigned char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '-' || c == '.';
}

bool needs_escape(unsigned char c, size_t position) {
  // A leading '.' is escaped too: names starting with '.' are reserved for temporary folders.
  return !is_plain_byte(c) || (position == 0 && c == '.');
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;  // lowercase is not canonical, so it is not accepted either
}

// The id as it can be quoted in an error message: control bytes shown as \xNN.
std::string printable(const std::string& id) {
  std::string out;
  for (unsigned char c : id) {
    if (c < 0x20 || c == 0x7f) {
      out += "\\x";
      out += kHexDigits[c >> 4];
      out += kHexDigits[c & 0xf];
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

// Whether `text` is well-formed UTF-8 (RFC 3629: no overlong forms, no surrogates, nothing
// above U+10FFFF). Entries are stored as JSON, which must be UTF-8.
bool is_valid_utf8(const std::string& text) {
  size_t i = 0;
  while (i < text.size()) {
    auto c = static_cast<unsigned char>(text[i]);
    size_t n_continuation = 0;
    uint32_t code_point = 0;
    if (c < 0x80) {
      ++i;
      continue;
    } else if ((c & 0xe0) == 0xc0) {
      n_continuation = 1;
      code_point = c & 0x1f;
    } else if ((c & 0xf0) == 0xe0) {
      n_continuation = 2;
      code_point = c & 0x0f;
    } else if ((c & 0xf8) == 0xf0) {
      n_continuation = 3;
      code_point = c & 0x07;
    } else {
      return false;
    }
    if (i + n_continuation >= text.size()) return false;  // truncated sequence
    for (size_t k = 1; k <= n_continuation; ++k) {
      auto next = static_cast<unsigned char>(text[i + k]);
      if ((next & 0xc0) != 0x80) return false;
      code_point = (code_point << 6) | (next & 0x3f);
    }
    static constexpr uint32_t kSmallestForLength[] = {0, 0x80, 0x800, 0x10000};
    if (code_point < kSmallestForLength[n_continuation]) return false;  // overlong
    if (code_point > 0x10ffff || (code_point >= 0xd800 && code_point <= 0xdfff)) return false;
    i += n_continuation + 1;
  }
  return true;
}

}  // namespace

Status validate_artifact_id(const std::string& id, const std::string& field) {
  auto invalid = [&](const std::string& reason) {
    return make_error(ErrorCode::kInvalidArgument,
                      "invalid " + field + " '" + printable(id) + "': " + reason);
  };
  if (id.empty()) return make_error(ErrorCode::kInvalidArgument, field + " must not be empty");
  if (id.size() > kMaxArtifactIdBytes) {
    return make_error(ErrorCode::kInvalidArgument,
                      field + " is too long (" + std::to_string(id.size()) + " bytes, at most " +
                          std::to_string(kMaxArtifactIdBytes) + ")");
  }
  for (size_t i = 0; i < id.size(); ++i) {
    auto c = static_cast<unsigned char>(id[i]);
    if (c < 0x20 || c == 0x7f) {
      return invalid("control character at byte " + std::to_string(i));
    }
    if (c == '\\') return invalid("backslashes are not allowed");
  }
  if (!is_valid_utf8(id)) return invalid("not valid UTF-8");
  if (id.front() == '/') return invalid("absolute paths are not allowed");
  size_t segment_start = 0;
  while (true) {
    size_t slash = id.find('/', segment_start);
    std::string_view segment(id.data() + segment_start,
                             (slash == std::string::npos ? id.size() : slash) - segment_start);
    if (segment.empty()) return invalid("empty path segment");
    if (segment == "." || segment == "..") {
      return invalid("path segment '" + std::string(segment) + "' is not allowed");
    }
    if (slash == std::string::npos) break;
    segment_start = slash + 1;
  }
  size_t directory_name_bytes = directory_name_for_id(id).size();
  if (directory_name_bytes > kMaxDirectoryNameBytes) {
    return invalid("too long once escaped as a directory name (" +
                   std::to_string(directory_name_bytes) + " bytes, at most " +
                   std::to_string(kMaxDirectoryNameBytes) + ")");
  }
  return ok_status();
}

std::string directory_name_for_id(const std::string& id) {
  std::string name;
  name.reserve(id.size());
  for (size_t i = 0; i < id.size(); ++i) {
    auto c = static_cast<unsigned char>(id[i]);
    if (needs_escape(c, i)) {
      name += '%';
      name += kHexDigits[c >> 4];
      name += kHexDigits[c & 0xf];
    } else {
      name += static_cast<char>(c);
    }
  }
  return name;
}

std::optional<std::string> id_from_directory_name(std::string_view name) {
  std::string id;
  size_t i = 0;
  while (i < name.size()) {
    auto c = static_cast<unsigned char>(name[i]);
    unsigned char decoded = c;
    if (c == '%') {
      if (i + 2 >= name.size()) return std::nullopt;
      int high = hex_value(name[i + 1]);
      int low = hex_value(name[i + 2]);
      if (high < 0 || low < 0) return std::nullopt;
      decoded = static_cast<unsigned char>(high * 16 + low);
      // Only bytes that must be escaped may be: keeps the mapping one-to-one.
      if (!needs_escape(decoded, id.size())) return std::nullopt;
      i += 3;
    } else {
      if (needs_escape(c, id.size())) return std::nullopt;
      ++i;
    }
    id += static_cast<char>(decoded);
  }
  if (id.empty()) return std::nullopt;
  return id;
}

}  // namespace rbee::catalog
