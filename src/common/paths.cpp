#include "common/paths.hpp"

#include <cstdlib>
#include <system_error>

namespace rbee {
namespace fs = std::filesystem;
namespace {

std::string lookup(const std::map<std::string, std::string>& env, const std::string& key) {
  auto it = env.find(key);
  return it == env.end() ? std::string() : it->second;
}

}  // namespace

Result<Paths> Paths::from_environment(const std::map<std::string, std::string>& env) {
  Paths paths;
  std::string home = lookup(env, "RBEE_HOME");
  if (!home.empty()) {
    fs::path root = fs::absolute(home);
    paths.config_dir = root / "config";
    paths.cache_dir = root / "cache";
    paths.state_dir = root / "state";
    return paths;
  }
  std::string user_home = lookup(env, "HOME");
  if (user_home.empty()) {
    return make_error(
        ErrorCode::kFailedPrecondition,
        "neither RBEE_HOME nor HOME is set; set RBEE_HOME to a folder for rbee's files");
  }
  auto xdg = [&](const char* key, const char* fallback) {
    std::string value = lookup(env, key);
    return value.empty() ? fs::path(user_home) / fallback : fs::path(value);
  };
  paths.config_dir = xdg("XDG_CONFIG_HOME", ".config") / "rbee";
  paths.cache_dir = xdg("XDG_CACHE_HOME", ".cache") / "rbee";
  paths.state_dir = xdg("XDG_STATE_HOME", ".local/state") / "rbee";
  return paths;
}

Result<Paths> Paths::from_process_environment() {
  std::map<std::string, std::string> env;
  for (const char* key :
       {"RBEE_HOME", "HOME", "XDG_CONFIG_HOME", "XDG_CACHE_HOME", "XDG_STATE_HOME"}) {
    if (const char* value = std::getenv(key)) env[key] = value;
  }
  return from_environment(env);
}

Status Paths::create_directories() const {
  for (const fs::path& dir : {config_dir, cache_dir, state_dir, log_dir()}) {
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec) {
      return make_error(ErrorCode::kInternal,
                        "cannot create folder " + dir.string() + ": " + ec.message());
    }
  }
  for (const fs::path& dir : {config_dir, state_dir}) {
    std::error_code ec;
    fs::permissions(dir, fs::perms::owner_all, fs::perm_options::replace, ec);
  }
  return ok_status();
}

}  // namespace rbee
