#include "provision/download.hpp"

#include <curl/curl.h>
#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <deque>
#include <mutex>
#include <nlohmann/json.hpp>

#include "common/clock.hpp"
#include "common/logging.hpp"
#include "common/sha256.hpp"

namespace rbee::provision {
namespace {

constexpr size_t kMaxErrorBodyBytes = 64 * 1024;
constexpr int kPollIntervalMs = 100;  // how late a cancel or a stall can be noticed, at most
constexpr int64_t kProgressIntervalMs = 50;

void ensure_curl_initialized() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

std::string_view trim(std::string_view text) {
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front()))) {
    text.remove_prefix(1);
  }
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) {
    text.remove_suffix(1);
  }
  return text;
}

std::optional<uint64_t> parse_u64(std::string_view text) {
  text = trim(text);
  if (text.empty() || text.size() > 19) return std::nullopt;
  uint64_t value = 0;
  for (char c : text) {
    if (!std::isdigit(static_cast<unsigned char>(c))) return std::nullopt;
    value = value * 10 + static_cast<uint64_t>(c - '0');
  }
  return value;
}

std::string header_in(const std::vector<std::pair<std::string, std::string>>& headers,
                      std::string_view name) {
  for (const auto& [key, value] : headers) {
    if (iequals(key, name)) return value;
  }
  return "";
}

// `Content-Range: bytes 100-199/1000`, or `bytes */1000` on a 416.
struct ContentRange {
  std::optional<uint64_t> first;  // absent for "*/total"
  std::optional<uint64_t> total;  // absent for ".../*"
};

std::optional<ContentRange> parse_content_range(std::string_view text) {
  text = trim(text);
  if (text.substr(0, 6) != "bytes ") return std::nullopt;
  text.remove_prefix(6);
  auto slash = text.find('/');
  if (slash == std::string_view::npos) return std::nullopt;
  ContentRange range;
  auto span = text.substr(0, slash);
  auto total = text.substr(slash + 1);
  if (total != "*") {
    range.total = parse_u64(total);
    if (!range.total) return std::nullopt;
  }
  if (span != "*") {
    auto dash = span.find('-');
    if (dash == std::string_view::npos) return std::nullopt;
    range.first = parse_u64(span.substr(0, dash));
    if (!range.first || !parse_u64(span.substr(dash + 1))) return std::nullopt;
  }
  return range;
}

// The error text a server put in its answer: X-Error-Message, the body's "error" (HuggingFace
// `{"error":"..."}` or rbee `{"error":{"message":...}}`), else the start of the body.
std::string server_message(const std::vector<std::pair<std::string, std::string>>& headers,
                           const std::string& body) {
  if (auto header = header_in(headers, "X-Error-Message"); !header.empty()) return header;
  auto json = nlohmann::json::parse(body, nullptr, false);
  if (!json.is_discarded() && json.is_object() && json.contains("error")) {
    const auto& error = json["error"];
    if (error.is_string()) return error.get<std::string>();
    if (error.is_object() && error.contains("message") && error["message"].is_string()) {
      return error["message"].get<std::string>();
    }
  }
  std::string text(trim(body.substr(0, 200)));
  for (char& c : text) {
    if (static_cast<unsigned char>(c) < 0x20) c = ' ';
  }
  return text;
}

bool is_retryable_status(long status) {
  return status == 408 || status == 429 || status == 500 || status == 502 || status == 503 ||
         status == 504;
}

std::chrono::milliseconds to_ms(double seconds) {
  return std::chrono::milliseconds(
      static_cast<int64_t>(std::llround(std::max(0.0, seconds) * 1e3)));
}

// Sleeps unless stopped; false when the stop came.
bool sleep_unless_stopped(double seconds, std::stop_token stop) {
  std::mutex mu;
  std::condition_variable_any wakeup;
  std::unique_lock lock(mu);
  wakeup.wait_for(lock, stop, to_ms(seconds), [] { return false; });
  return !stop.stop_requested();
}

// ---- one HTTP exchange over libcurl -------------------------------------------------------

// What the callbacks of one attempt share. Reset for every attempt.
struct Exchange {
  std::stop_token stop;
  int64_t stall_timeout_ms = 30000;
  bool follow_redirects = true;

