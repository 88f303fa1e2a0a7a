#include "provision/hf_client.hpp"

#include <cctype>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>

#include "common/sha256.hpp"

namespace rbee::provision {
namespace {

constexpr int kMaxTreePages = 10000;

bool is_unreserved(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' || c == '_' ||
         c == '~';
}

// Percent-encodes everything but unreserved characters (and '/' when keep_slash).
std::string escape(std::string_view text, bool keep_slash) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (char c : text) {
    if (is_unreserved(c) || (keep_slash && c == '/')) {
      out += c;
    } else {
      auto byte = static_cast<unsigned char>(c);
      out += '%';
      out += kHex[byte >> 4];
      out += kHex[byte & 0xf];
    }
  }
  return out;
}

std::string env(const char* name) {
  const char* value = std::getenv(name);
  return value == nullptr ? "" : value;
}

std::string trimmed(std::string text) {
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) text.pop_back();
  size_t start = 0;
  while (start < text.size() && std::isspace(static_cast<unsigned char>(text[start]))) ++start;
  return text.substr(start);
}

// The token `huggingface-cli login` saved, if any.
std::string token_from_file() {
  std::filesystem::path path;
  if (auto explicit_path = env("HF_TOKEN_PATH"); !explicit_path.empty()) {
    path = explicit_path;
  } else if (auto hf_home = env("HF_HOME"); !hf_home.empty()) {
    path = std::filesystem::path(hf_home) / "token";
  } else if (auto home = env("HOME"); !home.empty()) {
    path = std::filesystem::path(home) / ".cache" / "huggingface" / "token";
  } else {
    return "";
  }
  std::ifstream in(path);
  std::string token;
  std::getline(in, token);
  return trimmed(token);
}

// "https://host:port/prefix" → "https://host:port".
std::string origin_of(const std::string& url) {
  auto scheme_end = url.find("://");
  if (scheme_end == std::string::npos) return url;
  auto path_start = url.find('/', scheme_end + 3);
  return path_start == std::string::npos ? url : url.substr(0, path_start);
}

// The `rel="next"` target of a Link header, or empty.
std::string next_link(const std::string& header) {
  size_t at = 0;
  while (at < header.size()) {
    auto open = header.find('<', at);
    if (open == std::string::npos) break;
    auto close = header.find('>', open);
    if (close == std::string::npos) break;
    auto end = header.find(',', close);
    auto params = header.substr(close + 1, end == std::string::npos ? end : end - close - 1);
    if (params.find("rel=\"next\"") != std::string::npos ||
        params.find("rel=next") != std::string::npos) {
      return header.substr(open + 1, close - open - 1);
    }
    if (end == std::string::npos) break;
    at = end + 1;
  }
  return "";
}

Error listing_error(const std::string& url, const std::string& why) {
  return make_error(ErrorCode::kInternal, "unexpected file listing from " + url + ": " + why);
}

Status append_tree_page(const std::string& url, const std::string& body,
                        std::vector<RepoFile>& files) {
  auto json = nlohmann::json::parse(body, nullptr, false);
  if (json.is_discarded() || !json.is_array()) return listing_error(url, "not a JSON array");
  for (const auto& item : json) {
    if (!item.is_object() || !item.contains("type") || !item["type"].is_string()) {
      return listing_error(url, "an entry without a type");
    }
    if (item["type"] != "file") continue;  // directories: their files are listed too
    if (!item.contains("path") || !item["path"].is_string() || !item.contains("size") ||
        !item["size"].is_number_unsigned()) {
      return listing_error(url, "a file without path or size");
    }
    RepoFile file;
    file.path = item["path"].get<std::string>();
    file.size = item["size"].get<uint64_t>();
    if (auto valid = validate_repo_file_path(file.path); !valid) {
      return listing_error(url, valid.error().message);
    }
    if (item.contains("lfs") && item["lfs"].is_object()) {
      const auto& lfs = item["lfs"];
      // "oid" is the sha256 of the content (the LFS pointer's `oid sha256:...`).
      if (!lfs.contains("oid") || !lfs["oid"].is_string() ||
          !is_sha256_hex(lfs["oid"].get<std::string>())) {
        return listing_error(url, file.path + " has no sha256 in its lfs entry");
      }
      file.sha256 = lfs["oid"].get<std::string>();
      for (char& c : file.sha256) {
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      }
      if (lfs.contains("size") && lfs["size"].is_number_unsigned() &&
          lfs["size"].get<uint64_t>() != file.size) {
        return listing_error(url, file.path + " has two different sizes");
      }
    }
    files.push_back(std::move(file));
  }
  return ok_status();
}

}  // namespace

HfClientOptions HfClientOptions::from_environment(const std::string& configured_endpoint) {
  HfClientOptions options;
  if (!configured_endpoint.empty()) options.endpoint = configured_endpoint;
  if (auto endpoint = env("HF_ENDPOINT"); !endpoint.empty()) options.endpoint = endpoint;
  while (!options.endpoint.empty() && options.endpoint.back() == '/') options.endpoint.pop_back();
  options.token = trimmed(env("HF_TOKEN"));
  if (options.token.empty()) options.token = token_from_file();
  if (auto stall = env("RBEE_DOWNLOAD_STALL_TIMEOUT_S"); !stall.empty()) {
    char* end = nullptr;
    double seconds = std::strtod(stall.c_str(), &end);
    if (end != stall.c_str() && *end == '\0' && seconds > 0) {
      options.transfer.stall_timeout_s = seconds;
    }
  }
  return options;
}

