#include "hive/worker_record.hpp"

#include "common/files.hpp"

namespace rbee::hive {

using contracts::Json;

Json summary_json(const WorkerRecord& record) {
  return Json{{"worker_id", record.worker_id},
              {"pid", record.pid},
              {"port", record.port},
              {"url", record.url},
              {"model", record.model},
              {"worker_type", record.worker_type},
              {"device", record.device},
              {"ctx", record.ctx},
              {"parallel", record.parallel},
              {"log_file", record.log_file},
              {"started_ms", record.started_ms}};
}

Json to_json(const WorkerRecord& record) {
  Json json = summary_json(record);
  json["start_ticks"] = record.start_ticks;
  json["model_path"] = record.model_path;
  json["threads"] = record.threads;
  json["binary"] = record.binary;
  json["argv"] = record.argv;
  return json;
}

Result<WorkerRecord> parse_worker_record(const Json& json) {
  contracts::ObjectReader reader(json, "");
  RBEE_RETURN_IF_ERROR(reader.expect_object());
  WorkerRecord record;
  int64_t pid = 0;
  int64_t start_ticks = 0;
  int64_t port = 0;
  RBEE_RETURN_IF_ERROR(reader.required_string("worker_id", record.worker_id));
  RBEE_RETURN_IF_ERROR(reader.required_int("pid", pid));
  RBEE_RETURN_IF_ERROR(reader.required_int("start_ticks", start_ticks));
  RBEE_RETURN_IF_ERROR(reader.required_int("port", port));
  RBEE_RETURN_IF_ERROR(reader.optional_string("url", record.url));
  RBEE_RETURN_IF_ERROR(reader.optional_string("model", record.model));
  RBEE_RETURN_IF_ERROR(reader.optional_string("model_path", record.model_path));
  RBEE_RETURN_IF_ERROR(reader.optional_string("worker_type", record.worker_type));
  RBEE_RETURN_IF_ERROR(reader.optional_string("device", record.device));
  RBEE_RETURN_IF_ERROR(reader.optional_int("ctx", record.ctx));
  RBEE_RETURN_IF_ERROR(reader.optional_int("parallel", record.parallel));
  RBEE_RETURN_IF_ERROR(reader.optional_int("threads", record.threads));
  RBEE_RETURN_IF_ERROR(reader.optional_string("binary", record.binary));
  RBEE_RETURN_IF_ERROR(reader.optional_string("log_file", record.log_file));
  RBEE_RETURN_IF_ERROR(reader.optional_int("started_ms", record.started_ms));
  if (const Json* argv = reader.optional_value("argv")) {
    if (!argv->is_array()) {
      return make_error(ErrorCode::kInvalidArgument, "field 'argv' must be an array");
    }
    for (const auto& arg : *argv) {
      if (!arg.is_string()) {
        return make_error(ErrorCode::kInvalidArgument, "field 'argv' must hold strings");
      }
      record.argv.push_back(arg.get<std::string>());
    }
  }
  if (pid <= 0 || port <= 0 || port > 65535 || start_ticks < 0) {
    return make_error(ErrorCode::kInvalidArgument,
                      "fields 'pid', 'port' or 'start_ticks' out of range");
  }
  record.pid = static_cast<pid_t>(pid);
  record.port = static_cast<int>(port);
  record.start_ticks = static_cast<uint64_t>(start_ticks);
  return record;
}

std::filesystem::path WorkerRecords::path_for(const std::string& worker_id) const {
  return dir_ / (worker_id + ".json");
}

Status WorkerRecords::write(const WorkerRecord& record) const {
  std::error_code ec;
  std::filesystem::create_directories(dir_, ec);
  return write_file_atomic(path_for(record.worker_id), to_json(record).dump(2) + "\n", 0600);
}

void WorkerRecords::remove(const std::string& worker_id) const {
  std::error_code ec;
  std::filesystem::remove(path_for(worker_id), ec);
}

WorkerRecords::Loaded WorkerRecords::load_all() const {
  Loaded loaded;
  std::error_code ec;
  for (const auto& item : std::filesystem::directory_iterator(dir_, ec)) {
    const auto& path = item.path();
    std::string name = path.filename().string();
    if (name.find(".json.tmp.") != std::string::npos) {
      std::filesystem::remove(path, ec);  // an interrupted write
      continue;
    }
    if (path.extension() != ".json") continue;
    auto text = read_file(path);
    if (!text) {
      loaded.invalid.emplace_back(path, text.error().message);
      continue;
    }
    auto json = contracts::parse_json_text(*text);
    auto record = json ? parse_worker_record(*json) : Result<WorkerRecord>(json.error());
    if (!record) {
      loaded.invalid.emplace_back(path, record.error().message);
      continue;
    }
    if (path_for(record->worker_id) != path) {
      loaded.invalid.emplace_back(path, "names worker '" + record->worker_id + "'");
      continue;
    }
    loaded.records.push_back(std::move(*record));
  }
  return loaded;
}

}  // namespace rbee::hive