  // The response being received (each redirect hop starts a new one).
  long status = 0;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string error_body;  // body of a non-2xx final answer, capped

  // Hooks: the final answer's headers are complete; body bytes of a 2xx answer. Returning
  // false aborts the transfer; the hook then sets `failure`.
  std::function<bool()> on_final_headers;
  std::function<bool(const char*, size_t)> on_body;
  // Called between polls (at least every 100 ms): progress keeps flowing while nothing arrives.
  std::function<void()> on_idle;

  int64_t last_activity_ms = 0;
  std::string effective_url;  // after redirects
  bool cancelled = false;
  bool stalled = false;
  std::optional<Error> failure;  // set by a hook that aborted

  std::string header(std::string_view name) const { return header_in(headers, name); }
  bool is_success() const { return status >= 200 && status < 300; }
  bool check_stop_and_stall() {
    if (stop.stop_requested()) cancelled = true;
    if (now_steady_ms() - last_activity_ms > stall_timeout_ms) stalled = true;
    return cancelled || stalled;
  }
};

size_t on_header_line(char* data, size_t size, size_t count, void* context) {
  auto& exchange = *static_cast<Exchange*>(context);
  size_t n = size * count;
  exchange.last_activity_ms = now_steady_ms();
  std::string_view line(data, n);
  if (line.substr(0, 5) == "HTTP/") {
    exchange.status = 0;
    exchange.headers.clear();
    exchange.error_body.clear();
    auto space = line.find(' ');
    if (space != std::string_view::npos) {
      exchange.status = static_cast<long>(parse_u64(line.substr(space + 1, 3)).value_or(0));
    }
    return n;
  }
  auto text = trim(line);
  if (text.empty()) {
    bool redirect = exchange.status >= 300 && exchange.status < 400 &&
                    !exchange.header("Location").empty() && exchange.follow_redirects;
    if (!redirect && exchange.is_success() && exchange.on_final_headers &&
        !exchange.on_final_headers()) {
      return 0;  // aborts the transfer
    }
    return n;
  }
  auto colon = text.find(':');
  if (colon != std::string_view::npos) {
    exchange.headers.emplace_back(std::string(trim(text.substr(0, colon))),
                                  std::string(trim(text.substr(colon + 1))));
  }
  return n;
}

size_t on_body_bytes(char* data, size_t size, size_t count, void* context) {
  auto& exchange = *static_cast<Exchange*>(context);
  size_t n = size * count;
  exchange.last_activity_ms = now_steady_ms();
  if (!exchange.is_success()) {
    size_t room = kMaxErrorBodyBytes - std::min(kMaxErrorBodyBytes, exchange.error_body.size());
    exchange.error_body.append(data, std::min(room, n));
    return n;
  }
  if (exchange.on_body && !exchange.on_body(data, n)) return 0;  // CURL_WRITEFUNC_ERROR
  return n;
}

int on_transfer_info(void* context, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  // Also checked between polls below; here it ends a transfer that keeps curl busy.
  return static_cast<Exchange*>(context)->check_stop_and_stall() ? 1 : 0;
}

struct CurlEasy {
  CURL* handle = curl_easy_init();
  curl_slist* header_list = nullptr;
  char error_text[CURL_ERROR_SIZE] = {};
  ~CurlEasy() {
    curl_slist_free_all(header_list);
    if (handle != nullptr) curl_easy_cleanup(handle);
  }
};

struct TransferSetup {
  std::string method = "GET";
  std::string url;
  std::vector<std::string> headers;
  bool follow_redirects = true;
  bool decompress = false;   // JSON APIs may be compressed; file bytes must arrive as stored
  uint64_t resume_from = 0;  // sends `Range: bytes=N-` when > 0
};

enum class Outcome {
  kFinished,   // an answer arrived in full (any status)
  kCancelled,  // stop requested
  kStalled,    // no byte for stall_timeout_s
  kAborted,    // a hook gave up: exchange.failure says why
  kFailed,     // transport error: `problem` says which
};

struct AttemptResult {
  Outcome outcome = Outcome::kFailed;
  std::string problem;
};

