#include "provision/model_reference.hpp"

#include <cctype>
#include <cstdlib>
#include <system_error>

namespace rbee::provision {
namespace {

constexpr size_t kMaxRepoPartLength = 96;
constexpr size_t kMaxRevisionLength = 200;

constexpr std::string_view kAcceptedForms =
    "expected org/repo, org/repo:QUANT, org/repo:path/file.gguf (optionally followed by "
    "@revision) or a local GGUF path (/..., ./..., ../..., ~/...)";

bool is_name_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-';
}

bool ends_with_gguf(std::string_view text) {
  constexpr std::string_view kSuffix = ".gguf";
  if (text.size() < kSuffix.size()) return false;
  auto tail = text.substr(text.size() - kSuffix.size());
  for (size_t i = 0; i < kSuffix.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(tail[i])) != kSuffix[i]) return false;
  }
  return true;
}

bool starts_with(std::string_view text, std::string_view prefix) {
  return text.substr(0, prefix.size()) == prefix;
}

Status validate_repo_part(std::string_view part, std::string_view repo) {
  auto invalid = [&](const std::string& why) {
    return make_error(ErrorCode::kInvalidArgument,
                      "invalid repository name '" + std::string(repo) + "': " + why);
  };
  if (part.empty()) return invalid("expected org/name");
  if (part.size() > kMaxRepoPartLength) {
    return invalid("a part is longer than " + std::to_string(kMaxRepoPartLength) + " characters");
  }
  for (char c : part) {
    if (!is_name_char(c)) return invalid("only letters, digits, '.', '_' and '-' are allowed");
  }
  if (part.front() == '.' || part.front() == '-') {
    return invalid("a part may not start with '.' or '-'");
  }
  if (part.find("..") != std::string_view::npos) return invalid("\"..\" is not allowed");
  return ok_status();
}

Result<std::filesystem::path> local_path_from(std::string_view text) {
  std::filesystem::path path;
  if (starts_with(text, "~/")) {
    const char* home = std::getenv("HOME");
    if (home == nullptr || *home == '\0') {
      return make_error(ErrorCode::kInvalidArgument,
                        "cannot expand '~' in '" + std::string(text) + "': HOME is not set");
    }
    path = std::filesystem::path(home) / std::string(text.substr(2));
  } else {
    path = std::string(text);
  }
  std::error_code ec;
  auto absolute = std::filesystem::absolute(path, ec);
  if (ec) {
    return make_error(ErrorCode::kInvalidArgument,
                      "cannot make '" + std::string(text) + "' absolute: " + ec.message());
  }
  return absolute.lexically_normal();
}

bool is_quant_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.';
}

}  // namespace

std::string ModelReference::canonical() const {
  if (is_local()) return local_path.string();
  std::string text = repo;
  if (!file.empty()) {
    text += ":" + file;
  } else if (!quant.empty()) {
    text += ":" + quant;
  }
  if (!revision.empty() && revision != "main") text += "@" + revision;
  return text;
}

Status validate_repo_name(std::string_view repo) {
  auto slash = repo.find('/');
  if (slash == std::string_view::npos || repo.find('/', slash + 1) != std::string_view::npos) {
    return make_error(ErrorCode::kInvalidArgument,
                      "invalid repository name '" + std::string(repo) + "': expected org/name");
  }
  RBEE_RETURN_IF_ERROR(validate_repo_part(repo.substr(0, slash), repo));
  return validate_repo_part(repo.substr(slash + 1), repo);
}

Status validate_revision(std::string_view revision) {
  auto invalid = [&](const std::string& why) {
    return make_error(ErrorCode::kInvalidArgument,
                      "invalid revision '" + std::string(revision) + "': " + why);
  };
  if (revision.empty()) return invalid("it is empty");
  if (revision.size() > kMaxRevisionLength) return invalid("it is too long");
  for (char c : revision) {
    if (!is_name_char(c) && c != '/') {
      return invalid("only letters, digits, '.', '_', '-' and '/' are allowed");
    }
  }
  if (revision.front() == '/' || revision.back() == '/') return invalid("it starts or ends with /");
  if (revision.find("..") != std::string_view::npos) return invalid("\"..\" is not allowed");
  return ok_status();
}

