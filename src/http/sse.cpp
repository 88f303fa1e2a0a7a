#include "http/sse.hpp"

namespace rbee::http {
namespace {

std::string single_line(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) out.push_back(c == '\n' || c == '\r' ? ' ' : c);
  return out;
}

}  // namespace

std::string format_sse_event(const SseEvent& event) {
  std::string out;
  if (!event.id.empty()) out += "id: " + single_line(event.id) + "\n";
  if (!event.event.empty()) out += "event: " + single_line(event.event) + "\n";
  size_t start = 0;
  while (true) {
    size_t end = event.data.find('\n', start);
    std::string_view line =
        std::string_view(event.data)
            .substr(start, end == std::string::npos ? std::string::npos : end - start);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    out += "data: ";
    out += line;
    out += "\n";
    if (end == std::string::npos) break;
    start = end + 1;
  }
  out += "\n";
  return out;
}

bool SseParser::feed(std::string_view chunk, const EventCallback& on_event) {
  for (char c : chunk) {
    if (c == '\n' && last_was_cr_) {  // the LF of a CRLF pair
      last_was_cr_ = false;
      continue;
    }
    last_was_cr_ = (c == '\r');
    if (c == '\n' || c == '\r') {
      std::string line = std::move(buffer_);
      buffer_.clear();
      if (!take_line(line, on_event)) return false;
    } else {
      buffer_.push_back(c);
    }
  }
  return true;
}

bool SseParser::take_line(std::string_view line, const EventCallback& on_event) {
  if (line.empty()) {  // dispatch
    if (!has_data_) {
      pending_ = SseEvent{};
      return true;
    }
    SseEvent event = std::move(pending_);
    pending_ = SseEvent{};
    has_data_ = false;
    return on_event(std::move(event));
  }
  if (line.front() == ':') return true;  // comment
  size_t colon = line.find(':');
  std::string_view field = line.substr(0, colon);
  std::string_view value =
      colon == std::string_view::npos ? std::string_view() : line.substr(colon + 1);
  if (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  if (field == "data") {
    if (has_data_) pending_.data.push_back('\n');
    pending_.data += value;
    has_data_ = true;
  } else if (field == "event") {
    pending_.event = value;
  } else if (field == "id") {
    pending_.id = value;
  }
  return true;
}

}  // namespace rbee::http
