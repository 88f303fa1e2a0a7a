#include "lifecycle/proc_info.hpp"

#include <unistd.h>

#include <charconv>
#include <fstream>

#include "common/files.hpp"

namespace rbee::lifecycle {
namespace {

constexpr size_t kTailBytes = 64 * 1024;

std::filesystem::path proc_path(pid_t pid, const char* name) {
  return std::filesystem::path("/proc") / std::to_string(pid) / name;
}

// The space-separated fields after the command name, so that fields()[0] is field 3 (state).
// The name (field 2) is in parentheses and may itself hold spaces and parentheses, hence the
// last ')'.
Result<std::vector<std::string_view>> stat_fields(const std::string& stat) {
  size_t paren = stat.rfind(')');
  if (paren == std::string::npos || paren + 2 >= stat.size()) {
    return make_error(ErrorCode::kInternal, "unexpected /proc stat format");
  }
  std::vector<std::string_view> fields;
  std::string_view rest(stat);
  rest.remove_prefix(paren + 2);
  while (!rest.empty()) {
    size_t space = rest.find_first_of(" \n");
    fields.push_back(rest.substr(0, space));
    if (space == std::string_view::npos) break;
    rest.remove_prefix(space + 1);
  }
  if (fields.size() < 22) return make_error(ErrorCode::kInternal, "short /proc stat line");
  return fields;
}

template <typename T>
T number(std::string_view text) {
  T value{};
  std::from_chars(text.data(), text.data() + text.size(), value);
  return value;
}

// field N of proc(5) is fields[N - 3].
std::string_view field(const std::vector<std::string_view>& fields, size_t n) {
  return fields[n - 3];
}

Result<std::string> read_stat(pid_t pid) {
  if (pid <= 0) return make_error(ErrorCode::kNotFound, "no process " + std::to_string(pid));
  auto stat = read_file(proc_path(pid, "stat"));
  if (!stat) {
    return make_error(ErrorCode::kNotFound, "no process with pid " + std::to_string(pid));
  }
  return stat;
}

double seconds_since_boot() {
  auto uptime = read_file("/proc/uptime");
  if (!uptime) return 0;
  double seconds = 0;
  std::from_chars(uptime->data(), uptime->data() + uptime->size(), seconds);
  return seconds;
}

}  // namespace

Result<ProcessInfo> read_process_info(pid_t pid) {
  RBEE_ASSIGN_OR_RETURN(std::string stat, read_stat(pid));
  RBEE_ASSIGN_OR_RETURN(auto fields, stat_fields(stat));
  static const double ticks_per_s = static_cast<double>(::sysconf(_SC_CLK_TCK));
  static const int64_t page_bytes = ::sysconf(_SC_PAGESIZE);
  ProcessInfo info;
  info.pid = pid;
  info.state = field(fields, 3).empty() ? '?' : field(fields, 3).front();
  info.parent_pid = number<pid_t>(field(fields, 4));
  info.process_group = number<pid_t>(field(fields, 5));
  auto cpu_ticks = number<uint64_t>(field(fields, 14)) + number<uint64_t>(field(fields, 15));
  info.cpu_time_s = static_cast<double>(cpu_ticks) / ticks_per_s;
  info.start_ticks = number<uint64_t>(field(fields, 22));
  info.rss_bytes = number<int64_t>(field(fields, 24)) * page_bytes;
  info.uptime_s =
      std::max(0.0, seconds_since_boot() - static_cast<double>(info.start_ticks) / ticks_per_s);
  if (auto cmdline = read_file(proc_path(pid, "cmdline"))) {
    std::string_view rest(*cmdline);
    while (!rest.empty()) {
      size_t end = rest.find('\0');
      info.cmdline.emplace_back(rest.substr(0, end));
      if (end == std::string_view::npos) break;
      rest.remove_prefix(end + 1);
    }
  }
  return info;
}

Result<uint64_t> process_start_ticks(pid_t pid) {
  RBEE_ASSIGN_OR_RETURN(std::string stat, read_stat(pid));
  RBEE_ASSIGN_OR_RETURN(auto fields, stat_fields(stat));
  return number<uint64_t>(field(fields, 22));
}

std::vector<std::string> last_lines(const std::filesystem::path& path, size_t n_lines) {
  std::ifstream in(path, std::ios::binary);
  if (!in || n_lines == 0) return {};
  in.seekg(0, std::ios::end);
  auto size = static_cast<size_t>(std::max<std::streamoff>(0, in.tellg()));
  size_t start = size > kTailBytes ? size - kTailBytes : 0;
  in.seekg(static_cast<std::streamoff>(start));
  std::string text(size - start, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<size_t>(in.gcount()));
  std::vector<std::string> lines;
  size_t begin = 0;
  // A cut first line (we started mid-file) is dropped.
  if (start > 0) begin = text.find('\n') == std::string::npos ? text.size() : text.find('\n') + 1;
  while (begin < text.size()) {
    size_t end = text.find('\n', begin);
    if (end == std::string::npos) end = text.size();
    lines.push_back(text.substr(begin, end - begin));
    begin = end + 1;
  }
  if (lines.size() > n_lines) lines.erase(lines.begin(), lines.end() - static_cast<long>(n_lines));
  return lines;
}

}  // namespace rbee::lifecycle
