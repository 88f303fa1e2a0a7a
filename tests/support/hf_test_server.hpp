#pragma once

// A local stand-in for the HuggingFace Hub, for tests and benchmarks. It speaks the parts of
// the protocol rbee and the official clients use:
//
//   GET /api/models/{org}/{name}/tree/{rev}[/{dir}]?recursive=true|false[&cursor=N]
//       JSON array of {type, path, size, oid[, lfs:{oid, size, pointerSize}]}; `Link: <...>;
//       rel="next"` pages when a page size is set.
//   GET|HEAD /{org}/{name}/resolve/{rev}/{path}
//       LFS files (.gguf): 302 to /cdn/{org}/{name}/{sha256} with ETag, X-Linked-Etag,
//       X-Linked-Size and X-Repo-Commit, as the Hub does; other files: 200 with the bytes.
//   GET|HEAD /{org}/{name}/raw/{rev}/{path}
//       what git stores: the bytes, or the LFS pointer text for LFS files.
//   GET|HEAD /cdn/{org}/{name}/{sha256}
//       the bytes with Content-Length and Accept-Ranges; `Range: bytes=a-b|a-|-n` → 206 with
//       Content-Range, a range past the end → 416 with `Content-Range: bytes */size`.
//   Errors in the Hub's style: JSON {"error": "..."} and an X-Error-Code header
//   (RepoNotFound: 401 without a token, 404 with one; RevisionNotFound, EntryNotFound: 404;
//   GatedRepo: 401 without a token, 403 with a wrong one, for resolve).
//
// Fault injection, from C++ (add_fault) or over HTTP:
//   POST /_test/faults {"faults":[{...}, ...]} (or one fault object) adds faults;
//   DELETE /_test/faults removes them all. A fault is
//   {"target": "org/name" (its tree listing) | "org/name/path/in/repo" (that file),
//    "kind": "drop" | "stall" | "corrupt" | "status",
//    "after_bytes": N,   drop: close the connection after N body bytes of the answer;
//                        stall: pause after N body bytes (-1: before answering at all)
//    "seconds": S,       stall: how long
//    "status": 503,      status: answer this status instead
//    "times": 1}         how many answers it affects (-1: every one); then it is gone.
//   "status" and "stall" with after_bytes -1 act on the first request for the target (the
//   listing, or the file's resolve); the others where the bytes flow (the CDN, or resolve for
//   files outside LFS). "corrupt" flips bytes at file offsets that are multiples of 4096.
// Request log: GET /_test/requests → {"requests":[{"method","path","query","range",
//   "authorization","status"}]}; DELETE /_test/requests clears it; requests() from C++.

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/result.hpp"

namespace rbee::testing {

struct HfFault {
  enum class Kind { kDrop, kStall, kCorrupt, kStatus };
  std::string target;  // "org/name" or "org/name/path"
  Kind kind = Kind::kDrop;
  int64_t after_bytes = 0;
  double seconds = 0;
  int status = 503;
  int times = 1;  // -1: unlimited
};

// Parses one fault from its JSON text (the format above). kInvalidArgument naming the field.
Result<HfFault> parse_hf_fault(const std::string& json_text);

struct HfRequestRecord {
  std::string method;
  std::string path;
  std::string query;  // "a=1&b=2" as received, decoded
  std::string range;  // the Range header, empty when absent
  std::string authorization;
  int status = 0;
};

struct HfTestServerOptions {
  std::string host = "127.0.0.1";
  int port = 0;               // 0: any free port
  size_t tree_page_size = 0;  // > 0: the tree API answers in pages of this many entries
};

class HfTestServer {
 public:
  // Starts serving at once, on a background thread; aborts when it cannot bind.
  explicit HfTestServer(HfTestServerOptions options = {});
  ~HfTestServer();
  HfTestServer(const HfTestServer&) = delete;
  HfTestServer& operator=(const HfTestServer&) = delete;

  std::string url() const;  // "http://127.0.0.1:PORT"

  // Content. Repos spring into existence with their first file; every repo answers to the
  // revision "main", its commit id (commit_of) and the revisions added with add_revision.
  // Files named *.gguf are stored in LFS (listed with their sha256, served through the CDN).
  void add_file(const std::string& repo, const std::string& path, std::string content);
  Status add_file_from_disk(const std::string& repo, const std::string& path,
                            const std::filesystem::path& source);
  // Every regular file under `folder`, with paths relative to it.
  Status add_folder(const std::string& repo, const std::filesystem::path& folder);
  // A listed LFS file with no bytes behind it (its CDN address answers 404): for sizes that
  // cannot be served, such as a file larger than the disk.
  void add_listed_only(const std::string& repo, const std::string& path, uint64_t size,
                       const std::string& sha256);
  void add_revision(const std::string& repo, const std::string& revision);
  // resolve needs `Authorization: Bearer <token>`: 401 without, 403 with another token.
  void set_gated(const std::string& repo, const std::string& token);
  std::string commit_of(const std::string& repo) const;

  void add_fault(HfFault fault);
  void clear_faults();
  std::vector<HfRequestRecord> requests() const;
  void clear_requests();

  // ../shared/testdata/models when it exists (compile definition RBEE_TESTDATA_DIR).
  static std::optional<std::filesystem::path> testdata_models_dir();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace rbee::testing
