#pragma once

// The libcurl transfer engine behind every download: resumable (`<dest>.part` plus `Range`),
// retried with bounded backoff, stall-detected, cancellable, disk-space aware, and verified
// (size and sha256) before the file appears under its final name. Each call uses its own curl
// handle, so calls may run on many threads at once.

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <stop_token>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/result.hpp"

namespace rbee::provision {

struct Progress {
  uint64_t bytes_done = 0;   // bytes of the file on disk, a resumed download's earlier ones too
  uint64_t bytes_total = 0;  // 0 while unknown
  double bytes_per_s = 0;    // over the last few seconds
  double eta_s = -1;         // -1 while unknown
};
// Called on the downloading thread: at most every 50 ms while bytes flow, every 100 ms or so
// while they do not (so the rate visibly drops during a stall), and once at the end with
// bytes_done == bytes_total. The caller rate-limits what it shows.
using ProgressFn = std::function<void(const Progress&)>;

struct TransferOptions {
  double stall_timeout_s = 30;  // no byte for this long: the attempt is dropped and retried
  // Attempts in a row that brought no new byte before giving up; an attempt that did bring
  // bytes resets the count (and the backoff), so a long download survives many drops.
  int max_attempts = 6;
  double initial_backoff_s = 0.2;  // doubled after each fruitless attempt, up to max_backoff_s
  double max_backoff_s = 5;
  double connect_timeout_s = 15;
};

// A non-2xx answer that is not worth retrying, for callers that word their own errors.
struct HttpFailure {
  std::string url;         // as requested, before redirects
  long status = 0;         // the final answer's status
  std::string error_code;  // its X-Error-Code header (HuggingFace), may be empty
  std::string message;     // X-Error-Message, else the body's "error" field, else its start
};
using DescribeHttpFailure = std::function<Error(const HttpFailure&)>;

struct DownloadRequest {
  std::string url;
  std::vector<std::string> headers;  // extra "Name: value" lines, e.g. the bearer token
  std::filesystem::path dest;        // the bytes go to partial_path(dest) first
  std::optional<uint64_t> expected_size;
  std::string expected_sha256;           // hex; empty: not checked
  std::string label;                     // names the download in messages; default: the URL
  DescribeHttpFailure describe_failure;  // default: "HTTP <status> from <url>: <message>"
};

// Downloads request.url to request.dest:
//  - bytes go to `<dest>.part`; an existing one (from a dropped or cancelled run) is hashed and
//    resumed with `Range`; a server that ignores the range restarts it from zero;
//  - free space is checked first (when the size is known) and again when the answer's length
//    arrives: kResourceExhausted with the numbers; a write failing with ENOSPC is
//    kResourceExhausted too (the partial file is kept for a later resume);
//  - dropped connections, stalls, 408/429/5xx and network errors are retried with backoff;
//    after max_attempts fruitless ones: kUnavailable naming the host, the partial file kept;
//  - other HTTP errors: describe_failure's Error (the partial file kept);
//  - a stop request ends the transfer within about 100 ms: kCancelled, the partial file kept;
//  - a size or sha256 mismatch deletes the partial file: kInternal naming both values;
//  - on success the file is fsync'd and renamed onto dest (replacing it).
// Two downloads to the same dest at once: the second gets kFailedPrecondition.
Status download_to_file(const DownloadRequest& request, const TransferOptions& options,
                        const ProgressFn& progress, std::stop_token stop);

// Downloads an http(s) URL (worker binaries): download_to_file with generic messages.
// expected_sha256, when given, must be 64 hex digits (kInvalidArgument otherwise).
Status download_url(std::string_view url, const std::filesystem::path& dest,
                    const std::optional<std::string>& expected_sha256, const ProgressFn& progress,
                    std::stop_token stop, const TransferOptions& options = {});

// `<dest>.part`: where download_to_file keeps the bytes until they are verified.
std::filesystem::path partial_path(const std::filesystem::path& dest);

struct HttpRequest {
  std::string method = "GET";  // or "HEAD"
  std::string url;
  std::vector<std::string> headers;  // "Name: value"
  bool follow_redirects = true;
  size_t max_body_bytes = 64u << 20;  // a longer body is kInternal
};

struct HttpResponse {
  long status = 0;
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // of the final answer, in order
  std::string effective_url;                                 // after redirects
  // The first header with this name (case-insensitive), or empty.
  std::string header(std::string_view name) const;
};

// The HttpFailure a non-2xx response describes.
HttpFailure http_failure_of(const std::string& url, const HttpResponse& response);

// A small request answered in memory (JSON APIs). Network failures, stalls, 408, 429 and 5xx
// are retried like downloads; whatever status comes last is returned as a value. kUnavailable
// naming the host when no answer came; kCancelled on stop.
Result<HttpResponse> http_request(const HttpRequest& request, const TransferOptions& options,
                                  std::stop_token stop = {});

// "https://host:port/x" → "host:port" (for messages), or the text itself when not a URL.
std::string host_of(std::string_view url);
// Bytes for people: "1.5 GiB (1610612736 bytes)".
std::string describe_bytes(uint64_t bytes);

}  // namespace rbee::provision
