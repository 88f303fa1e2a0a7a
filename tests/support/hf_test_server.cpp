#include "hf_test_server.hpp"

#include <fcntl.h>
#include <openssl/evp.h>
#include <unistd.h>

#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "contracts/json_reader.hpp"
#include "http/server.hpp"

namespace rbee::testing {
namespace {

using contracts::Json;

constexpr size_t kChunkBytes = 64 * 1024;
constexpr uint64_t kCorruptEvery = 4096;

std::string hex_of(const unsigned char* bytes, unsigned int n) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < n; ++i) {
    out += kHex[bytes[i] >> 4];
    out += kHex[bytes[i] & 0xf];
  }
  return out;
}

// Hashes (sha256 or sha1) fed piece by piece; the test server's own, independent of the
// library it tests.
class Digest {
 public:
  explicit Digest(const EVP_MD* md) : context_(EVP_MD_CTX_new()) {
    EVP_DigestInit_ex(context_, md, nullptr);
  }
  ~Digest() { EVP_MD_CTX_free(context_); }
  Digest(const Digest&) = delete;
  Digest& operator=(const Digest&) = delete;
  void update(std::string_view bytes) { EVP_DigestUpdate(context_, bytes.data(), bytes.size()); }
  std::string hex() {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    EVP_DigestFinal_ex(context_, digest, &n);
    return hex_of(digest, n);
  }

 private:
  EVP_MD_CTX* context_;
};

std::string sha1_hex(std::string_view bytes) {
  Digest digest(EVP_sha1());
  digest.update(bytes);
  return digest.hex();
}

// Git's object id of a blob.
std::string git_blob_oid(std::string_view content) {
  Digest digest(EVP_sha1());
  digest.update("blob " + std::to_string(content.size()) + std::string(1, '\0'));
  digest.update(content);
  return digest.hex();
}

std::string lfs_pointer(const std::string& sha256, uint64_t size) {
  return "version https://git-lfs.github.com/spec/v1\noid sha256:" + sha256 + "\nsize " +
         std::to_string(size) + "\n";
}

bool is_lfs_path(const std::string& path) {
  return path.size() >= 5 && path.compare(path.size() - 5, 5, ".gguf") == 0;
}

struct ServedFile {
  std::string path;
  uint64_t size = 0;
  std::string sha256;
  std::string git_oid;
  bool lfs = false;
  std::shared_ptr<const std::string> memory;  // the bytes, or
  std::filesystem::path disk;                 // where they are, or neither (listed only)
  bool has_bytes() const { return memory != nullptr || !disk.empty(); }
};

struct Repo {
  std::map<std::string, ServedFile> files;  // by path, so listings come sorted
  std::set<std::string> revisions;
  std::string commit;
  bool gated = false;
  std::string gate_token;
};

// A single-range request: [first, first + length).
struct ByteRange {
  uint64_t first = 0;
  uint64_t length = 0;
};

enum class RangeAnswer { kWhole, kPartial, kUnsatisfiable };

// `bytes=a-b`, `bytes=a-`, `bytes=-n`; anything else (several ranges, bad syntax) is ignored as
// HTTP allows, and the whole file is served.
RangeAnswer parse_range(const std::string& header, uint64_t size, ByteRange& range) {
  range = ByteRange{0, size};
  if (header.rfind("bytes=", 0) != 0 || header.find(',') != std::string::npos) {
    return RangeAnswer::kWhole;
  }
  auto spec = header.substr(6);
  auto dash = spec.find('-');
  if (dash == std::string::npos) return RangeAnswer::kWhole;
  auto first_text = spec.substr(0, dash);
  auto last_text = spec.substr(dash + 1);
  auto number = [](const std::string& text, uint64_t& out) {
    if (text.empty() || text.size() > 19) return false;
    out = 0;
    for (char c : text) {
      if (c < '0' || c > '9') return false;
      out = out * 10 + static_cast<uint64_t>(c - '0');
    }
    return true;
  };
  uint64_t first = 0;
  uint64_t last = 0;
  if (first_text.empty()) {  // the last n bytes
    if (!number(last_text, last)) return RangeAnswer::kWhole;
    if (last == 0 || size == 0) return RangeAnswer::kUnsatisfiable;
    last = std::min(last, size);
    range = ByteRange{size - last, last};
    return RangeAnswer::kPartial;
  }
  if (!number(first_text, first)) return RangeAnswer::kWhole;
  if (last_text.empty()) {
    last = size == 0 ? 0 : size - 1;
  } else if (!number(last_text, last) || last < first) {
    return RangeAnswer::kWhole;
  }
  if (first >= size) return RangeAnswer::kUnsatisfiable;
  last = std::min(last, size - 1);
  range = ByteRange{first, last - first + 1};
  return RangeAnswer::kPartial;
}

