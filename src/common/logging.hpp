#pragma once

// One named spdlog logger per component ("queen", "hive", "http", "jobs", "cli").

#include <memory>
#include <string>

namespace spdlog {
class logger;
}

namespace rbee {

// The component's logger (created on first use, writing to stderr). Thread-safe.
std::shared_ptr<spdlog::logger> logger(const std::string& component);

// Sets the level of every logger by name ("trace".."off"); unknown names keep "info".
void set_log_level(const std::string& level);

}  // namespace rbee
