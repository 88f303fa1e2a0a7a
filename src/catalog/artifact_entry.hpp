#pragma once

// One entry of an artifact catalog (a model, a worker binary) and its JSON form, which is
// both what metadata.json holds and what the hive's list/get operations return.
//
//   {"id":"local:tiny","kind":"model","file":"tiny.gguf","size_bytes":1185376,
//    "state":"ready","progress":1.0,"error":"","created_ms":...,"updated_ms":...,
//    "metadata":{...kind-specific...}, "dir":"/home/u/.cache/rbee/models/local%3Atiny"}

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "common/result.hpp"
#include "contracts/json_reader.hpp"

namespace rbee::catalog {

using contracts::Json;

// Where an entry is in its life. Only kReady entries may be used (loaded, spawned).
enum class ArtifactState {
  kDownloading,  // files are arriving; `progress` says how far (0..1)
  kReady,        // complete and verified
  kFailed,       // gave up; `error` says why
};

// "downloading", "ready", "failed".
std::string_view state_name(ArtifactState state);
// The inverse of state_name(); nullopt for any other text.
std::optional<ArtifactState> parse_artifact_state(std::string_view name);

struct ArtifactEntry {
  std::string id;             // validated artifact id ("org/repo:Q4_K_M", "cpu")
  std::string kind;           // "model" or "worker"
  std::filesystem::path dir;  // the entry's folder (filled in by the catalog, never stored)
  // The main file, relative to dir ("x.gguf", "bin/llm-worker-rbee"); may be empty.
  std::string file;
  uint64_t size_bytes = 0;  // all of the entry's files together
  ArtifactState state = ArtifactState::kDownloading;
  double progress = 0.0;   // 0..1 while downloading; 1 when ready
  std::string error;       // why it failed (kFailed only)
  int64_t created_ms = 0;  // wall clock, ms since the Unix epoch
  int64_t updated_ms = 0;
  Json metadata = Json::object();  // kind-specific (model info and sources, worker version)

  // dir / file, or dir when there is no main file.
  std::filesystem::path file_path() const { return file.empty() ? dir : dir / file; }
  bool ready() const { return state == ArtifactState::kReady; }
};

// The entry as JSON. "dir" is written only when set (the catalog stores entries without it,
// so a moved cache folder stays valid).
Json to_json(const ArtifactEntry& entry);

// Reads an entry back. Unknown fields are ignored (a newer rbee may add some); missing
// optional fields take their defaults. kInvalidArgument naming the field when a field has
// the wrong type, the state is unknown, progress is outside 0..1, a size or time is
// negative, or `file` is not a plain relative path (absolute, or with "."/".." segments).
Result<ArtifactEntry> parse_artifact_entry(const Json& json);

// OK when `file` is empty or a relative path whose '/'-separated segments are neither empty,
// "." nor ".." (so dir / file stays inside dir). Else kInvalidArgument naming `field`.
Status validate_relative_file(const std::string& file, const std::string& field);

}  // namespace rbee::catalog