void set_common_options(CurlEasy& easy, const TransferSetup& setup, Exchange& exchange,
                        const TransferOptions& options) {
  CURL* h = easy.handle;
  curl_easy_setopt(h, CURLOPT_URL, setup.url.c_str());
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, easy.error_text);
  curl_easy_setopt(h, CURLOPT_USERAGENT, "rbee/" RBEE_VERSION);
  curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, setup.follow_redirects ? 1L : 0L);
  curl_easy_setopt(h, CURLOPT_MAXREDIRS, 10L);
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS,
                   static_cast<long>(to_ms(options.connect_timeout_s).count()));
  curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
  curl_easy_setopt(h, CURLOPT_BUFFERSIZE, 256L * 1024);
  if (setup.decompress) curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, "");
  if (setup.method == "HEAD") curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
  std::string range;
  if (setup.resume_from > 0) {
    range = std::to_string(setup.resume_from) + "-";
    curl_easy_setopt(h, CURLOPT_RANGE, range.c_str());  // copied by curl
  }
  for (const auto& line : setup.headers) {
    easy.header_list = curl_slist_append(easy.header_list, line.c_str());
  }
  if (easy.header_list != nullptr) curl_easy_setopt(h, CURLOPT_HTTPHEADER, easy.header_list);
  curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header_line);
  curl_easy_setopt(h, CURLOPT_HEADERDATA, &exchange);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body_bytes);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &exchange);
  curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_transfer_info);
  curl_easy_setopt(h, CURLOPT_XFERINFODATA, &exchange);
}

// Runs one request to its end. A multi handle polled every 100 ms (and woken at once by a stop
// request) notices cancels and stalls promptly even while no byte moves.
AttemptResult run_attempt(const TransferSetup& setup, Exchange& exchange,
                          const TransferOptions& options) {
  CurlEasy easy;
  CURLM* multi = curl_multi_init();
  if (easy.handle == nullptr || multi == nullptr) {
    if (multi != nullptr) curl_multi_cleanup(multi);
    return {Outcome::kFailed, "cannot create a curl handle"};
  }
  set_common_options(easy, setup, exchange, options);
  exchange.last_activity_ms = now_steady_ms();
  curl_multi_add_handle(multi, easy.handle);
  CURLcode code = CURLE_OK;
  bool finished = false;
  {
    std::stop_callback wake(exchange.stop, [multi] { curl_multi_wakeup(multi); });
    while (true) {
      int running = 0;
      if (curl_multi_perform(multi, &running) != CURLM_OK) break;
      if (running == 0) {
        int queued = 0;
        while (CURLMsg* message = curl_multi_info_read(multi, &queued)) {
          if (message->msg == CURLMSG_DONE) {
            code = message->data.result;
            finished = true;
          }
        }
        break;
      }
      if (exchange.check_stop_and_stall()) break;
      if (exchange.on_idle) exchange.on_idle();
      curl_multi_poll(multi, nullptr, 0, kPollIntervalMs, nullptr);
    }
  }
  char* effective_url = nullptr;
  if (curl_easy_getinfo(easy.handle, CURLINFO_EFFECTIVE_URL, &effective_url) == CURLE_OK &&
      effective_url != nullptr) {
    exchange.effective_url = effective_url;
  }
  curl_multi_remove_handle(multi, easy.handle);
  curl_multi_cleanup(multi);

  if (exchange.cancelled) return {Outcome::kCancelled, "cancelled"};
  if (exchange.stalled) {
    char text[64];
    std::snprintf(text, sizeof(text), "no data for %.1f s",
                  static_cast<double>(exchange.stall_timeout_ms) / 1000.0);
    return {Outcome::kStalled, text};
  }
  if (exchange.failure) return {Outcome::kAborted, exchange.failure->message};
  if (finished && code == CURLE_OK) return {Outcome::kFinished, ""};
  std::string problem = easy.error_text[0] != '\0' ? easy.error_text : curl_easy_strerror(code);
  return {Outcome::kFailed, problem};
}

// ---- the partial file ----------------------------------------------------------------------

class PartialFile {
 public:
  PartialFile() = default;
  ~PartialFile() { close(); }
  PartialFile(const PartialFile&) = delete;
  PartialFile& operator=(const PartialFile&) = delete;

