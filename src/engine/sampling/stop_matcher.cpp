#include "engine/sampling/stop_matcher.hpp"

#include <algorithm>

namespace rbee::engine {

StopMatcher::StopMatcher(std::vector<std::string> stop_strings) {
  for (auto& stop : stop_strings) {
    if (!stop.empty()) stop_strings_.push_back(std::move(stop));
  }
}

std::string StopMatcher::feed(std::string_view text) {
  if (stopped_) return "";
  pending_ += text;
  // The earliest complete stop string wins.
  size_t stop_at = std::string::npos;
  for (const auto& stop : stop_strings_) {
    size_t found = pending_.find(stop);
    if (found < stop_at) {
      stop_at = found;
      matched_ = stop;
    }
  }
  if (stop_at != std::string::npos) {
    stopped_ = true;
    std::string out = pending_.substr(0, stop_at);
    pending_.clear();
    return out;
  }
  // Hold back the longest tail that is a prefix of some stop string.
  size_t hold = 0;
  for (const auto& stop : stop_strings_) {
    size_t max_len = std::min(stop.size() - 1, pending_.size());
    for (size_t len = max_len; len > hold; --len) {
      if (pending_.compare(pending_.size() - len, len, stop, 0, len) == 0) {
        hold = len;
        break;
      }
    }
  }
  std::string out = pending_.substr(0, pending_.size() - hold);
  pending_.erase(0, pending_.size() - hold);
  return out;
}

std::string StopMatcher::flush() {
  std::string out = stopped_ ? std::string() : pending_;
  pending_.clear();
  return out;
}

}  // namespace rbee::engine