const char* kind_name(HfFault::Kind kind) {
  switch (kind) {
    case HfFault::Kind::kDrop:
      return "drop";
    case HfFault::Kind::kStall:
      return "stall";
    case HfFault::Kind::kCorrupt:
      return "corrupt";
    case HfFault::Kind::kStatus:
      return "status";
  }
  return "?";
}

Result<HfFault> fault_from_json(const Json& json) {
  contracts::ObjectReader reader(json, "");
  RBEE_RETURN_IF_ERROR(reader.expect_object());
  HfFault fault;
  std::string kind;
  RBEE_RETURN_IF_ERROR(reader.required_string("target", fault.target));
  RBEE_RETURN_IF_ERROR(reader.required_string("kind", kind));
  int64_t after_bytes = 0;
  int64_t status = 503;
  int64_t times = 1;
  RBEE_RETURN_IF_ERROR(reader.optional_int("after_bytes", after_bytes));
  RBEE_RETURN_IF_ERROR(reader.optional_number("seconds", fault.seconds));
  RBEE_RETURN_IF_ERROR(reader.optional_int("status", status));
  RBEE_RETURN_IF_ERROR(reader.optional_int("times", times));
  RBEE_RETURN_IF_ERROR(reader.reject_unknown_fields());
  fault.after_bytes = after_bytes;
  fault.status = static_cast<int>(status);
  fault.times = static_cast<int>(times);
  bool known = false;
  for (auto candidate : {HfFault::Kind::kDrop, HfFault::Kind::kStall, HfFault::Kind::kCorrupt,
                         HfFault::Kind::kStatus}) {
    if (kind == kind_name(candidate)) {
      fault.kind = candidate;
      known = true;
    }
  }
  if (!known) {
    return make_error(ErrorCode::kInvalidArgument,
                      "kind: expected drop, stall, corrupt or status, got '" + kind + "'");
  }
  if (fault.times == 0 || fault.times < -1) {
    return make_error(ErrorCode::kInvalidArgument, "times: expected a positive count or -1");
  }
  if (fault.kind == HfFault::Kind::kStatus && (fault.status < 100 || fault.status > 599)) {
    return make_error(ErrorCode::kInvalidArgument, "status: expected an HTTP status");
  }
  return fault;
}

http::Response hub_error(int status, const std::string& error_code, const std::string& message) {
  auto response = http::json_response(status, Json{{"error", message}});
  if (!error_code.empty()) response.headers.emplace_back("X-Error-Code", error_code);
  response.headers.emplace_back("X-Error-Message", message);
  return response;
}

}  // namespace

Result<HfFault> parse_hf_fault(const std::string& json_text) {
  RBEE_ASSIGN_OR_RETURN(auto json, contracts::parse_json_text(json_text));
  return fault_from_json(json);
}

struct HfTestServer::Impl {
  HfTestServerOptions options;
  http::Server server{http::ServerOptions{"hf-test-server", 1024 * 1024, 64, ""}};
  std::thread thread;
  int port = 0;

  mutable std::mutex mu;
  std::map<std::string, Repo> repos;  // guarded by mu
  std::vector<HfFault> faults;        // guarded by mu
  std::vector<HfRequestRecord> log;   // guarded by mu

  std::mutex stop_mu;
  std::condition_variable stop_cv;
  bool stopping = false;  // guarded by stop_mu

  // Sleeps; false when the server is stopping (so a stalled answer never holds up shutdown).
  bool pause(double seconds) {
    std::unique_lock lock(stop_mu);
    return !stop_cv.wait_for(lock, std::chrono::duration<double>(seconds),
                             [this] { return stopping; });
  }

