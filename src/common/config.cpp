#include "common/config.hpp"

#include <toml++/toml.h>

#include <algorithm>
#include <cctype>
#include <sstream>

#include "common/files.hpp"

namespace rbee {
namespace {

std::string where(const std::string& source_name, const toml::source_region& region) {
  return source_name + ":" + std::to_string(region.begin.line);
}

// A syntax error is kInvalidArgument naming the file and line.
Result<toml::table> parse_toml(const std::string& text, const std::string& source_name) {
  try {
    return toml::parse(text, source_name);
  } catch (const toml::parse_error& e) {
    return make_error(ErrorCode::kInvalidArgument,
                      where(source_name, e.source()) + ": " + std::string(e.description()));
  }
}

bool is_http_url(const std::string& url) {
  return url.starts_with("http://") || url.starts_with("https://");
}

Error config_error(const std::string& source_name, const toml::node& node,
                   const std::string& what) {
  return make_error(ErrorCode::kInvalidArgument, where(source_name, node.source()) + ": " + what);
}

// Reads one table's keys into typed fields; anything unknown is an error so that a typo
// never silently falls back to a default.
class TableReader {
 public:
  TableReader(const toml::table& table, std::string table_name, std::string source_name)
      : table_(table), table_name_(std::move(table_name)), source_name_(std::move(source_name)) {}

  Status read_string(const char* key, std::string& out) {
    known_.push_back(key);
    const toml::node* node = table_.get(key);
    if (!node) return ok_status();
    if (!node->is_string()) return type_error(*node, key, "a string");
    out = node->as_string()->get();
    return ok_status();
  }

  Status read_int(const char* key, int& out) {
    known_.push_back(key);
    const toml::node* node = table_.get(key);
    if (!node) return ok_status();
    if (!node->is_integer()) return type_error(*node, key, "an integer");
    int64_t value = node->as_integer()->get();
    if (value < INT32_MIN || value > INT32_MAX) return type_error(*node, key, "a 32-bit integer");
    out = static_cast<int>(value);
    return ok_status();
  }

  Status read_bool(const char* key, bool& out) {
    known_.push_back(key);
    const toml::node* node = table_.get(key);
    if (!node) return ok_status();
    if (!node->is_boolean()) return type_error(*node, key, "true or false");
    out = node->as_boolean()->get();
    return ok_status();
  }

  Status read_number(const char* key, double& out) {
    known_.push_back(key);
    const toml::node* node = table_.get(key);
    if (!node) return ok_status();
    if (node->is_integer()) {
      out = static_cast<double>(node->as_integer()->get());
    } else if (node->is_floating_point()) {
      out = node->as_floating_point()->get();
    } else {
      return type_error(*node, key, "a number");
    }
    return ok_status();
  }

  Status reject_unknown() const {
    for (const auto& [key, node] : table_) {
      bool known = false;
      for (const char* name : known_) known = known || key.str() == name;
      if (!known) {
        return config_error(source_name_, node,
                            "unknown setting '" + table_name_ + "." + std::string(key.str()) + "'");
      }
    }
    return ok_status();
  }

 private:
  Error type_error(const toml::node& node, const char* key, const char* expected) const {
    return config_error(source_name_, node,
                        "'" + table_name_ + "." + key + "' must be " + expected);
  }