HfClient::HfClient(HfClientOptions options) : options_(std::move(options)) {
  while (!options_.endpoint.empty() && options_.endpoint.back() == '/')
    options_.endpoint.pop_back();
}

std::vector<std::string> HfClient::auth_headers() const {
  if (options_.token.empty()) return {};
  return {"Authorization: Bearer " + options_.token};
}

std::string HfClient::resolve_url(const std::string& repo, const std::string& revision,
                                  const std::string& path) const {
  return options_.endpoint + "/" + repo + "/resolve/" + escape(revision, false) + "/" +
         escape(path, true);
}

Error HfClient::describe_failure(const HttpFailure& failure, const std::string& repo,
                                 const std::string& revision, const std::string& path) const {
  const bool has_token = !options_.token.empty();
  const std::string& endpoint = options_.endpoint;
  const std::string& code = failure.error_code;
  std::string detail = failure.message.empty() ? "" : " (" + failure.message + ")";
  switch (failure.status) {
    case 401:
      if (has_token) {
        return make_error(ErrorCode::kUnauthenticated,
                          endpoint + " rejected the HuggingFace token (HF_TOKEN) for " + repo +
                              ": is it valid and not expired?" + detail);
      }
      if (code == "GatedRepo") {
        return make_error(ErrorCode::kUnauthenticated,
                          repo + " is gated: accept its conditions at " + endpoint + "/" + repo +
                              ", then set HF_TOKEN to an access token of that account");
      }
      return make_error(ErrorCode::kUnauthenticated,
                        repo + " was not found on " + endpoint +
                            ", or it is private or gated: if it exists, set HF_TOKEN to an "
                            "access token that can read it" +
                            detail);
    case 403:
      return make_error(ErrorCode::kUnauthenticated,
                        "the HuggingFace token (HF_TOKEN) has no access to " + repo +
                            (code == "GatedRepo"
                                 ? ": the repo is gated; request access at " + endpoint + "/" + repo
                                 : std::string()) +
                            detail);
    case 404:
      if (code == "RevisionNotFound") {
        return make_error(ErrorCode::kNotFound,
                          "revision '" + revision + "' not found in " + repo + detail);
      }
      if (code == "RepoNotFound") {
        return make_error(ErrorCode::kNotFound,
                          "repository " + repo + " not found on " + endpoint + detail);
      }
      if (code == "EntryNotFound" && !path.empty()) {
        return make_error(ErrorCode::kNotFound, "file " + path + " not found in " + repo +
                                                    " at revision " + revision + detail);
      }
      return make_error(ErrorCode::kNotFound, (path.empty() ? repo : path + " in " + repo) +
                                                  " (revision " + revision + ") not found on " +
                                                  endpoint + detail);
    default:
      if (failure.status == 429 || failure.status >= 500) {
        return make_error(ErrorCode::kUnavailable, endpoint + " is failing (HTTP " +
                                                       std::to_string(failure.status) + ") for " +
                                                       repo + detail + "; try again later");
      }
      return make_error(ErrorCode::kInternal, "unexpected HTTP " + std::to_string(failure.status) +
                                                  " from " + failure.url + detail);
  }
}

Result<std::vector<RepoFile>> HfClient::list_files(const std::string& repo,
                                                   const std::string& revision,
                                                   std::stop_token stop) const {
  RBEE_RETURN_IF_ERROR(validate_repo_name(repo));
  RBEE_RETURN_IF_ERROR(validate_revision(revision));
  std::string url = options_.endpoint + "/api/models/" + repo + "/tree/" + escape(revision, false) +
                    "?recursive=true";
  std::vector<RepoFile> files;
  for (int page = 0; !url.empty(); ++page) {
    if (page == kMaxTreePages) return listing_error(url, "too many pages");
    HttpRequest request;
    request.url = url;
    request.headers = auth_headers();
    request.headers.push_back("Accept: application/json");
    RBEE_ASSIGN_OR_RETURN(auto response, http_request(request, options_.transfer, stop));
    if (response.status != 200) {
      return describe_failure(http_failure_of(url, response), repo, revision, "");
    }
    RBEE_RETURN_IF_ERROR(append_tree_page(url, response.body, files));
    url = next_link(response.header("Link"));
    if (!url.empty() && url.front() == '/') url = origin_of(options_.endpoint) + url;
  }
  return files;
}

Result<ModelSelection> HfClient::resolve(const ModelReference& reference,
                                         std::stop_token stop) const {
  if (reference.is_local()) {
    return make_error(ErrorCode::kInvalidArgument,
                      reference.local_path.string() + " is a local file, not a HuggingFace repo");
  }
  RBEE_ASSIGN_OR_RETURN(auto files, list_files(reference.repo, reference.revision, stop));
  return select_gguf(files, reference);
}

Status HfClient::download_file(const std::string& repo, const std::string& revision,
                               const RepoFile& file, const std::filesystem::path& dest,
                               const ProgressFn& progress, std::stop_token stop) const {
  RBEE_RETURN_IF_ERROR(validate_repo_name(repo));
  RBEE_RETURN_IF_ERROR(validate_revision(revision));
  RBEE_RETURN_IF_ERROR(validate_repo_file_path(file.path));
  DownloadRequest request;
  request.url = resolve_url(repo, revision, file.path);
  request.headers = auth_headers();
  request.dest = dest;
  request.expected_size = file.size;
  request.expected_sha256 = file.sha256;
  request.label = repo + "/" + file.path;
  request.describe_failure = [this, repo, revision, path = file.path](const HttpFailure& failure) {
    return describe_failure(failure, repo, revision, path);
  };
  return download_to_file(request, options_.transfer, progress, std::move(stop));
}

}  // namespace rbee::provision