  Repo& repo_for_update(const std::string& name) {
    auto& repo = repos[name];
    if (repo.commit.empty()) repo.commit = sha1_hex("commit " + name);
    return repo;
  }

  void add(const std::string& repo, ServedFile file) {
    std::lock_guard lock(mu);
    repo_for_update(repo).files[file.path] = std::move(file);
  }

  // The first fault for `target` of one of `kinds`, used once (removed when spent).
  std::optional<HfFault> take_fault(const std::string& target,
                                    std::initializer_list<HfFault::Kind> kinds,
                                    bool before_answer) {
    std::lock_guard lock(mu);
    for (auto it = faults.begin(); it != faults.end(); ++it) {
      if (it->target != target) continue;
      if (std::find(kinds.begin(), kinds.end(), it->kind) == kinds.end()) continue;
      bool is_before = it->kind == HfFault::Kind::kStatus ||
                       (it->kind == HfFault::Kind::kStall && it->after_bytes < 0);
      if (is_before != before_answer) continue;
      HfFault fault = *it;
      if (it->times > 0 && --it->times == 0) faults.erase(it);
      return fault;
    }
    return std::nullopt;
  }

  // Status faults and stalls before answering, for the first request of a target.
  std::optional<http::Response> apply_faults_before_answer(const std::string& target) {
    while (auto fault = take_fault(target, {HfFault::Kind::kStatus, HfFault::Kind::kStall}, true)) {
      if (fault->kind == HfFault::Kind::kStall) {
        if (!pause(fault->seconds)) return hub_error(503, "", "server stopping");
        continue;
      }
      return hub_error(fault->status, "", "injected fault: HTTP " + std::to_string(fault->status));
    }
    return std::nullopt;
  }

  void record(const http::Request& req, int status) {
    HfRequestRecord entry;
    entry.method = req.method;
    entry.path = req.path;
    for (const auto& [name, value] : req.query) {
      entry.query += (entry.query.empty() ? "" : "&") + name + "=" + value;
    }
    entry.range = req.header("Range");
    entry.authorization = req.header("Authorization");
    entry.status = status;
    std::lock_guard lock(mu);
    log.push_back(std::move(entry));
  }

  std::string base_url(const http::Request& req) const {
    auto host = req.header("Host");
    return host.empty() ? "http://" + options.host + ":" + std::to_string(port) : "http://" + host;
  }

  // Looks up a repo and revision the way the Hub answers: a missing repo is 401 to anonymous
  // callers (it might be private) and 404 to authenticated ones.
  std::optional<http::Response> check_repo(const http::Request& req, const std::string& name,
                                           const std::string& revision, Repo& out) {
    std::lock_guard lock(mu);
    auto it = repos.find(name);
    if (it == repos.end()) {
      bool anonymous = req.header("Authorization").empty();
      return hub_error(anonymous ? 401 : 404, "RepoNotFound",
                       "Repository Not Found for url: " + base_url(req) + req.path + ".");
    }
    const Repo& repo = it->second;
    if (revision != "main" && revision != repo.commit && repo.revisions.count(revision) == 0) {
      return hub_error(404, "RevisionNotFound", "Invalid rev id: " + revision);
    }
    out = repo;  // a copy: the answer is built without the lock
    return std::nullopt;
  }

