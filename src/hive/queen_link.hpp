#pragma once

// The hive's calls to the queen (heartbeats, worker events) with the cluster token as bearer
// (ARCHITECTURE.md §6). The token is read from its file when first needed, since the queen
// may create it after the hive started, and read again after a 401 (the queen's config
// folder was reset).
//
// Thread-safety: every member may be called from any thread.

#include <filesystem>
#include <functional>
#include <mutex>
#include <string>

#include "common/result.hpp"
#include "http/client.hpp"

namespace rbee::hive {

class QueenLink {
 public:
  // `on_token` is called with each token read (new or changed) from the file.
  QueenLink(std::string queen_url, std::filesystem::path token_file,
            std::function<void(const std::string&)> on_token = {});

  // POSTs a JSON body. kFailedPrecondition while there is no token file yet; kUnavailable
  // when the queen cannot be reached; any HTTP status is a successful Result.
  Result<http::ClientResponse> post(const std::string& path, const std::string& json_body);

  const std::string& queen_url() const { return queen_url_; }
  const std::filesystem::path& token_file() const { return token_file_; }

 private:
  Result<std::string> token();

  std::string queen_url_;
  std::filesystem::path token_file_;
  std::function<void(const std::string&)> on_token_;
  std::mutex mu_;
  std::string token_;  // guarded by mu_; empty until read
};

}  // namespace rbee::hive