Status validate_repo_file_path(std::string_view path) {
  auto invalid = [&](const std::string& why) {
    return make_error(ErrorCode::kInvalidArgument,
                      "unsafe file path '" + std::string(path) + "' in a repository: " + why);
  };
  if (path.empty()) return invalid("it is empty");
  if (path.front() == '/') return invalid("it is absolute");
  for (char c : path) {
    if (c == '\\') return invalid("it contains a backslash");
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
      return invalid("it contains a control character");
    }
  }
  size_t start = 0;
  while (start <= path.size()) {
    auto end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    auto part = path.substr(start, end - start);
    if (part.empty()) return invalid("it has an empty part");
    if (part == "." || part == "..") return invalid("it has a '.' or '..' part");
    start = end + 1;
  }
  return ok_status();
}

Result<ModelReference> parse_model_reference(std::string_view text, std::string_view revision) {
  if (text.empty()) {
    return make_error(ErrorCode::kInvalidArgument,
                      "empty model reference; " + std::string(kAcceptedForms));
  }
  ModelReference reference;
  bool local = starts_with(text, "/") || starts_with(text, "./") || starts_with(text, "../") ||
               starts_with(text, "~/");
  if (!local && ends_with_gguf(text)) {
    std::error_code ec;
    local = std::filesystem::is_regular_file(std::filesystem::path(std::string(text)), ec);
  }
  if (local) {
    RBEE_ASSIGN_OR_RETURN(reference.local_path, local_path_from(text));
    reference.revision.clear();
    return reference;
  }

  // org/repo[:QUANT | :path.gguf][@revision]
  std::string_view rest = text;
  std::string_view revision_in_text;
  if (auto at = rest.rfind('@'); at != std::string_view::npos) {
    revision_in_text = rest.substr(at + 1);
    rest = rest.substr(0, at);
    if (revision_in_text.empty()) {
      return make_error(ErrorCode::kInvalidArgument,
                        "'" + std::string(text) + "' ends with '@' but names no revision");
    }
  }
  std::string_view selector;
  if (auto colon = rest.find(':'); colon != std::string_view::npos) {
    selector = rest.substr(colon + 1);
    rest = rest.substr(0, colon);
    if (selector.empty()) {
      return make_error(ErrorCode::kInvalidArgument,
                        "'" + std::string(text) + "' has ':' but no quant or file after it");
    }
  }
  if (rest.find('/') == std::string_view::npos) {
    return make_error(
        ErrorCode::kInvalidArgument,
        "'" + std::string(text) + "' is not a model reference; " + std::string(kAcceptedForms));
  }
  RBEE_RETURN_IF_ERROR(validate_repo_name(rest));
  reference.repo = std::string(rest);

  if (!selector.empty()) {
    if (ends_with_gguf(selector) || selector.find('/') != std::string_view::npos) {
      RBEE_RETURN_IF_ERROR(validate_repo_file_path(selector));
      if (!ends_with_gguf(selector)) {
        return make_error(ErrorCode::kInvalidArgument,
                          "'" + std::string(selector) + "' is not a .gguf file");
      }
      reference.file = std::string(selector);
    } else {
      for (char c : selector) {
        if (!is_quant_char(c)) {
          return make_error(ErrorCode::kInvalidArgument,
                            "invalid quant tag '" + std::string(selector) +
                                "': expected something like Q4_K_M or Q8_0");
        }
      }
      for (char c : selector) {
        reference.quant += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      }
    }
  }

  if (!revision_in_text.empty() && !revision.empty() && revision != "main" &&
      revision != revision_in_text) {
    return make_error(ErrorCode::kInvalidArgument, "'" + std::string(text) + "' names revision '" +
                                                       std::string(revision_in_text) +
                                                       "' but the revision given is '" +
                                                       std::string(revision) + "'");
  }
  std::string_view chosen =
      !revision_in_text.empty() ? revision_in_text : (revision.empty() ? "main" : revision);
  RBEE_RETURN_IF_ERROR(validate_revision(chosen));
  reference.revision = std::string(chosen);
  return reference;
}

}  // namespace rbee::provision
