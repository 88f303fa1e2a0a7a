#pragma once

// Artifact ids name catalog entries: "TheBloke/TinyLlama-1.1B-GGUF:Q4_K_M", "local:my-model",
// "cpu". They arrive from users over the wire, so they are validated before they come near
// the file system, and each maps to one directory name through a reversible escaping: no id
// can name a folder outside the catalog's root, and two ids never share a folder.
//
//   RBEE_RETURN_IF_ERROR(validate_artifact_id(id, "model"));
//   std::filesystem::path dir = root / directory_name_for_id(id);
//
// Pure functions; safe from any thread.

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "common/result.hpp"

namespace rbee::catalog {

// Longest id accepted, in bytes: no longer than the longest directory name, which holds it.
inline constexpr size_t kMaxArtifactIdBytes = 255;
// Longest directory name Linux file systems accept (NAME_MAX).
inline constexpr size_t kMaxDirectoryNameBytes = 255;

// OK when `id` can name a catalog entry: 1..255 bytes of valid UTF-8 with no control
// characters (NUL included) and no backslash, not an absolute path, no '/'-separated segment
// that is empty, "." or "..", and short enough that its directory name fits NAME_MAX.
// Otherwise kInvalidArgument naming `field` (the wire field, e.g. "model") and the reason.
Status validate_artifact_id(const std::string& id, const std::string& field);

// The directory name that stores `id`: every byte outside [A-Za-z0-9_.-] becomes "%XX"
// (uppercase hex), and so does a leading '.', so no name is hidden, "." or "..". Names that
// start with '.' are therefore free for the catalog's own temporary folders.
// "TheBloke/TinyLlama:Q4_K_M" → "TheBloke%2FTinyLlama%3AQ4_K_M"; "cpu" → "cpu".
std::string directory_name_for_id(const std::string& id);

// The inverse of directory_name_for_id(): the id stored in a folder called `name`, or nullopt
// when `name` is not exactly what directory_name_for_id() would produce for some non-empty id
// (an unneeded or lowercase escape, a bare byte that needs one, a leading '.').
std::optional<std::string> id_from_directory_name(std::string_view name);

}  // namespace rbee::catalog