  http::Response tree(const http::Request& req) {
    const std::string name = req.path_params.at(0) + "/" + req.path_params.at(1);
    const std::string& revision = req.path_params.at(2);
    std::string folder = req.path_params.size() > 3 ? req.path_params.at(3) : "";
    if (!folder.empty() && folder.front() == '/') folder.erase(0, 1);
    while (!folder.empty() && folder.back() == '/') folder.pop_back();
    Repo repo;
    if (auto error = check_repo(req, name, revision, repo)) return *error;
    if (auto faulty = apply_faults_before_answer(name)) return *faulty;

    bool recursive = req.query_param("recursive") == "true" || req.query_param("recursive") == "1";
    std::string prefix = folder.empty() ? "" : folder + "/";
    std::set<std::string> folders;
    Json entries = Json::array();
    bool folder_exists = folder.empty();
    for (const auto& [path, file] : repo.files) {
      if (path.rfind(prefix, 0) != 0) continue;
      folder_exists = true;
      auto rest = path.substr(prefix.size());
      // Every folder on the way, once; non-recursive listings stop at the first level.
      for (auto slash = rest.find('/'); slash != std::string::npos;
           slash = rest.find('/', slash + 1)) {
        folders.insert(prefix + rest.substr(0, slash));
        if (!recursive) break;
      }
      if (!recursive && rest.find('/') != std::string::npos) continue;
      Json entry = {{"type", "file"}, {"oid", file.git_oid}, {"size", file.size}, {"path", path}};
      if (file.lfs) {
        entry["lfs"] = {{"oid", file.sha256},
                        {"size", file.size},
                        {"pointerSize", lfs_pointer(file.sha256, file.size).size()}};
      }
      entries.push_back(std::move(entry));
    }
    if (!folder_exists) return hub_error(404, "EntryNotFound", "Entry not found");
    for (const auto& path : folders) {
      entries.push_back(
          {{"type", "directory"}, {"oid", sha1_hex("tree " + path)}, {"size", 0}, {"path", path}});
    }
    std::sort(entries.begin(), entries.end(), [](const Json& a, const Json& b) {
      return a["path"].get<std::string>() < b["path"].get<std::string>();
    });

    http::Response response;
    size_t first = 0;
    if (auto cursor = req.query_param("cursor"); !cursor.empty()) {
      first = std::min<size_t>(std::strtoull(cursor.c_str(), nullptr, 10), entries.size());
    }
    size_t page = options.tree_page_size > 0 ? options.tree_page_size : entries.size();
    size_t end = std::min(entries.size(), first + page);
    Json body = Json::array();
    for (size_t i = first; i < end; ++i) body.push_back(entries[i]);
    response = http::json_response(200, body);
    if (end < entries.size()) {
      std::string next = base_url(req) + req.path + "?recursive=" + (recursive ? "true" : "false") +
                         "&cursor=" + std::to_string(end);
      response.headers.emplace_back("Link", "<" + next + ">; rel=\"next\"");
    }
    return response;
  }

  http::Response resolve(const http::Request& req) { return resolve_or_raw(req, false); }
  http::Response raw(const http::Request& req) { return resolve_or_raw(req, true); }

  // `resolve` gives a file's content; `raw` gives what git stores: the LFS pointer for files
  // in LFS.
  http::Response resolve_or_raw(const http::Request& req, bool git_content) {
    const std::string name = req.path_params.at(0) + "/" + req.path_params.at(1);
    const std::string& revision = req.path_params.at(2);
    const std::string& path = req.path_params.at(3);
    Repo repo;
    if (auto error = check_repo(req, name, revision, repo)) return *error;
    if (repo.gated) {
      auto authorization = req.header("Authorization");
      if (authorization.empty()) {
        return hub_error(401, "GatedRepo",
                         "Access to model " + name +
                             " is restricted. You must have access to it and be authenticated "
                             "to access it. Please log in.");
      }
      if (!http::bearer_matches(authorization, repo.gate_token)) {
        return hub_error(403, "GatedRepo",
                         "Access to model " + name +
                             " is restricted and you are not in the authorized list. Visit " +
                             base_url(req) + "/" + name + " to ask for access.");
      }
    }
    auto it = repo.files.find(path);
    if (it == repo.files.end()) return hub_error(404, "EntryNotFound", "Entry not found");
    const ServedFile& file = it->second;
    if (auto faulty = apply_faults_before_answer(name + "/" + path)) return *faulty;

    if (git_content && file.lfs) {
      http::Response pointer;
      pointer.content_type = "text/plain; charset=utf-8";
      pointer.body = lfs_pointer(file.sha256, file.size);
      pointer.headers = {{"ETag", "\"" + file.git_oid + "\""}, {"X-Repo-Commit", repo.commit}};
      return pointer;
    }
    if (!file.lfs) {
      auto response = serve_bytes(req, file, name + "/" + path);
      response.headers.emplace_back("ETag", "\"" + file.git_oid + "\"");
      response.headers.emplace_back("X-Repo-Commit", repo.commit);
      return response;
    }
    std::string location = base_url(req) + "/cdn/" + name + "/" + file.sha256;
    http::Response response;
    response.status = 302;
    response.content_type = "text/plain; charset=utf-8";
    response.body = "Found. Redirecting to " + location;
    response.headers = {{"Location", location},
                        {"ETag", "\"" + file.git_oid + "\""},
                        {"X-Linked-Etag", "\"" + file.sha256 + "\""},
                        {"X-Linked-Size", std::to_string(file.size)},
                        {"X-Repo-Commit", repo.commit},
                        {"Accept-Ranges", "bytes"}};
    return response;
  }

