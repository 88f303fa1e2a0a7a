#pragma once

// The HuggingFace Hub protocol: the tree API for a repo's files (with sizes and LFS sha256,
// following `Link: rel="next"` pages) and `resolve` downloads through download_to_file.

#include <filesystem>
#include <stop_token>
#include <string>
#include <vector>

#include "common/result.hpp"
#include "provision/download.hpp"
#include "provision/hf_files.hpp"
#include "provision/model_reference.hpp"

namespace rbee::provision {

inline constexpr const char* kDefaultHfEndpoint = "https://huggingface.co";

struct HfClientOptions {
  std::string endpoint = kDefaultHfEndpoint;  // no trailing '/'
  std::string token;                          // sent as `Authorization: Bearer` when set
  TransferOptions transfer;

  // HF_ENDPOINT, else `configured_endpoint` when not empty (a hive's [downloads]
  // hf_endpoint), else https://huggingface.co; HF_TOKEN, else the token file of
  // `huggingface-cli login` ($HF_TOKEN_PATH, $HF_HOME/token, ~/.cache/huggingface/token);
  // RBEE_DOWNLOAD_STALL_TIMEOUT_S overrides the stall timeout.
  static HfClientOptions from_environment(const std::string& configured_endpoint = "");
};

class HfClient {
 public:
  explicit HfClient(HfClientOptions options);

  // Every file of repo at revision (recursive). Errors: kNotFound (repo or revision, named),
  // kUnauthenticated (private/gated: says to set HF_TOKEN, or that the token has no access),
  // kUnavailable (host unreachable or failing), kInternal (a listing that makes no sense, or
  // an unsafe path in it).
  Result<std::vector<RepoFile>> list_files(const std::string& repo, const std::string& revision,
                                           std::stop_token stop = {}) const;

  // list_files + select_gguf for a HuggingFace reference.
  Result<ModelSelection> resolve(const ModelReference& reference, std::stop_token stop = {}) const;

  // Downloads one file of the listing to dest (see download_to_file: `<dest>.part`, resume,
  // retries, free space checked against file.size first; size and, for LFS files, sha256
  // checked before dest appears; an existing dest is replaced). Gated (kUnauthenticated: set
  // HF_TOKEN / the token has no access), missing file (kNotFound naming repo, revision and
  // file) and unreachable host (kUnavailable naming it) get clear messages.
  Status download_file(const std::string& repo, const std::string& revision, const RepoFile& file,
                       const std::filesystem::path& dest, const ProgressFn& progress,
                       std::stop_token stop) const;

  // `{endpoint}/{repo}/resolve/{revision}/{path}`, escaped.
  std::string resolve_url(const std::string& repo, const std::string& revision,
                          const std::string& path) const;
  const HfClientOptions& options() const { return options_; }

 private:
  std::vector<std::string> auth_headers() const;
  Error describe_failure(const HttpFailure& failure, const std::string& repo,
                         const std::string& revision, const std::string& path) const;

  HfClientOptions options_;
};

}  // namespace rbee::provision
