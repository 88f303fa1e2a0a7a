#include "queen/api_keys.hpp"

#include <sqlite3.h>
#include <sys/stat.h>

#include "common/clock.hpp"
#include "common/random.hpp"
#include "common/sha256.hpp"

namespace rbee::queen {

using contracts::Json;

namespace {

constexpr const char* kKeyPrefix = "rbee-sk-";
constexpr size_t kShownPrefixLength = 12;

Error database_error(sqlite3* db, const std::string& what) {
  return Error{ErrorCode::kInternal, what + ": " + sqlite3_errmsg(db)};
}

// A prepared statement that finalizes itself.
class Statement {
 public:
  Statement(sqlite3* db, const char* sql) : db_(db) {
    if (sqlite3_prepare_v2(db, sql, -1, &stmt_, nullptr) != SQLITE_OK) stmt_ = nullptr;
  }
  ~Statement() { sqlite3_finalize(stmt_); }
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  bool ok() const { return stmt_ != nullptr; }
  void bind(int index, const std::string& text) {
    sqlite3_bind_text(stmt_, index, text.c_str(), static_cast<int>(text.size()), SQLITE_TRANSIENT);
  }
  void bind(int index, int64_t value) { sqlite3_bind_int64(stmt_, index, value); }
  int step() { return sqlite3_step(stmt_); }
  std::string text(int column) const {
    const unsigned char* value = sqlite3_column_text(stmt_, column);
    return value ? reinterpret_cast<const char*>(value) : "";
  }
  int64_t integer(int column) const { return sqlite3_column_int64(stmt_, column); }
  int changes() const { return sqlite3_changes(db_); }

 private:
  sqlite3* db_;
  sqlite3_stmt* stmt_ = nullptr;
};

}  // namespace

Json to_json(const ApiKeyInfo& info) {
  return Json{{"id", info.id},
              {"name", info.name},
              {"prefix", info.prefix},
              {"created_ms", info.created_ms},
              {"revoked_ms", info.revoked_ms},
              {"state", info.revoked_ms == 0 ? "active" : "revoked"}};
}

Result<std::unique_ptr<ApiKeyStore>> ApiKeyStore::open(const std::filesystem::path& database) {
  std::error_code ec;
  std::filesystem::create_directories(database.parent_path(), ec);
  sqlite3* db = nullptr;
  // The file holds key hashes only, but nobody else needs to read even those.
  mode_t previous = ::umask(077);
  int rc =
      sqlite3_open_v2(database.c_str(), &db,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX, nullptr);
  ::umask(previous);
  if (rc != SQLITE_OK) {
    Error error{ErrorCode::kInternal, "cannot open the queen database " + database.string() + ": " +
                                          (db ? sqlite3_errmsg(db) : "out of memory")};
    sqlite3_close(db);
    return error;
  }
  sqlite3_busy_timeout(db, 5000);
  const char* schema =
      "PRAGMA journal_mode=WAL;"
      "CREATE TABLE IF NOT EXISTS api_keys ("
      "  id TEXT PRIMARY KEY,"
      "  name TEXT NOT NULL,"
      "  key_sha256 TEXT NOT NULL UNIQUE,"
      "  prefix TEXT NOT NULL,"
      "  created_ms INTEGER NOT NULL,"
      "  revoked_ms INTEGER NOT NULL DEFAULT 0);";
  char* message = nullptr;
  if (sqlite3_exec(db, schema, nullptr, nullptr, &message) != SQLITE_OK) {
    Error error{ErrorCode::kInternal, "cannot prepare the queen database " + database.string() +
                                          ": " + (message ? message : "unknown error")};
    sqlite3_free(message);
    sqlite3_close(db);
    return error;
  }
  return std::unique_ptr<ApiKeyStore>(new ApiKeyStore(db));
}

ApiKeyStore::~ApiKeyStore() {
  sqlite3_close(db_);
}

Result<CreatedApiKey> ApiKeyStore::create(const std::string& name) {
  if (name.empty() || name.size() > 100) {
    return Error{ErrorCode::kInvalidArgument, "an API key name must be 1 to 100 characters"};
  }
  for (char c : name) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
      return Error{ErrorCode::kInvalidArgument,
                   "an API key name must not contain control characters"};
    }
  }
  CreatedApiKey created;
  created.key = kKeyPrefix + random_hex(32);
  created.info.id = "key-" + random_hex(6);
  created.info.name = name;
  created.info.prefix = created.key.substr(0, kShownPrefixLength);
  created.info.created_ms = now_unix_ms();
  std::lock_guard lock(mu_);
  Statement insert(db_,
                   "INSERT INTO api_keys (id, name, key_sha256, prefix, created_ms) "
                   "VALUES (?1, ?2, ?3, ?4, ?5)");
  if (!insert.ok()) return database_error(db_, "cannot store the API key");
  insert.bind(1, created.info.id);
  insert.bind(2, name);
  insert.bind(3, sha256_hex(created.key));
  insert.bind(4, created.info.prefix);
  insert.bind(5, created.info.created_ms);
  if (insert.step() != SQLITE_DONE) return database_error(db_, "cannot store the API key");
  return created;
}

Result<std::vector<ApiKeyInfo>> ApiKeyStore::query(const std::string& where,
                                                   const std::string& bind) {
  std::string sql = "SELECT id, name, prefix, created_ms, revoked_ms FROM api_keys " + where +
                    " ORDER BY created_ms, id";
  Statement select(db_, sql.c_str());
  if (!select.ok()) return database_error(db_, "cannot read the API keys");
  if (!bind.empty()) select.bind(1, bind);
  std::vector<ApiKeyInfo> out;
  int rc;
  while ((rc = select.step()) == SQLITE_ROW) {
    out.push_back(ApiKeyInfo{select.text(0), select.text(1), select.text(2), select.integer(3),
                             select.integer(4)});
  }
  if (rc != SQLITE_DONE) return database_error(db_, "cannot read the API keys");
  return out;
}

Result<std::vector<ApiKeyInfo>> ApiKeyStore::list() {
  std::lock_guard lock(mu_);
  return query("", "");
}

Result<ApiKeyInfo> ApiKeyStore::revoke(const std::string& id) {
  std::lock_guard lock(mu_);
  Statement update(db_, "UPDATE api_keys SET revoked_ms = ?1 WHERE id = ?2 AND revoked_ms = 0");
  if (!update.ok()) return database_error(db_, "cannot revoke the API key");
  update.bind(1, now_unix_ms());
  update.bind(2, id);
  if (update.step() != SQLITE_DONE) return database_error(db_, "cannot revoke the API key");
  RBEE_ASSIGN_OR_RETURN(std::vector<ApiKeyInfo> found, query("WHERE id = ?1", id));
  if (found.empty()) return Error{ErrorCode::kNotFound, "no API key '" + id + "'"};
  return found.front();
}

bool ApiKeyStore::valid(const std::string& key) {
  if (key.rfind(kKeyPrefix, 0) != 0) return false;
  std::lock_guard lock(mu_);
  Statement select(db_, "SELECT 1 FROM api_keys WHERE key_sha256 = ?1 AND revoked_ms = 0");
  if (!select.ok()) return false;
  select.bind(1, sha256_hex(key));
  return select.step() == SQLITE_ROW;
}

}  // namespace rbee::queen
