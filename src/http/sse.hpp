#pragma once

// Server-sent events (the WHATWG `text/event-stream` format): formatting on the server side
// and an incremental parser on the client side.

#include <functional>
#include <string>
#include <string_view>

namespace rbee::http {

struct SseEvent {
  std::string id;     // `id:` (empty when absent)
  std::string event;  // `event:` (empty means "message")
  std::string data;   // `data:` lines joined with '\n'
};

// One event as wire text, ending in the blank line. Multi-line data becomes several
// `data:` lines; CR and LF are never left inside a field.
std::string format_sse_event(const SseEvent& event);

// A comment line that keeps idle connections alive and lets either side notice a dead peer.
inline constexpr std::string_view kSseKeepAlive = ": keep-alive\n\n";

// Feeds arbitrary chunks of a stream; calls `on_event` for each complete event. Comments
// are skipped; LF, CR and CRLF line ends are all accepted. Not thread-safe.
class SseParser {
 public:
  using EventCallback = std::function<bool(SseEvent&&)>;  // false = stop

  // Returns false once a callback returned false.
  bool feed(std::string_view chunk, const EventCallback& on_event);

 private:
  bool take_line(std::string_view line, const EventCallback& on_event);

  std::string buffer_;
  SseEvent pending_;
  bool has_data_ = false;
  bool last_was_cr_ = false;
};

}  // namespace rbee::http
