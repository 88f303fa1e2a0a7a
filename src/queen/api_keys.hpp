#pragma once

// Client API keys (ARCHITECTURE.md §6): when the queen listens beyond loopback, its OpenAI
// endpoints take `Authorization: Bearer <key>` with a key made by `rbee apikey create`. Keys
// live in the queen's SQLite database (<state>/queen.db) as SHA-256 hashes: the key itself is
// shown once, at creation, and can never be read back. Revoking keeps the row (who had which
// key, and when it ended) but the key stops working at once.

#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/result.hpp"
#include "contracts/json_reader.hpp"

struct sqlite3;

namespace rbee::queen {

struct ApiKeyInfo {
  std::string id;      // "key-<12 hex>"
  std::string name;    // what the user called it
  std::string prefix;  // the first characters of the key, to recognise it
  int64_t created_ms = 0;
  int64_t revoked_ms = 0;  // 0 while valid
};
contracts::Json to_json(const ApiKeyInfo& info);

struct CreatedApiKey {
  ApiKeyInfo info;
  std::string key;  // "rbee-sk-<64 hex>": shown once
};

class ApiKeyStore {
 public:
  // Opens (creating when needed, mode 0600) the database. kInternal naming the file on failure.
  static Result<std::unique_ptr<ApiKeyStore>> open(const std::filesystem::path& database);
  ~ApiKeyStore();
  ApiKeyStore(const ApiKeyStore&) = delete;
  ApiKeyStore& operator=(const ApiKeyStore&) = delete;

  // kInvalidArgument for an empty or over-long name or one with control characters.
  Result<CreatedApiKey> create(const std::string& name);
  Result<std::vector<ApiKeyInfo>> list();
  // kNotFound for an unknown id; revoking twice is fine.
  Result<ApiKeyInfo> revoke(const std::string& id);
  // Whether `key` is a key this store made and did not revoke.
  bool valid(const std::string& key);

 private:
  explicit ApiKeyStore(sqlite3* db) : db_(db) {}
  Result<std::vector<ApiKeyInfo>> query(const std::string& where, const std::string& bind);

  std::mutex mu_;
  sqlite3* db_;  // guarded by mu_
};

}  // namespace rbee::queen