  Status open(const std::filesystem::path& path) {
    path_ = path;
    fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd_ < 0) return failure("cannot open", errno);
    // Two writers would interleave their bytes; the second one is told instead.
    if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
      int err = errno;
      close();
      if (err == EWOULDBLOCK) {
        return make_error(ErrorCode::kFailedPrecondition,
                          "another download is already writing " + path.string());
      }
      return failure("cannot lock", err);
    }
    struct stat info {};
    if (::fstat(fd_, &info) != 0) return failure("cannot stat", errno);
    size_ = static_cast<uint64_t>(info.st_size);
    return ok_status();
  }

  uint64_t size() const { return size_; }
  const std::filesystem::path& path() const { return path_; }

  Status write(const char* data, size_t n) {
    while (n > 0) {
      ssize_t written = ::pwrite(fd_, data, n, static_cast<off_t>(size_));
      if (written < 0 && errno == EINTR) continue;
      if (written < 0) {
        int err = errno;
        if (err == ENOSPC || err == EDQUOT) {
          return make_error(ErrorCode::kResourceExhausted,
                            "the disk is full: writing " + path_.string() + " failed after " +
                                describe_bytes(size_) +
                                " (kept for a later resume: free some space and retry)");
        }
        return failure("cannot write", err);
      }
      size_ += static_cast<uint64_t>(written);
      data += written;
      n -= static_cast<size_t>(written);
    }
    return ok_status();
  }

  Status truncate() {
    if (::ftruncate(fd_, 0) != 0) return failure("cannot truncate", errno);
    size_ = 0;
    return ok_status();
  }

  // Feeds the first size() bytes to `hasher` (a resumed download's earlier bytes).
  Status hash_into(Sha256& hasher, std::stop_token stop) const {
    std::vector<char> buffer(1 << 20);
    uint64_t offset = 0;
    while (offset < size_) {
      if (stop.stop_requested()) {
        return make_error(ErrorCode::kCancelled, "cancelled while checking " + path_.string());
      }
      size_t want = static_cast<size_t>(std::min<uint64_t>(buffer.size(), size_ - offset));
      ssize_t n = ::pread(fd_, buffer.data(), want, static_cast<off_t>(offset));
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return failure("cannot read", errno);
      if (n == 0) return make_error(ErrorCode::kInternal, path_.string() + " shrank while read");
      hasher.update(buffer.data(), static_cast<size_t>(n));
      offset += static_cast<uint64_t>(n);
    }
    return ok_status();
  }

  // fsync, then rename onto dest and fsync its folder: the file is never half-visible.
  Status commit(const std::filesystem::path& dest) {
    if (::fsync(fd_) != 0) return failure("cannot sync", errno);
    if (::rename(path_.c_str(), dest.c_str()) != 0) {
      int err = errno;
      return make_error(ErrorCode::kInternal, "cannot rename " + path_.string() + " to " +
                                                  dest.string() + ": " + std::strerror(err));
    }
    close();
    auto folder = dest.parent_path().empty() ? std::filesystem::path(".") : dest.parent_path();
    int dir_fd = ::open(folder.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir_fd >= 0) {
      ::fsync(dir_fd);
      ::close(dir_fd);
    }
    return ok_status();
  }

  void discard() {
    close();
    ::unlink(path_.c_str());
  }

  void close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }
  bool is_open() const { return fd_ >= 0; }

 private:
  Error failure(const char* what, int err) const {
    return make_error(ErrorCode::kInternal,
                      std::string(what) + " " + path_.string() + ": " + std::strerror(err));
  }

  std::filesystem::path path_;
  int fd_ = -1;
  uint64_t size_ = 0;
};

Status check_free_space(const std::filesystem::path& folder, uint64_t needed,
                        const std::string& label) {
  struct statvfs info {};
  if (::statvfs(folder.c_str(), &info) != 0) return ok_status();  // unknown: writes will tell
  uint64_t available = static_cast<uint64_t>(info.f_bavail) * info.f_frsize;
  if (needed <= available) return ok_status();
  return make_error(ErrorCode::kResourceExhausted,
                    "not enough disk space for " + label + " in " + folder.string() + ": needs " +
                        describe_bytes(needed) + " more, " + describe_bytes(available) + " free");
}

// Rate and ETA over a sliding window of recent samples.
class ProgressMeter {
 public:
  explicit ProgressMeter(const ProgressFn& callback) : callback_(callback) {}

