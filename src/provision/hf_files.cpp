#include "provision/hf_files.hpp"

#include <algorithm>
#include <cctype>
#include <map>
#include <set>

namespace rbee::provision {
namespace {

std::string to_upper(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

bool iends_with(std::string_view text, std::string_view suffix) {
  if (text.size() < suffix.size()) return false;
  return to_upper(text.substr(text.size() - suffix.size())) == to_upper(suffix);
}

std::string_view basename_of(std::string_view path) {
  auto slash = path.rfind('/');
  return slash == std::string_view::npos ? path : path.substr(slash + 1);
}

bool is_gguf(const RepoFile& file) {
  return iends_with(file.path, ".gguf");
}

// Multimodal projectors ship beside the model as GGUFs but are not a model of their own.
bool is_projector(std::string_view path) {
  return to_upper(basename_of(path)).find("MMPROJ") != std::string::npos;
}

// A token of a file name that is a quant tag: Q4_K_M, IQ4_XS, Q8_0, F16, BF16, TQ1_0, ...
bool is_quant_token(std::string_view token) {
  auto upper = to_upper(token);
  if (upper == "F16" || upper == "F32" || upper == "BF16" || upper == "FP16" || upper == "FP32" ||
      upper == "MXFP4") {
    return true;
  }
  std::string_view rest = upper;
  if (rest.starts_with("IQ") || rest.starts_with("TQ")) {
    rest.remove_prefix(2);
  } else if (rest.starts_with("Q")) {
    rest.remove_prefix(1);
  } else {
    return false;
  }
  if (rest.empty() || !std::isdigit(static_cast<unsigned char>(rest.front()))) return false;
  rest.remove_prefix(1);
  // Then groups of "_X..." where X is a letter or digit: Q4_K_M, IQ2_XXS, Q4_0_4_4.
  while (!rest.empty()) {
    if (rest.front() != '_' || rest.size() < 2) return false;
    rest.remove_prefix(1);
    size_t n = 0;
    while (n < rest.size() && std::isalnum(static_cast<unsigned char>(rest[n]))) ++n;
    if (n == 0) return false;
    rest.remove_prefix(n);
  }
  return true;
}

// One model in the listing: a single GGUF or a split set.
struct Candidate {
  std::string key;  // the path, or the split base
  std::string quant;
  int part_count = 1;
  std::map<int, RepoFile> parts;  // by part index (1 for a single file)

  bool complete() const { return static_cast<int>(parts.size()) == part_count; }
  std::string missing_parts() const {
    std::string out;
    for (int i = 1; i <= part_count; ++i) {
      if (parts.count(i) == 0) out += (out.empty() ? "" : ", ") + std::to_string(i);
    }
    return out;
  }
  std::string display() const {
    return part_count == 1 ? key : key + " (" + std::to_string(part_count) + " parts)";
  }
};

std::vector<Candidate> group_models(const std::vector<RepoFile>& files) {
  std::map<std::string, Candidate> by_key;  // ordered, so every choice below is deterministic
  for (const auto& file : files) {
    if (!is_gguf(file) || is_projector(file.path)) continue;
    auto split = parse_split_part(file.path);
    std::string key = split ? split->base + "#" + std::to_string(split->count) : file.path;
    auto& candidate = by_key[key];
    candidate.key = split ? split->base : file.path;
    candidate.quant = quant_label_from_filename(file.path);
    candidate.part_count = split ? split->count : 1;
    candidate.parts[split ? split->index : 1] = file;
  }
  std::vector<Candidate> out;
  for (auto& [key, candidate] : by_key) out.push_back(std::move(candidate));
  return out;
}

std::string list_for_message(const std::vector<std::string>& names) {
  constexpr size_t kMaxNamed = 20;
  std::string out;
  for (size_t i = 0; i < names.size() && i < kMaxNamed; ++i) {
    out += (i == 0 ? "" : ", ") + names[i];
  }
  if (names.size() > kMaxNamed) {
    out += " and " + std::to_string(names.size() - kMaxNamed) + " more";
  }
  return out.empty() ? "(none)" : out;
}

std::string where(const ModelReference& reference) {
  return reference.repo + " (revision " + reference.revision + ")";
}

Result<ModelSelection> selection_of(const Candidate& candidate, const ModelReference& reference) {
  if (!candidate.complete()) {
    return make_error(ErrorCode::kNotFound,
                      "the split model " + candidate.key + " in " + where(reference) +
                          " is incomplete: part(s) " + candidate.missing_parts() + " of " +
                          std::to_string(candidate.part_count) + " are missing");
  }
  ModelSelection selection;
  for (const auto& [index, file] : candidate.parts) selection.files.push_back(file);
  selection.quant = candidate.quant;
  return selection;
}

}  // namespace

uint64_t ModelSelection::total_size() const {
  uint64_t total = 0;
  for (const auto& file : files) total += file.size;
  return total;
}

std::optional<SplitPart> parse_split_part(std::string_view path) {
  // "<base>-00001-of-00003.gguf"
  if (!iends_with(path, ".gguf")) return std::nullopt;
  std::string_view stem = path.substr(0, path.size() - 5);
  auto read_number_back = [&](std::string_view& text, int& value) {
    size_t n = 0;
    while (n < text.size() && n < 9 &&
           std::isdigit(static_cast<unsigned char>(text[text.size() - 1 - n]))) {
      ++n;
    }
    if (n == 0) return false;
    value = std::stoi(std::string(text.substr(text.size() - n)));
    text.remove_suffix(n);
    return true;
  };
  SplitPart part;
  if (!read_number_back(stem, part.count) || !stem.ends_with("-of-")) return std::nullopt;
  stem.remove_suffix(4);
  if (!read_number_back(stem, part.index) || !stem.ends_with("-")) return std::nullopt;
  stem.remove_suffix(1);
  if (stem.empty() || part.count < 1 || part.index < 1 || part.index > part.count) {
    return std::nullopt;
  }
  part.base = std::string(stem);
  return part;
}

std::string quant_label_from_filename(std::string_view filename) {
  std::string_view name = basename_of(filename);
  std::string stem;
  if (auto split = parse_split_part(name)) {
    stem = split->base;
  } else {
    stem = std::string(iends_with(name, ".gguf") ? name.substr(0, name.size() - 5) : name);
  }
  // Tokens between '-' and '.' (quant tags hold '_' themselves); the last quant-like one wins,
  // so "stories-Q4_K_M-fallback" and "model.i1-Q4_K_M" both give Q4_K_M.
  std::vector<std::string_view> tokens;
  std::string_view rest = stem;
  while (!rest.empty()) {
    auto end = rest.find_first_of("-.");
    tokens.push_back(rest.substr(0, end));
    if (end == std::string_view::npos) break;
    rest.remove_prefix(end + 1);
  }
  for (auto it = tokens.rbegin(); it != tokens.rend(); ++it) {
    if (is_quant_token(*it)) return to_upper(*it);
  }
  return "";
}

Result<ModelSelection> select_gguf(const std::vector<RepoFile>& files,
                                   const ModelReference& reference) {
  auto candidates = group_models(files);

  if (!reference.file.empty()) {
    for (const auto& file : files) {
      if (file.path != reference.file) continue;
      if (!parse_split_part(file.path)) {
        ModelSelection selection;
        selection.files.push_back(file);
        selection.quant = quant_label_from_filename(file.path);
        return selection;
      }
      // Naming any part of a split model means the whole model.
      auto split = parse_split_part(file.path);
      for (const auto& candidate : candidates) {
        if (candidate.key == split->base && candidate.part_count == split->count) {
          return selection_of(candidate, reference);
        }
      }
    }
    std::vector<std::string> names;
    for (const auto& candidate : candidates) names.push_back(candidate.display());
    return make_error(ErrorCode::kNotFound, "no file " + reference.file + " in " +
                                                where(reference) +
                                                "; its GGUF files: " + list_for_message(names));
  }

  if (candidates.empty()) {
    std::vector<std::string> names;
    for (const auto& file : files) names.push_back(file.path);
    return make_error(ErrorCode::kNotFound, where(reference) +
                                                " has no GGUF model file (rbee runs GGUF "
                                                "models); its files: " +
                                                list_for_message(names));
  }

  if (!reference.quant.empty()) {
    const Candidate* incomplete = nullptr;
    for (const auto& candidate : candidates) {
      if (candidate.quant != to_upper(reference.quant)) continue;
      if (candidate.complete()) return selection_of(candidate, reference);
      if (incomplete == nullptr) incomplete = &candidate;
    }
    if (incomplete != nullptr) return selection_of(*incomplete, reference);
    std::set<std::string> quants;
    for (const auto& candidate : candidates) {
      quants.insert(candidate.quant.empty() ? candidate.key : candidate.quant);
    }
    return make_error(ErrorCode::kNotFound,
                      "no " + reference.quant + " GGUF in " + where(reference) + "; available: " +
                          list_for_message(std::vector<std::string>(quants.begin(), quants.end())));
  }

  // Automatic: the first preferred quant with a complete model, else the first complete
  // model by path. Incomplete split sets cannot be downloaded, so they are only reported.
  for (std::string_view preferred : kQuantPreference) {
    for (const auto& candidate : candidates) {
      if (candidate.quant == preferred && candidate.complete()) {
        return selection_of(candidate, reference);
      }
    }
  }
  for (const auto& candidate : candidates) {
    if (candidate.complete()) return selection_of(candidate, reference);
  }
  return selection_of(candidates.front(), reference);
}

}  // namespace rbee::provision