  http::Response cdn(const http::Request& req) {
    const std::string name = req.path_params.at(0) + "/" + req.path_params.at(1);
    const std::string& sha256 = req.path_params.at(2);
    std::optional<ServedFile> found;
    {
      std::lock_guard lock(mu);
      if (auto repo = repos.find(name); repo != repos.end()) {
        for (const auto& [path, file] : repo->second.files) {
          if (file.lfs && file.sha256 == sha256 && file.has_bytes()) found = file;
        }
      }
    }
    if (!found) {
      http::Response missing;
      missing.status = 404;
      missing.content_type = "application/xml";
      missing.body = "<Error><Code>NoSuchKey</Code></Error>";
      return missing;
    }
    auto response = serve_bytes(req, *found, name + "/" + found->path);
    response.headers.emplace_back("ETag", "\"" + found->sha256 + "\"");
    return response;
  }

  // The bytes of `file` with ranges and the faults that act on a flowing body.
  http::Response serve_bytes(const http::Request& req, const ServedFile& file,
                             const std::string& target) {
    http::Response response;
    response.content_type = "application/octet-stream";
    response.headers.emplace_back("Accept-Ranges", "bytes");
    ByteRange range;
    switch (parse_range(req.header("Range"), file.size, range)) {
      case RangeAnswer::kUnsatisfiable:
        response.status = 416;
        response.content_type = "text/plain";
        response.body = "Range Not Satisfiable";
        response.headers.emplace_back("Content-Range", "bytes */" + std::to_string(file.size));
        return response;
      case RangeAnswer::kPartial:
        response.status = 206;
        response.headers.emplace_back("Content-Range",
                                      "bytes " + std::to_string(range.first) + "-" +
                                          std::to_string(range.first + range.length - 1) + "/" +
                                          std::to_string(file.size));
        break;
      case RangeAnswer::kWhole:
        break;
    }
    response.stream_length = static_cast<int64_t>(range.length);
    if (req.method == "HEAD") {
      response.stream = [](http::StreamSink&) {};  // never called: HEAD has no body
      return response;
    }
    auto interruption = take_fault(target, {HfFault::Kind::kDrop, HfFault::Kind::kStall}, false);
    bool corrupt = take_fault(target, {HfFault::Kind::kCorrupt}, false).has_value();
    response.stream = [this, file, range, interruption, corrupt](http::StreamSink& sink) {
      int fd = -1;
      if (!file.disk.empty()) fd = ::open(file.disk.c_str(), O_RDONLY | O_CLOEXEC);
      std::string chunk;
      uint64_t sent = 0;
      uint64_t limit = range.length;
      // A stall pauses once when `sent` reaches stall_at; kNoStall never comes.
      constexpr uint64_t kNoStall = UINT64_MAX;
      uint64_t stall_at = kNoStall;
      double stall_s = 0;
      if (interruption && interruption->kind == HfFault::Kind::kDrop) {
        limit = std::min<uint64_t>(limit, static_cast<uint64_t>(interruption->after_bytes));
      } else if (interruption) {
        stall_at = static_cast<uint64_t>(interruption->after_bytes);
        stall_s = interruption->seconds;
      }
      while (true) {
        if (sent >= stall_at) {
          stall_at = kNoStall;
          if (!pause(stall_s)) break;
        }
        if (sent >= limit) break;
        uint64_t n = std::min<uint64_t>({kChunkBytes, limit - sent, stall_at - sent});
        uint64_t offset = range.first + sent;
        if (file.memory) {
          chunk.assign(*file.memory, offset, n);
        } else {
          chunk.resize(n);
          ssize_t got = fd < 0 ? -1 : ::pread(fd, chunk.data(), n, static_cast<off_t>(offset));
          if (got != static_cast<ssize_t>(n)) break;  // the file changed under us: drop
        }
        if (corrupt) {
          for (uint64_t at = (offset + kCorruptEvery - 1) / kCorruptEvery * kCorruptEvery;
               at < offset + n; at += kCorruptEvery) {
            chunk[at - offset] = static_cast<char>(chunk[at - offset] ^ 0xff);
          }
        }
        if (!sink.write(chunk)) break;
        sent += n;
      }
      if (fd >= 0) ::close(fd);
    };
    return response;
  }