  const toml::table& table_;
  std::string table_name_;
  std::string source_name_;
  std::vector<const char*> known_;
};

}  // namespace

std::string RbeeConfig::local_queen_url() const {
  return "http://127.0.0.1:" + std::to_string(queen.port);
}

Status RbeeConfig::validate() const {
  auto check_port = [](int port, const char* name) -> Status {
    if (port < 1 || port > 65535) {
      return make_error(
          ErrorCode::kInvalidArgument,
          std::string(name) + " must be between 1 and 65535, got " + std::to_string(port));
    }
    return ok_status();
  };
  RBEE_RETURN_IF_ERROR(check_port(queen.port, "queen.port"));
  RBEE_RETURN_IF_ERROR(check_port(hive.port, "hive.port"));
  if (!(hive.heartbeat_s >= 0.05 && hive.heartbeat_s <= 3600)) {
    return make_error(ErrorCode::kInvalidArgument,
                      "hive.heartbeat_s must be between 0.05 and 3600");
  }
  if (!(queen.job_retention_s >= 0)) {
    return make_error(ErrorCode::kInvalidArgument, "queen.job_retention_s must not be negative");
  }
  if (queen.max_finished_jobs < 1) {
    return make_error(ErrorCode::kInvalidArgument, "queen.max_finished_jobs must be at least 1");
  }
  if (!(downloads.stall_timeout_s >= 0.1 && downloads.stall_timeout_s <= 3600)) {
    return make_error(ErrorCode::kInvalidArgument,
                      "downloads.stall_timeout_s must be between 0.1 and 3600");
  }
  if (downloads.max_attempts < 1 || downloads.max_attempts > 100) {
    return make_error(ErrorCode::kInvalidArgument,
                      "downloads.max_attempts must be between 1 and 100");
  }
  if (const auto& endpoint = downloads.hf_endpoint; !endpoint.empty() && !is_http_url(endpoint)) {
    return make_error(
        ErrorCode::kInvalidArgument,
        "downloads.hf_endpoint must be an http:// or https:// URL, got '" + endpoint + "'");
  }
  RBEE_RETURN_IF_ERROR(check_port(workers.port_min, "workers.port_min"));
  RBEE_RETURN_IF_ERROR(check_port(workers.port_max, "workers.port_max"));
  if (workers.port_min > workers.port_max) {
    return make_error(ErrorCode::kInvalidArgument,
                      "workers.port_min must not be greater than workers.port_max");
  }
  if (!(workers.ready_timeout_s >= 0.1 && workers.ready_timeout_s <= 24 * 3600)) {
    return make_error(ErrorCode::kInvalidArgument,
                      "workers.ready_timeout_s must be between 0.1 and 86400");
  }
  if (!(workers.stop_grace_s >= 0 && workers.stop_grace_s <= 3600)) {
    return make_error(ErrorCode::kInvalidArgument,
                      "workers.stop_grace_s must be between 0 and 3600");
  }
  if (!(scheduler.idle_retire_s >= 0)) {
    return make_error(ErrorCode::kInvalidArgument, "scheduler.idle_retire_s must not be negative");
  }
  if (scheduler.max_queue_per_model < 0 || scheduler.max_queue_per_model > 100000) {
    return make_error(ErrorCode::kInvalidArgument,
                      "scheduler.max_queue_per_model must be between 0 and 100000");
  }
  if (!(scheduler.queue_timeout_s > 0)) {
    return make_error(ErrorCode::kInvalidArgument, "scheduler.queue_timeout_s must be positive");
  }
  if (scheduler.default_parallel < 1 || scheduler.default_parallel > 64) {
    return make_error(ErrorCode::kInvalidArgument,
                      "scheduler.default_parallel must be between 1 and 64");
  }
  if (scheduler.default_ctx < 0) {
    return make_error(ErrorCode::kInvalidArgument, "scheduler.default_ctx must not be negative");
  }
  if (hive.hive_id.empty()) {
    return make_error(ErrorCode::kInvalidArgument, "hive.hive_id must not be empty");
  }
  return ok_status();
}

Result<RbeeConfig> parse_config(const std::string& text, const std::string& source_name) {
  RBEE_ASSIGN_OR_RETURN(toml::table root, parse_toml(text, source_name));

  RbeeConfig config;
  for (const auto& [key, node] : root) {
    if (key.str() != "queen" && key.str() != "hive" && key.str() != "downloads" &&
        key.str() != "workers" && key.str() != "scheduler") {
      return config_error(source_name, node, "unknown section '" + std::string(key.str()) + "'");
    }
    if (!node.is_table()) {
      return config_error(source_name, node, "'" + std::string(key.str()) + "' must be a table");
    }
  }
  if (const toml::table* queen = root["queen"].as_table()) {
    TableReader reader(*queen, "queen", source_name);
    RBEE_RETURN_IF_ERROR(reader.read_string("host", config.queen.host));
    RBEE_RETURN_IF_ERROR(reader.read_int("port", config.queen.port));
    RBEE_RETURN_IF_ERROR(reader.read_number("job_retention_s", config.queen.job_retention_s));
    RBEE_RETURN_IF_ERROR(reader.read_int("max_finished_jobs", config.queen.max_finished_jobs));
    RBEE_RETURN_IF_ERROR(reader.read_string("ssh_config", config.queen.ssh_config));
    RBEE_RETURN_IF_ERROR(reader.reject_unknown());
  }
  if (const toml::table* hive = root["hive"].as_table()) {
    TableReader reader(*hive, "hive", source_name);
    RBEE_RETURN_IF_ERROR(reader.read_string("host", config.hive.host));
    RBEE_RETURN_IF_ERROR(reader.read_int("port", config.hive.port));
    RBEE_RETURN_IF_ERROR(reader.read_string("hive_id", config.hive.hive_id));
    RBEE_RETURN_IF_ERROR(reader.read_number("heartbeat_s", config.hive.heartbeat_s));
    RBEE_RETURN_IF_ERROR(reader.read_string("queen_url", config.hive.queen_url));
    RBEE_RETURN_IF_ERROR(reader.reject_unknown());
  }
  if (const toml::table* downloads = root["downloads"].as_table()) {
    TableReader reader(*downloads, "downloads", source_name);
    RBEE_RETURN_IF_ERROR(reader.read_number("stall_timeout_s", config.downloads.stall_timeout_s));
    RBEE_RETURN_IF_ERROR(reader.read_int("max_attempts", config.downloads.max_attempts));
    RBEE_RETURN_IF_ERROR(reader.read_string("hf_endpoint", config.downloads.hf_endpoint));
    RBEE_RETURN_IF_ERROR(reader.reject_unknown());
  }
  if (const toml::table* workers = root["workers"].as_table()) {
    TableReader reader(*workers, "workers", source_name);
    RBEE_RETURN_IF_ERROR(reader.read_int("port_min", config.workers.port_min));
    RBEE_RETURN_IF_ERROR(reader.read_int("port_max", config.workers.port_max));
    RBEE_RETURN_IF_ERROR(reader.read_number("ready_timeout_s", config.workers.ready_timeout_s));
    RBEE_RETURN_IF_ERROR(reader.read_number("stop_grace_s", config.workers.stop_grace_s));
    RBEE_RETURN_IF_ERROR(reader.read_bool("repack_weights", config.workers.repack_weights));
    RBEE_RETURN_IF_ERROR(reader.reject_unknown());
  }
  if (const toml::table* scheduler = root["scheduler"].as_table()) {
    TableReader reader(*scheduler, "scheduler", source_name);
    RBEE_RETURN_IF_ERROR(reader.read_number("idle_retire_s", config.scheduler.idle_retire_s));
    RBEE_RETURN_IF_ERROR(
        reader.read_int("max_queue_per_model", config.scheduler.max_queue_per_model));
    RBEE_RETURN_IF_ERROR(reader.read_number("queue_timeout_s", config.scheduler.queue_timeout_s));
    RBEE_RETURN_IF_ERROR(reader.read_int("default_parallel", config.scheduler.default_parallel));
    RBEE_RETURN_IF_ERROR(reader.read_int("default_ctx", config.scheduler.default_ctx));
    RBEE_RETURN_IF_ERROR(reader.reject_unknown());
  }
  if (auto status = config.validate(); !status) {
    return make_error(ErrorCode::kInvalidArgument, source_name + ": " + status.error().message);
  }
  return config;
}

Result<RbeeConfig> load_config(const std::filesystem::path& path) {
  auto text = read_file(path);
  if (!text) {
    if (text.error().code == ErrorCode::kNotFound) return RbeeConfig{};
    return std::move(text).error();
  }
  return parse_config(*text, path.string());
}

}  // namespace rbee