  void set_total(uint64_t total) { total_ = total; }
  void restart() { samples_.clear(); }

  void report(uint64_t done, bool force) {
    if (!callback_) return;
    int64_t now = now_steady_ms();
    if (!force && now - last_report_ms_ < kProgressIntervalMs) return;
    last_report_ms_ = now;
    if (samples_.empty() || now - samples_.back().first >= 100) samples_.emplace_back(now, done);
    while (samples_.size() > 1 && now - samples_.front().first > kWindowMs) samples_.pop_front();
    Progress progress;
    progress.bytes_done = done;
    progress.bytes_total = total_;
    double elapsed_s = static_cast<double>(now - samples_.front().first) / 1000.0;
    if (elapsed_s >= 0.2 && done >= samples_.front().second) {
      progress.bytes_per_s = static_cast<double>(done - samples_.front().second) / elapsed_s;
    }
    if (total_ > 0 && done >= total_) {
      progress.eta_s = 0;
    } else if (total_ > 0 && progress.bytes_per_s > 0) {
      progress.eta_s = static_cast<double>(total_ - done) / progress.bytes_per_s;
    }
    callback_(progress);
  }

 private:
  static constexpr int64_t kWindowMs = 5000;
  const ProgressFn& callback_;
  uint64_t total_ = 0;
  int64_t last_report_ms_ = -kProgressIntervalMs;
  std::deque<std::pair<int64_t, uint64_t>> samples_;
};

Error default_failure_error(const HttpFailure& failure) {
  return make_error(failure.status == 401 || failure.status == 403 ? ErrorCode::kUnauthenticated
                    : failure.status == 404                        ? ErrorCode::kNotFound
                                                                   : ErrorCode::kInternal,
                    "HTTP " + std::to_string(failure.status) + " from " + failure.url +
                        (failure.message.empty() ? "" : ": " + failure.message));
}

std::optional<double> retry_after_s(const Exchange& exchange) {
  auto value = parse_u64(exchange.header("Retry-After"));
  if (!value) return std::nullopt;
  return static_cast<double>(*value);
}

// Counts fruitless attempts and waits between them (doubling, capped; Retry-After honoured
// up to the cap).
class RetryPolicy {
 public:
  explicit RetryPolicy(const TransferOptions& options)
      : options_(options), backoff_s_(options.initial_backoff_s) {}

  // After a failed attempt: false when the caller should give up. `made_progress`: the attempt
  // brought new bytes, which resets the count and the backoff.
  bool should_retry(bool made_progress) {
    if (made_progress) {
      fruitless_ = 0;
      backoff_s_ = options_.initial_backoff_s;
      return true;
    }
    return ++fruitless_ < std::max(1, options_.max_attempts);
  }
  // Waits before the next attempt; false when stopped meanwhile.
  bool wait(std::stop_token stop, std::optional<double> server_hint_s) {
    double wait_s = backoff_s_;
    if (server_hint_s) wait_s = std::max(wait_s, *server_hint_s);
    wait_s = std::min(wait_s, options_.max_backoff_s);
    backoff_s_ = std::min(backoff_s_ * 2, options_.max_backoff_s);
    return sleep_unless_stopped(wait_s, stop);
  }
  int attempts() const { return fruitless_; }

 private:
  const TransferOptions& options_;
  double backoff_s_;
  int fruitless_ = 0;
};

}  // namespace

std::filesystem::path partial_path(const std::filesystem::path& dest) {
  auto part = dest;
  part += ".part";
  return part;
}

std::string host_of(std::string_view url) {
  auto scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos) return std::string(url);
  auto rest = url.substr(scheme_end + 3);
  rest = rest.substr(0, rest.find_first_of("/?#"));
  if (auto at = rest.rfind('@'); at != std::string_view::npos) rest.remove_prefix(at + 1);
  return std::string(rest);
}

std::string describe_bytes(uint64_t bytes) {
  static constexpr const char* kUnits[] = {"KiB", "MiB", "GiB", "TiB", "PiB"};
  if (bytes < 1024) return std::to_string(bytes) + " bytes";
  double value = static_cast<double>(bytes);
  int unit = -1;
  while (value >= 1024 && unit < 4) {
    value /= 1024;
    ++unit;
  }
  char text[64];
  std::snprintf(text, sizeof(text), "%.1f %s (%llu bytes)", value, kUnits[unit],
                static_cast<unsigned long long>(bytes));
  return text;
}