  http::Response post_faults(const http::Request& req) {
    auto json = contracts::parse_json_text(req.body);
    if (!json) return http::error_response(json.error());
    std::vector<HfFault> parsed;
    const Json& list = json->is_object() && json->contains("faults") ? (*json)["faults"] : *json;
    if (list.is_array()) {
      for (const auto& item : list) {
        auto fault = fault_from_json(item);
        if (!fault) return http::error_response(fault.error());
        parsed.push_back(*fault);
      }
    } else {
      auto fault = fault_from_json(list);
      if (!fault) return http::error_response(fault.error());
      parsed.push_back(*fault);
    }
    std::lock_guard lock(mu);
    faults.insert(faults.end(), parsed.begin(), parsed.end());
    return http::json_response(200, Json{{"faults", faults.size()}});
  }

  http::Response get_requests() {
    Json list = Json::array();
    std::lock_guard lock(mu);
    for (const auto& entry : log) {
      list.push_back({{"method", entry.method},
                      {"path", entry.path},
                      {"query", entry.query},
                      {"range", entry.range},
                      {"authorization", entry.authorization},
                      {"status", entry.status}});
    }
    return http::json_response(200, Json{{"requests", list}});
  }

  // Wraps a Hub handler so every request is logged with the status it got.
  http::Handler logged(http::Response (Impl::*handler)(const http::Request&)) {
    return [this, handler](const http::Request& req) {
      auto response = (this->*handler)(req);
      record(req, response.status);
      return response;
    };
  }

  void add_routes() {
    using http::Access;
    server.route("POST", "/_test/faults", Access::kPublic,
                 [this](const http::Request& req) { return post_faults(req); });
    server.route("DELETE", "/_test/faults", Access::kPublic, [this](const http::Request&) {
      std::lock_guard lock(mu);
      faults.clear();
      return http::json_response(200, Json{{"faults", 0}});
    });
    server.route("GET", "/_test/requests", Access::kPublic,
                 [this](const http::Request&) { return get_requests(); });
    server.route("DELETE", "/_test/requests", Access::kPublic, [this](const http::Request&) {
      std::lock_guard lock(mu);
      log.clear();
      return http::json_response(200, Json{{"requests", Json::array()}});
    });
    server.route("GET", "/api/models/([^/]+)/([^/]+)/tree/([^/]+)(/.*)?", Access::kPublic,
                 logged(&Impl::tree));
    server.route("GET", "/cdn/([^/]+)/([^/]+)/([0-9a-f]{64})", Access::kPublic, logged(&Impl::cdn));
    server.route("GET", "/([^/]+)/([^/]+)/resolve/([^/]+)/(.+)", Access::kPublic,
                 logged(&Impl::resolve));
    server.route("GET", "/([^/]+)/([^/]+)/raw/([^/]+)/(.+)", Access::kPublic, logged(&Impl::raw));
  }
};

HfTestServer::HfTestServer(HfTestServerOptions options) : impl_(std::make_unique<Impl>()) {
  impl_->options = std::move(options);
  impl_->add_routes();
  auto bound = impl_->server.bind(impl_->options.host, impl_->options.port);
  if (!bound) {
    std::fprintf(stderr, "hf-test-server: %s\n", bound.error().message.c_str());
    std::abort();
  }
  impl_->port = *bound;
  impl_->thread = std::thread([this] { impl_->server.run(); });
}

HfTestServer::~HfTestServer() {
  {
    std::lock_guard lock(impl_->stop_mu);
    impl_->stopping = true;
  }
  impl_->stop_cv.notify_all();
  impl_->server.stop();
  impl_->thread.join();
}

std::string HfTestServer::url() const {
  std::string host = impl_->options.host == "0.0.0.0" ? "127.0.0.1" : impl_->options.host;
  return "http://" + host + ":" + std::to_string(impl_->port);
}