namespace rbee {
namespace {

bool is_name_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-';
}

Status remote_hive_error(const RemoteHiveConfig& hive, const std::string& what) {
  return make_error(ErrorCode::kInvalidArgument, "hive '" + hive.alias + "': " + what);
}

// TOML basic strings: quote and escape.
std::string toml_string(const std::string& text) {
  std::string out = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

}  // namespace

Status validate_remote_hive(const RemoteHiveConfig& hive) {
  bool alias_ok =
      !hive.alias.empty() && hive.alias.size() <= 64 && hive.alias != "." && hive.alias != "..";
  for (char c : hive.alias) alias_ok = alias_ok && is_name_char(c);
  if (!alias_ok) {
    return make_error(ErrorCode::kInvalidArgument,
                      "hive alias '" + hive.alias +
                          "' must be 1-64 characters of letters, digits, '.', '_' or '-'");
  }
  // Host and user go into an ssh command line as single arguments: no spaces, no option-like
  // leading '-', nothing a shell on the other side could read as syntax.
  bool host_ok = !hive.host.empty() && hive.host.size() <= 253 && hive.host[0] != '-';
  for (char c : hive.host) host_ok = host_ok && (is_name_char(c) || c == ':' || c == '%');
  if (!host_ok)
    return remote_hive_error(hive, "host '" + hive.host + "' is not a host name or address");
  bool user_ok = hive.user.size() <= 32 && (hive.user.empty() || hive.user[0] != '-');
  for (char c : hive.user) user_ok = user_ok && is_name_char(c);
  if (!user_ok) return remote_hive_error(hive, "user '" + hive.user + "' is not a user name");
  if (hive.ssh_port < 1 || hive.ssh_port > 65535) {
    return remote_hive_error(hive, "ssh_port must be between 1 and 65535");
  }
  if (hive.hive_port < 1 || hive.hive_port > 65535) {
    return remote_hive_error(hive, "hive_port must be between 1 and 65535");
  }
  for (char c : hive.identity_file) {
    if (static_cast<unsigned char>(c) < 0x20) {
      return remote_hive_error(hive, "identity_file contains a control character");
    }
  }
  if (!hive.queen_url.empty() && !is_http_url(hive.queen_url)) {
    return remote_hive_error(hive, "queen_url must be an http:// or https:// URL");
  }
  return ok_status();
}

Result<std::vector<RemoteHiveConfig>> parse_hives_file(const std::string& text,
                                                       const std::string& source_name) {
  RBEE_ASSIGN_OR_RETURN(toml::table root, parse_toml(text, source_name));
  std::vector<RemoteHiveConfig> hives;
  for (const auto& [key, node] : root) {
    if (key.str() != "hives") {
      return config_error(
          source_name, node,
          "unknown section '" + std::string(key.str()) + "' (entries are [hives.<alias>])");
    }
  }
  const toml::table* table = root["hives"].as_table();
  if (!table) return hives;
  for (const auto& [alias, node] : *table) {
    const toml::table* entry = node.as_table();
    if (!entry) {
      return config_error(source_name, node,
                          "'hives." + std::string(alias.str()) + "' must be a table");
    }
    RemoteHiveConfig hive;
    hive.alias = std::string(alias.str());
    TableReader reader(*entry, "hives." + hive.alias, source_name);
    RBEE_RETURN_IF_ERROR(reader.read_string("host", hive.host));
    RBEE_RETURN_IF_ERROR(reader.read_string("user", hive.user));
    RBEE_RETURN_IF_ERROR(reader.read_int("ssh_port", hive.ssh_port));
    RBEE_RETURN_IF_ERROR(reader.read_string("identity_file", hive.identity_file));
    RBEE_RETURN_IF_ERROR(reader.read_int("hive_port", hive.hive_port));
    RBEE_RETURN_IF_ERROR(reader.read_string("queen_url", hive.queen_url));
    RBEE_RETURN_IF_ERROR(reader.reject_unknown());
    if (auto valid = validate_remote_hive(hive); !valid) {
      return config_error(source_name, node, valid.error().message);
    }
    hives.push_back(std::move(hive));
  }
  std::sort(hives.begin(), hives.end(),
            [](const auto& a, const auto& b) { return a.alias < b.alias; });
  return hives;
}

Result<std::vector<RemoteHiveConfig>> load_hives_file(const std::filesystem::path& path) {
  auto text = read_file(path);
  if (!text) {
    if (text.error().code == ErrorCode::kNotFound) return std::vector<RemoteHiveConfig>{};
    return std::move(text).error();
  }
  return parse_hives_file(*text, path.string());
}

std::string format_hives_file(const std::vector<RemoteHiveConfig>& hives) {
  std::string out = "# Remote hives: `rbee hive add|remove` edit this file.\n";
  for (const auto& hive : hives) {
    out += "\n[hives." + hive.alias + "]\n";
    out += "host = " + toml_string(hive.host) + "\n";
    if (!hive.user.empty()) out += "user = " + toml_string(hive.user) + "\n";
    out += "ssh_port = " + std::to_string(hive.ssh_port) + "\n";
    if (!hive.identity_file.empty()) {
      out += "identity_file = " + toml_string(hive.identity_file) + "\n";
    }
    out += "hive_port = " + std::to_string(hive.hive_port) + "\n";
    if (!hive.queen_url.empty()) out += "queen_url = " + toml_string(hive.queen_url) + "\n";
  }
  return out;
}

Status save_hives_file(const std::filesystem::path& path,
                       const std::vector<RemoteHiveConfig>& hives) {
  for (const auto& hive : hives) RBEE_RETURN_IF_ERROR(validate_remote_hive(hive));
  return write_file_atomic(path, format_hives_file(hives));
}

}  // namespace rbee
