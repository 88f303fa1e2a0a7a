#include "common/cluster_token.hpp"

#include <sys/stat.h>

#include "common/files.hpp"
#include "common/random.hpp"

namespace rbee {
namespace {

std::string trim(std::string text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' ')) {
    text.pop_back();
  }
  return text;
}

}  // namespace

Result<std::string> read_cluster_token(const std::filesystem::path& path) {
  RBEE_ASSIGN_OR_RETURN(std::string text, read_file(path));
  std::string token = trim(std::move(text));
  if (token.empty()) {
    return make_error(ErrorCode::kFailedPrecondition,
                      "the cluster token file " + path.string() + " is empty");
  }
  return token;
}

Result<std::string> load_or_create_cluster_token(const std::filesystem::path& path) {
  auto existing = read_cluster_token(path);
  if (existing) {
    struct stat info {};
    if (::stat(path.c_str(), &info) == 0 && (info.st_mode & 077) != 0) ::chmod(path.c_str(), 0600);
    return existing;
  }
  if (existing.error().code != ErrorCode::kNotFound) return std::move(existing).error();
  std::string token = random_hex(32);
  RBEE_RETURN_IF_ERROR(write_file_atomic(path, token + "\n", 0600));
  return token;
}

}  // namespace rbee
