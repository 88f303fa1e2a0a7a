#include "hive/queen_link.hpp"

#include "common/cluster_token.hpp"

namespace rbee::hive {

QueenLink::QueenLink(std::string queen_url, std::filesystem::path token_file,
                     std::function<void(const std::string&)> on_token)
    : queen_url_(std::move(queen_url)),
      token_file_(std::move(token_file)),
      on_token_(std::move(on_token)) {}

Result<std::string> QueenLink::token() {
  {
    std::lock_guard lock(mu_);
    if (!token_.empty()) return token_;
  }
  auto token = read_cluster_token(token_file_);
  if (!token) {
    return make_error(
        ErrorCode::kFailedPrecondition,
        "no cluster token at " + token_file_.string() + " yet (" + token.error().message + ")");
  }
  {
    std::lock_guard lock(mu_);
    token_ = *token;
  }
  if (on_token_) on_token_(*token);
  return token;
}

Result<http::ClientResponse> QueenLink::post(const std::string& path,
                                             const std::string& json_body) {
  RBEE_ASSIGN_OR_RETURN(std::string bearer, token());
  http::Client client({queen_url_, bearer, 2, 5});
  auto response = client.post(path, json_body);
  if (response && response->status == 401) {
    std::lock_guard lock(mu_);
    if (token_ == bearer) token_.clear();
  }
  return response;
}

}  // namespace rbee::hive
