#pragma once

// What a user types to name a model: a HuggingFace reference (`org/repo`, `org/repo:Q8_0`,
// `org/repo:dir/file.gguf`, plus a revision) or a local GGUF file the hive imports.

#include <filesystem>
#include <string>
#include <string_view>

#include "common/result.hpp"

namespace rbee::provision {

struct ModelReference {
  std::string repo;   // "org/name"; empty for a local reference
  std::string quant;  // upper-case quant tag from `org/repo:q8_0`, else empty
  std::string file;   // exact path inside the repo from `org/repo:dir/x.gguf`, else empty
  std::string revision = "main";
  std::filesystem::path local_path;  // absolute, for a local reference

  bool is_local() const { return !local_path.empty(); }
  // The reference in one normal spelling, for identity and display: the absolute local path,
  // or `org/repo`, `org/repo:Q8_0`, `org/repo:dir/x.gguf`, each followed by `@revision` when
  // the revision is not "main".
  std::string canonical() const;
};

// Parses a reference. Local when the text starts with '/', './', '../' or '~/' (expanded with
// $HOME), or ends with ".gguf" and names an existing file; existence is not checked otherwise
// (the hive does). After ':' a value ending in ".gguf" or containing '/' is a file, anything
// else a quant tag. A trailing `@rev` names the revision (so a file name with '@' in it cannot
// be named); otherwise `revision` applies (empty means "main"); both given and different is an
// error.
// kInvalidArgument explaining the accepted forms.
Result<ModelReference> parse_model_reference(std::string_view text,
                                             std::string_view revision = "main");

// `org/name`: two non-empty parts of [A-Za-z0-9._-], neither starting with '.' or '-', no "..",
// at most 96 characters each (HuggingFace's limit). kInvalidArgument.
Status validate_repo_name(std::string_view repo);
// A branch, tag or commit: [A-Za-z0-9._/-], no "..", no leading '/', at most 200 characters.
Status validate_revision(std::string_view revision);
// A file path inside a repo that is safe to join onto a local folder: relative, '/'-separated
// non-empty parts, no "." or ".." part, no backslash or control character. kInvalidArgument.
Status validate_repo_file_path(std::string_view path);

}  // namespace rbee::provision
