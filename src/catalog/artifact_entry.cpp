#include "catalog/artifact_entry.hpp"

namespace rbee::catalog {

std::string_view state_name(ArtifactState state) {
  switch (state) {
    case ArtifactState::kDownloading:
      return "downloading";
    case ArtifactState::kReady:
      return "ready";
    case ArtifactState::kFailed:
      return "failed";
  }
  return "failed";
}

std::optional<ArtifactState> parse_artifact_state(std::string_view name) {
  if (name == "downloading") return ArtifactState::kDownloading;
  if (name == "ready") return ArtifactState::kReady;
  if (name == "failed") return ArtifactState::kFailed;
  return std::nullopt;
}

Json to_json(const ArtifactEntry& entry) {
  Json json = {
      {"id", entry.id},
      {"kind", entry.kind},
      {"file", entry.file},
      {"size_bytes", entry.size_bytes},
      {"state", std::string(state_name(entry.state))},
      {"progress", entry.progress},
      {"error", entry.error},
      {"created_ms", entry.created_ms},
      {"updated_ms", entry.updated_ms},
      {"metadata", entry.metadata},
  };
  if (!entry.dir.empty()) json["dir"] = entry.dir.string();
  return json;
}

Status validate_relative_file(const std::string& file, const std::string& field) {
  if (file.empty()) return ok_status();
  auto invalid = [&](const std::string& reason) {
    return make_error(ErrorCode::kInvalidArgument,
                      "field '" + field + "' ('" + file + "') " + reason);
  };
  if (file.front() == '/') return invalid("must be a relative path");
  if (file.find('\0') != std::string::npos) return invalid("contains a NUL byte");
  size_t segment_start = 0;
  while (true) {
    size_t slash = file.find('/', segment_start);
    std::string_view segment(file.data() + segment_start,
                             (slash == std::string::npos ? file.size() : slash) - segment_start);
    if (segment.empty() || segment == "." || segment == "..") {
      return invalid("must not have empty, '.' or '..' path segments");
    }
    if (slash == std::string::npos) break;
    segment_start = slash + 1;
  }
  return ok_status();
}

Result<ArtifactEntry> parse_artifact_entry(const Json& json) {
  contracts::ObjectReader reader(json, "");
  RBEE_RETURN_IF_ERROR(reader.expect_object());
  ArtifactEntry entry;
  RBEE_RETURN_IF_ERROR(reader.required_string("id", entry.id));
  RBEE_RETURN_IF_ERROR(reader.required_string("kind", entry.kind));
  RBEE_RETURN_IF_ERROR(reader.optional_string("file", entry.file));
  RBEE_RETURN_IF_ERROR(validate_relative_file(entry.file, "file"));

  int64_t size_bytes = 0;
  RBEE_RETURN_IF_ERROR(reader.optional_int("size_bytes", size_bytes));
  if (size_bytes < 0) {
    return make_error(ErrorCode::kInvalidArgument, "field 'size_bytes' must not be negative");
  }
  entry.size_bytes = static_cast<uint64_t>(size_bytes);

  std::string state;
  RBEE_RETURN_IF_ERROR(reader.required_string("state", state));
  std::optional<ArtifactState> parsed_state = parse_artifact_state(state);
  if (!parsed_state) {
    return make_error(ErrorCode::kInvalidArgument,
                      "field 'state' must be downloading, ready or failed, got '" + state + "'");
  }
  entry.state = *parsed_state;

  RBEE_RETURN_IF_ERROR(reader.optional_number("progress", entry.progress));
  if (!(entry.progress >= 0.0 && entry.progress <= 1.0)) {
    return make_error(ErrorCode::kInvalidArgument, "field 'progress' must be between 0 and 1");
  }
  RBEE_RETURN_IF_ERROR(reader.optional_string("error", entry.error));
  RBEE_RETURN_IF_ERROR(reader.optional_int("created_ms", entry.created_ms));
  RBEE_RETURN_IF_ERROR(reader.optional_int("updated_ms", entry.updated_ms));
  if (entry.created_ms < 0 || entry.updated_ms < 0) {
    return make_error(ErrorCode::kInvalidArgument,
                      "fields 'created_ms' and 'updated_ms' must not be negative");
  }
  if (const Json* metadata = reader.optional_value("metadata")) {
    if (!metadata->is_object()) {
      return make_error(
          ErrorCode::kInvalidArgument,
          std::string("field 'metadata' must be an object, got ") + metadata->type_name());
    }
    entry.metadata = *metadata;
  }
  std::string dir;
  RBEE_RETURN_IF_ERROR(reader.optional_string("dir", dir));
  entry.dir = dir;
  return entry;
}

}  // namespace rbee::catalog