std::string HttpResponse::header(std::string_view name) const {
  return header_in(headers, name);
}

HttpFailure http_failure_of(const std::string& url, const HttpResponse& response) {
  return HttpFailure{url, response.status, response.header("X-Error-Code"),
                     server_message(response.headers, response.body)};
}

Result<HttpResponse> http_request(const HttpRequest& request, const TransferOptions& options,
                                  std::stop_token stop) {
  ensure_curl_initialized();
  if (request.method != "GET" && request.method != "HEAD") {
    return make_error(ErrorCode::kInvalidArgument, "unsupported method " + request.method);
  }
  TransferSetup setup;
  setup.method = request.method;
  setup.url = request.url;
  setup.headers = request.headers;
  setup.follow_redirects = request.follow_redirects;
  setup.decompress = true;
  RetryPolicy retry(options);
  std::string problem;
  while (true) {
    if (stop.stop_requested()) {
      return make_error(ErrorCode::kCancelled, request.method + " " + request.url + " cancelled");
    }
    Exchange exchange;
    exchange.stop = stop;
    exchange.stall_timeout_ms = to_ms(options.stall_timeout_s).count();
    exchange.follow_redirects = request.follow_redirects;
    HttpResponse response;
    exchange.on_body = [&](const char* data, size_t n) {
      if (response.body.size() + n > request.max_body_bytes) {
        exchange.failure =
            make_error(ErrorCode::kInternal, "the answer to " + request.url + " is larger than " +
                                                 describe_bytes(request.max_body_bytes));
        return false;
      }
      response.body.append(data, n);
      return true;
    };
    auto attempt = run_attempt(setup, exchange, options);
    if (attempt.outcome == Outcome::kCancelled) {
      return make_error(ErrorCode::kCancelled, request.method + " " + request.url + " cancelled");
    }
    if (attempt.outcome == Outcome::kAborted) return *exchange.failure;
    if (attempt.outcome == Outcome::kFinished) {
      response.status = exchange.status;
      response.headers = exchange.headers;
      if (!exchange.is_success()) response.body = exchange.error_body;
      response.effective_url = exchange.effective_url;
      if (!is_retryable_status(response.status)) return response;
      problem = "HTTP " + std::to_string(response.status);
      if (!retry.should_retry(false)) return response;
    } else {
      problem = attempt.problem;
      if (!retry.should_retry(false)) {
        return make_error(ErrorCode::kUnavailable,
                          "cannot reach " + host_of(request.url) + " (" + request.method + " " +
                              request.url + "): " + problem + " (after " +
                              std::to_string(retry.attempts()) + " attempts)");
      }
    }
    logger("provision")
        ->info("{} {}: {}; retrying", request.method, request.url, problem.empty() ? "?" : problem);
    if (!retry.wait(stop, retry_after_s(exchange))) {
      return make_error(ErrorCode::kCancelled, request.method + " " + request.url + " cancelled");
    }
  }
}

