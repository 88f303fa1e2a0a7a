#pragma once

// Stop strings over streamed text. Generated text arrives piece by piece; a stop string may
// straddle pieces, so the matcher holds back the longest tail that could still start one and
// releases it once it cannot. What it releases never contains (part of) a stop string.

#include <string>
#include <string_view>
#include <vector>

namespace rbee::engine {

class StopMatcher {
 public:
  explicit StopMatcher(std::vector<std::string> stop_strings);

  // Adds generated text. Returns the text that is now safe to show. After a stop string was
  // found, stopped() is true and the returned text ends right before it.
  std::string feed(std::string_view text);
  // The held-back tail, at the end of generation (nothing when stopped).
  std::string flush();
  bool stopped() const { return stopped_; }
  // Which stop string matched (empty when none).
  const std::string& matched() const { return matched_; }

 private:
  std::vector<std::string> stop_strings_;
  std::string pending_;
  bool stopped_ = false;
  std::string matched_;
};

}  // namespace rbee::engine