void HfTestServer::add_file(const std::string& repo, const std::string& path, std::string content) {
  ServedFile file;
  file.path = path;
  file.size = content.size();
  Digest sha256(EVP_sha256());
  sha256.update(content);
  file.sha256 = sha256.hex();
  file.lfs = is_lfs_path(path);
  file.git_oid =
      file.lfs ? git_blob_oid(lfs_pointer(file.sha256, file.size)) : git_blob_oid(content);
  file.memory = std::make_shared<const std::string>(std::move(content));
  impl_->add(repo, std::move(file));
}

Status HfTestServer::add_file_from_disk(const std::string& repo, const std::string& path,
                                        const std::filesystem::path& source) {
  int fd = ::open(source.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return make_error(ErrorCode::kNotFound, "cannot open " + source.string());
  ServedFile file;
  file.path = path;
  file.disk = source;
  file.lfs = is_lfs_path(path);
  Digest sha256(EVP_sha256());
  std::string whole;  // only kept for files outside LFS, whose git oid needs all the bytes
  std::string buffer(1 << 20, '\0');
  while (true) {
    ssize_t n = ::read(fd, buffer.data(), buffer.size());
    if (n < 0) {
      ::close(fd);
      return make_error(ErrorCode::kInternal, "cannot read " + source.string());
    }
    if (n == 0) break;
    std::string_view piece(buffer.data(), static_cast<size_t>(n));
    sha256.update(piece);
    if (!file.lfs) whole.append(piece);
    file.size += static_cast<uint64_t>(n);
  }
  ::close(fd);
  file.sha256 = sha256.hex();
  file.git_oid = file.lfs ? git_blob_oid(lfs_pointer(file.sha256, file.size)) : git_blob_oid(whole);
  impl_->add(repo, std::move(file));
  return ok_status();
}

Status HfTestServer::add_folder(const std::string& repo, const std::filesystem::path& folder) {
  std::error_code ec;
  std::filesystem::recursive_directory_iterator it(folder, ec);
  if (ec) return make_error(ErrorCode::kNotFound, "cannot read " + folder.string());
  for (const auto& entry : it) {
    if (!entry.is_regular_file()) continue;
    RBEE_RETURN_IF_ERROR(add_file_from_disk(
        repo, entry.path().lexically_relative(folder).generic_string(), entry.path()));
  }
  return ok_status();
}

void HfTestServer::add_listed_only(const std::string& repo, const std::string& path, uint64_t size,
                                   const std::string& sha256) {
  ServedFile file;
  file.path = path;
  file.size = size;
  file.sha256 = sha256;
  file.lfs = true;
  file.git_oid = git_blob_oid(lfs_pointer(sha256, size));
  impl_->add(repo, std::move(file));
}

void HfTestServer::add_revision(const std::string& repo, const std::string& revision) {
  std::lock_guard lock(impl_->mu);
  impl_->repo_for_update(repo).revisions.insert(revision);
}

void HfTestServer::set_gated(const std::string& repo, const std::string& token) {
  std::lock_guard lock(impl_->mu);
  auto& entry = impl_->repo_for_update(repo);
  entry.gated = true;
  entry.gate_token = token;
}

std::string HfTestServer::commit_of(const std::string& repo) const {
  return sha1_hex("commit " + repo);
}

void HfTestServer::add_fault(HfFault fault) {
  std::lock_guard lock(impl_->mu);
  impl_->faults.push_back(std::move(fault));
}

void HfTestServer::clear_faults() {
  std::lock_guard lock(impl_->mu);
  impl_->faults.clear();
}

std::vector<HfRequestRecord> HfTestServer::requests() const {
  std::lock_guard lock(impl_->mu);
  return impl_->log;
}

void HfTestServer::clear_requests() {
  std::lock_guard lock(impl_->mu);
  impl_->log.clear();
}

std::optional<std::filesystem::path> HfTestServer::testdata_models_dir() {
#ifdef RBEE_TESTDATA_DIR
  std::filesystem::path models = std::filesystem::path(RBEE_TESTDATA_DIR) / "models";
  std::error_code ec;
  if (std::filesystem::is_directory(models, ec)) return models;
#endif
  return std::nullopt;
}

}  // namespace rbee::testing