Status download_to_file(const DownloadRequest& request, const TransferOptions& options,
                        const ProgressFn& progress, std::stop_token stop) {
  ensure_curl_initialized();
  if (request.url.empty() || request.dest.empty() || !request.dest.has_filename()) {
    return make_error(ErrorCode::kInvalidArgument, "a download needs a URL and a file name");
  }
  std::string expected_sha256 = request.expected_sha256;
  if (!expected_sha256.empty() && !is_sha256_hex(expected_sha256)) {
    return make_error(ErrorCode::kInvalidArgument,
                      "'" + expected_sha256 + "' is not a sha256 (64 hex digits)");
  }
  for (char& c : expected_sha256)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  const std::string label = request.label.empty() ? request.url : request.label;
  auto folder =
      request.dest.parent_path().empty() ? std::filesystem::path(".") : request.dest.parent_path();
  std::error_code ec;
  std::filesystem::create_directories(folder, ec);
  if (ec) {
    return make_error(ErrorCode::kInternal,
                      "cannot create the folder " + folder.string() + ": " + ec.message());
  }

  PartialFile file;
  RBEE_RETURN_IF_ERROR(file.open(partial_path(request.dest)));
  // A failure before the first byte leaves no empty partial file behind.
  struct EmptyPartialCleanup {
    PartialFile& file;
    ~EmptyPartialCleanup() {
      if (file.is_open() && file.size() == 0) file.discard();
    }
  } cleanup{file};
  const auto& expected_size = request.expected_size;
  if (expected_size && file.size() > *expected_size) RBEE_RETURN_IF_ERROR(file.truncate());
  if (expected_size) {
    RBEE_RETURN_IF_ERROR(check_free_space(folder, *expected_size - file.size(), label));
  }
  // The hash covers the file from its first byte: a resumed download hashes what it has first.
  Sha256 hasher;
  if (!expected_sha256.empty() && file.size() > 0) {
    RBEE_RETURN_IF_ERROR(file.hash_into(hasher, stop));
  }
  if (file.size() > 0) {
    logger("provision")->info("{}: resuming at {}", label, describe_bytes(file.size()));
  }

  ProgressMeter meter(progress);
  meter.set_total(expected_size.value_or(0));
  meter.report(file.size(), true);

  auto cancelled = [&] {
    return make_error(ErrorCode::kCancelled, "download of " + label + " cancelled; " +
                                                 describe_bytes(file.size()) + " kept in " +
                                                 file.path().string() + " for a later resume");
  };
  auto restart_from_zero = [&]() -> Status {
    RBEE_RETURN_IF_ERROR(file.truncate());
    hasher = Sha256();
    meter.restart();
    return ok_status();
  };

  RetryPolicy retry(options);
  bool complete = expected_size && file.size() == *expected_size;
  while (!complete) {
    if (stop.stop_requested()) return cancelled();
    const uint64_t size_before = file.size();
    TransferSetup setup;
    setup.url = request.url;
    setup.headers = request.headers;
    setup.resume_from = size_before;

    Exchange exchange;
    exchange.stop = stop;
    exchange.stall_timeout_ms = to_ms(options.stall_timeout_s).count();
    bool fatal = false;            // the failure in exchange.failure is final
    bool discard_partial = false;  // ... and the bytes on disk are not worth keeping
    bool bad_range = false;        // the server answered another range than asked for
    exchange.on_final_headers = [&]() {
      std::optional<uint64_t> final_size;
      auto length = parse_u64(exchange.header("Content-Length"));
      if (exchange.status == 206) {
        auto range = parse_content_range(exchange.header("Content-Range"));
        if (!range || !range->first || *range->first != file.size()) {
          bad_range = true;
          exchange.failure = make_error(
              ErrorCode::kUnavailable,
              "the server answered another range than bytes=" + std::to_string(file.size()) +
                  "- (" + exchange.header("Content-Range") + ")");
          return false;
        }
        final_size = range->total;
        if (!final_size && length) final_size = file.size() + *length;
      } else {
        if (file.size() > 0) {
          // The server ignored the range and sends the whole file: start over.
          logger("provision")->info("{}: the server does not resume; starting over", label);
          if (auto status = restart_from_zero(); !status) {
            exchange.failure = status.error();
            fatal = true;
            return false;
          }
        }
        final_size = length;
      }
      if (!final_size) return true;
      if (expected_size && *final_size != *expected_size) {
        exchange.failure =
            make_error(ErrorCode::kInternal, "size mismatch for " + label + ": the server sends " +
                                                 std::to_string(*final_size) + " bytes, expected " +
                                                 std::to_string(*expected_size));
        fatal = discard_partial = true;
        return false;
      }
      if (auto status =
              check_free_space(folder, *final_size - std::min(*final_size, file.size()), label);
          !status) {
        exchange.failure = status.error();
        fatal = true;
        return false;
      }
      meter.set_total(*final_size);
      return true;
    };
    exchange.on_body = [&](const char* data, size_t n) {
      if (expected_size && file.size() + n > *expected_size) {
        exchange.failure =
            make_error(ErrorCode::kInternal, "size mismatch for " + label +
                                                 ": the server sends more than the expected " +
                                                 std::to_string(*expected_size) + " bytes");
        fatal = discard_partial = true;
        return false;
      }
      if (auto status = file.write(data, n); !status) {
        exchange.failure = status.error();
        fatal = true;
        return false;
      }
      if (!expected_sha256.empty()) hasher.update(data, n);
      meter.report(file.size(), false);
      return true;
    };

    exchange.on_idle = [&] { meter.report(file.size(), false); };

    auto attempt = run_attempt(setup, exchange, options);
    std::string problem = attempt.problem;
    switch (attempt.outcome) {
      case Outcome::kCancelled:
        return cancelled();
      case Outcome::kAborted:
        if (fatal) {
          if (discard_partial) file.discard();
          return *exchange.failure;
        }
        if (bad_range) RBEE_RETURN_IF_ERROR(restart_from_zero());
        break;
      case Outcome::kStalled:
      case Outcome::kFailed:
        break;
      case Outcome::kFinished: {
        long status = exchange.status;
        if (status == 200 || status == 206) {
          if (!expected_size || file.size() == *expected_size) {
            complete = true;
            break;
          }
          problem = "the answer ended after " + std::to_string(file.size()) + " bytes";
        } else if (status == 416 && size_before > 0) {
          // Asked for bytes past the end: complete when the server's size is what we have.
          auto range = parse_content_range(exchange.header("Content-Range"));
          if (range && range->total && *range->total == size_before && !expected_size) {
            complete = true;
            break;
          }
          problem = "the server cannot resume at byte " + std::to_string(size_before);
          RBEE_RETURN_IF_ERROR(restart_from_zero());
        } else if (is_retryable_status(status)) {
          problem = "HTTP " + std::to_string(status);
          if (auto message = server_message(exchange.headers, exchange.error_body);
              !message.empty()) {
            problem += " (" + message + ")";
          }
        } else {
          HttpFailure failure{request.url, status, exchange.header("X-Error-Code"),
                              server_message(exchange.headers, exchange.error_body)};
          return request.describe_failure ? request.describe_failure(failure)
                                          : default_failure_error(failure);
        }
        break;
      }
    }
    if (complete) break;
    if (!retry.should_retry(file.size() > size_before)) {
      return make_error(ErrorCode::kUnavailable,
                        "download of " + label + " from " + host_of(request.url) +
                            " failed after " + std::to_string(retry.attempts()) +
                            " attempts: " + problem + "; " + describe_bytes(file.size()) +
                            " kept in " + file.path().string() + " to resume next time");
    }
    logger("provision")
        ->info("{}: {} at {}; retrying", label, problem, describe_bytes(file.size()));
    if (!retry.wait(stop, retry_after_s(exchange))) return cancelled();
  }

  if (expected_size && file.size() != *expected_size) {
    file.discard();
    return make_error(ErrorCode::kInternal, "size mismatch for " + label + ": got " +
                                                std::to_string(file.size()) + " bytes, expected " +
                                                std::to_string(*expected_size));
  }
  if (!expected_sha256.empty()) {
    auto actual = hasher.finish_hex();
    if (actual != expected_sha256) {
      file.discard();
      return make_error(ErrorCode::kInternal, "sha256 mismatch for " + label + ": expected " +
                                                  expected_sha256 + ", got " + actual +
                                                  "; the downloaded bytes were discarded");
    }
  }
  uint64_t final_size = file.size();
  RBEE_RETURN_IF_ERROR(file.commit(request.dest));
  meter.set_total(final_size);
  meter.report(final_size, true);
  return ok_status();
}

Status download_url(std::string_view url, const std::filesystem::path& dest,
                    const std::optional<std::string>& expected_sha256, const ProgressFn& progress,
                    std::stop_token stop, const TransferOptions& options) {
  if (url.substr(0, 7) != "http://" && url.substr(0, 8) != "https://") {
    return make_error(ErrorCode::kInvalidArgument,
                      "'" + std::string(url) + "' is not an http(s) URL");
  }
  if (expected_sha256 && !is_sha256_hex(*expected_sha256)) {
    return make_error(ErrorCode::kInvalidArgument,
                      "'" + *expected_sha256 + "' is not a sha256 (64 hex digits)");
  }
  DownloadRequest request;
  request.url = std::string(url);
  request.dest = dest;
  request.expected_sha256 = expected_sha256.value_or("");
  return download_to_file(request, options, progress, stop);
}

}  // namespace rbee::provision
