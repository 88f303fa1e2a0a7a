#pragma once

// Choosing the GGUF file(s) of a model from a repository's file list: by exact path, by quant
// tag, or by the preference order; split GGUFs (`-00001-of-0000N.gguf`) are one model.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"
#include "provision/model_reference.hpp"

namespace rbee::provision {

struct RepoFile {
  std::string path;    // inside the repo, '/'-separated
  uint64_t size = 0;   // bytes
  std::string sha256;  // lowercase hex from the LFS pointer; empty when the file is not in LFS
};

struct ModelSelection {
  std::vector<RepoFile> files;  // one file, or every part of a split model in part order
  std::string quant;            // e.g. "Q4_K_M"; empty when the file name carries none
  uint64_t total_size() const;
};

// The automatic choice, best first; after these any other GGUF (first by path).
inline constexpr std::string_view kQuantPreference[] = {"Q4_K_M", "Q4_K_S", "Q5_K_M",
                                                        "Q8_0",   "Q4_0",   "F16"};

// Picks the model `reference` names from `files` (its repo, quant and file fields are used).
// kNotFound when nothing matches, listing what the repo has instead (its GGUFs, or all files
// when it has none); an incomplete split set names the missing parts.
Result<ModelSelection> select_gguf(const std::vector<RepoFile>& files,
                                   const ModelReference& reference);

// The quant tag in a GGUF file name, upper-case ("llama-7b.Q4_K_M.gguf" → "Q4_K_M",
// "x-q8_0-00001-of-00002.gguf" → "Q8_0"), or empty when there is none.
std::string quant_label_from_filename(std::string_view filename);

struct SplitPart {
  std::string base;  // the path without "-0000K-of-0000N.gguf"
  int index = 0;     // 1-based
  int count = 0;
};
// The split-part numbering of a GGUF path, when it has one.
std::optional<SplitPart> parse_split_part(std::string_view path);

}  // namespace rbee::provision
