#include "hive/catalog_operations.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <chrono>

#include "catalog/model_info.hpp"
#include "common/clock.hpp"
#include "provision/download.hpp"
#include "provision/hf_files.hpp"
#include "provision/model_reference.hpp"

namespace rbee::hive {
namespace {

using catalog::ArtifactEntry;
using catalog::ArtifactState;
using contracts::Json;

// How often a running download rewrites its entry's progress (each write is fsync'd).
constexpr int64_t kCatalogProgressIntervalMs = 1000;

std::string percent(double fraction) {
  return fmt::format("{:.0f}%", fraction * 100);
}

Json listing_json(const catalog::ArtifactListing& listing, const char* key) {
  Json entries = Json::array();
  for (const auto& entry : listing.entries) entries.push_back(catalog::to_json(entry));
  Json invalid = Json::array();
  for (const auto& bad : listing.invalid) {
    invalid.push_back(Json{{"dir", bad.dir.string()}, {"reason", bad.reason}});
  }
  return Json{{key, entries}, {"invalid", invalid}};
}

std::string describe_ids(const std::vector<ArtifactEntry>& entries) {
  std::string out;
  for (const auto& entry : entries) out += (out.empty() ? "" : ", ") + entry.id;
  return out.empty() ? "none" : out;
}

// ---- finding a model by id or by reference ----

bool entry_matches(const ArtifactEntry& entry, const provision::ModelReference& reference) {
  auto metadata = catalog::parse_model_metadata(entry.metadata);
  if (!metadata) return false;
  const auto& source = metadata->source;
  if (reference.is_local()) return source.type == "local" && source.path == reference.local_path;
  if (source.type != "huggingface" || source.repo != reference.repo) return false;
  if (source.revision != reference.revision) return false;
  if (!reference.file.empty()) {
    return std::find(source.files.begin(), source.files.end(), reference.file) !=
           source.files.end();
  }
  if (!reference.quant.empty()) {
    // The tag in the file name is what the reference matched when downloading.
    return (!source.files.empty() &&
            provision::quant_label_from_filename(source.files.front()) == reference.quant) ||
           (metadata->info && metadata->info->quant == reference.quant);
  }
  return true;
}

// ---- downloads ----

// Progress over all files of a model: the finished files plus the current one.
class DownloadProgress {
 public:
  DownloadProgress(HiveCatalogs& catalogs, std::string id, uint64_t total_bytes,
                   const SharedDownloads::ReportProgress& report)
      : catalogs_(catalogs), id_(std::move(id)), total_(total_bytes), report_(report) {}

  void start_file(const std::string& name, uint64_t offset) {
    file_ = name;
    offset_ = offset;
  }

  void on_progress(const provision::Progress& progress) {
    auto done = static_cast<int64_t>(offset_ + progress.bytes_done);
    double eta =
        progress.bytes_per_s > 0
            ? static_cast<double>(static_cast<int64_t>(total_) - done) / progress.bytes_per_s
            : -1;
    report_(
        {"download", file_, true, done, static_cast<int64_t>(total_), progress.bytes_per_s, eta});
    int64_t now = now_steady_ms();
    if (now - last_catalog_write_ms_ >= kCatalogProgressIntervalMs) {
      last_catalog_write_ms_ = now;
      double fraction =
          total_ > 0 ? std::clamp(static_cast<double>(done) / static_cast<double>(total_), 0.0, 1.0)
                     : 0.0;
      (void)catalogs_.models.artifacts().update(
          id_, [fraction](ArtifactEntry& entry) { entry.progress = fraction; });
    }
  }

 private:
  HiveCatalogs& catalogs_;
  std::string id_;
  uint64_t total_ = 0;
  const SharedDownloads::ReportProgress& report_;
  std::string file_;
  uint64_t offset_ = 0;
  int64_t last_catalog_write_ms_ = 0;
};

std::string local_file_name(const provision::RepoFile& file) {
  return std::filesystem::path(file.path).filename().string();
}

uint64_t bytes_on_disk(const std::filesystem::path& dir, const provision::RepoFile& file) {
  std::error_code ec;
  auto done = std::filesystem::path(dir) / local_file_name(file);
  if (auto size = std::filesystem::file_size(done, ec); !ec) return size;
  if (auto size = std::filesystem::file_size(provision::partial_path(done), ec); !ec) return size;
  return 0;
}

Status mark_failed(HiveCatalogs& catalogs, const std::string& id, const std::string& why) {
  auto updated = catalogs.models.artifacts().update(id, [&why](ArtifactEntry& entry) {
    entry.state = ArtifactState::kFailed;
    entry.error = why;
  });
  if (!updated) return std::move(updated).error();
  return ok_status();
}

// Downloads every file of `selection` into the entry's folder, verifies them and makes the
// entry ready. Runs as the one transfer SharedDownloads allows per model.
Status transfer_model(HiveCatalogs& catalogs, const provision::HfClient& client,
                      const provision::ModelReference& reference,
                      const provision::ModelSelection& selection, const std::string& id,
                      std::stop_token stop, const SharedDownloads::ReportProgress& report,
                      jobs::JobContext& job) {
  RBEE_ASSIGN_OR_RETURN(std::filesystem::path dir, catalogs.models.artifacts().entry_dir(id));
  catalog::ModelMetadata metadata;
  metadata.source.type = "huggingface";
  metadata.source.repo = reference.repo;
  metadata.source.revision = reference.revision;
  uint64_t already = 0;
  for (const auto& file : selection.files) {
    metadata.source.files.push_back(file.path);
    metadata.files.push_back({local_file_name(file), file.size, "", false});
    already += bytes_on_disk(dir, file);
  }
  ArtifactEntry entry;
  if (auto existing = catalogs.models.get(id)) entry = *existing;
  entry.id = id;
  entry.file = local_file_name(selection.files.front());
  entry.size_bytes = selection.total_size();
  entry.state = ArtifactState::kDownloading;
  entry.error.clear();
  entry.progress = selection.total_size() > 0
                       ? std::min(1.0, static_cast<double>(already) /
                                           static_cast<double>(selection.total_size()))
                       : 0.0;
  entry.metadata = catalog::to_json(metadata);
  RBEE_RETURN_IF_ERROR(catalogs.models.put(entry));
  if (already > 0) {
    job.narrate("download_resume", fmt::format("Resuming {}: {} already on disk", id,
                                               provision::describe_bytes(already)));
  }

  DownloadProgress progress(catalogs, id, selection.total_size(), report);
  uint64_t offset = 0;
  for (size_t i = 0; i < selection.files.size(); ++i) {
    const auto& file = selection.files[i];
    job.narrate(
        "download_file",
        fmt::format("Downloading {} ({}){}", file.path, provision::describe_bytes(file.size),
                    selection.files.size() > 1
                        ? fmt::format(", part {} of {}", i + 1, selection.files.size())
                        : ""));
    progress.start_file(file.path, offset);
    Status downloaded = client.download_file(
        reference.repo, reference.revision, file, dir / local_file_name(file),
        [&progress](const provision::Progress& p) { progress.on_progress(p); }, stop);
    if (!downloaded) {
      const Error& error = downloaded.error();
      std::string why = error.code == ErrorCode::kCancelled
                            ? "download cancelled; the partial file is kept: download again to "
                              "resume"
                            : error.message;
      (void)mark_failed(catalogs, id, why);
      return downloaded;
    }
    metadata.files[i].sha256 = file.sha256;
    offset += file.size;
  }

  // The bytes match the listing's hashes; they must also be a model this hive can load.
  job.narrate("download_verify", "Checking that " + id + " is a valid GGUF model");
  auto info = catalog::describe_gguf(dir / entry.file);
  if (!info) {
    std::string why = "downloaded file is not a usable GGUF model: " + info.error().message;
    for (const auto& file : selection.files) {
      std::error_code ec;
      std::filesystem::remove(dir / local_file_name(file), ec);
    }
    (void)mark_failed(catalogs, id, why);
    return Error{ErrorCode::kInvalidArgument, why};
  }
  metadata.info = *info;
  auto ready = catalogs.models.artifacts().update(id, [&](ArtifactEntry& stored) {
    stored.state = ArtifactState::kReady;
    stored.progress = 1.0;
    stored.error.clear();
    stored.size_bytes = selection.total_size();
    stored.metadata = catalog::to_json(metadata);
  });
  if (!ready) return std::move(ready).error();
  return ok_status();
}

Status import_local_model(HiveCatalogs& catalogs, const provision::ModelReference& reference,
                          jobs::JobContext& job) {
  job.narrate("import_start", "Importing " + reference.local_path.string());
  catalog::ImportOptions options;
  options.stop = job.stop_token();
  std::string file = reference.local_path.filename().string();
  options.progress = [&job, &file](uint64_t done, uint64_t total) {
    job.progress(
        {"import", file, true, static_cast<int64_t>(done), static_cast<int64_t>(total), 0, -1});
  };
  RBEE_ASSIGN_OR_RETURN(ArtifactEntry entry,
                        catalogs.models.import_local_gguf(reference.local_path, options));
  job.narrate("import_done", "Model " + entry.id + " is ready (" +
                                 provision::describe_bytes(entry.size_bytes) + ")");
  job.result(Json{{"model", catalog::to_json(entry)}});
  return ok_status();
}

}  // namespace

Result<ArtifactEntry> find_model(const HiveCatalogs& catalogs, const std::string& text,
                                 bool ready_only) {
  auto exact = catalogs.models.get(text);
  if (exact) return exact;
  // Not an id (or not a valid one, like a path): it may still be a reference to an entry.
  if (exact.error().code != ErrorCode::kNotFound &&
      exact.error().code != ErrorCode::kInvalidArgument) {
    return exact;
  }
  auto listing = catalogs.models.list();
  std::vector<ArtifactEntry> matches;
  if (auto reference = provision::parse_model_reference(text, "")) {
    for (const auto& entry : listing.entries) {
      if ((!ready_only || entry.ready()) && entry_matches(entry, *reference)) {
        matches.push_back(entry);
      }
    }
  }
  if (matches.size() == 1) return matches.front();
  if (matches.size() > 1) {
    return Error{ErrorCode::kInvalidArgument, "'" + text + "' matches several models: " +
                                                  describe_ids(matches) + "; name one by its id"};
  }
  return Error{ErrorCode::kNotFound, "model '" + text +
                                         "' is not in this hive's catalog (it has: " +
                                         describe_ids(listing.entries) + ")"};
}

HiveCatalogs::HiveCatalogs(const Paths& paths_in, provision::HfClientOptions hf)
    : paths(paths_in),
      models(paths_in.cache_dir),
      workers(paths_in.cache_dir),
      hf_options(std::move(hf)) {}

void HiveCatalogs::recover_after_restart() {
  models.remove_leftovers();
  workers.remove_leftovers();
  for (const auto& entry : models.list().entries) {
    if (entry.state != ArtifactState::kDownloading) continue;
    (void)mark_failed(*this, entry.id,
                      "interrupted: the hive stopped during the download at " +
                          percent(entry.progress) + "; download again to resume");
  }
}

Status HiveCatalogs::register_builtin_worker(const std::filesystem::path& hive_executable) {
  auto binary = catalog::builtin_worker_path(hive_executable);
  if (!std::filesystem::exists(binary)) {
    return Error{ErrorCode::kNotFound, "the cpu worker " + binary.string() + " is not installed"};
  }
  auto registered = workers.register_builtin(catalog::kBuiltinCpuWorkerType, binary);
  if (!registered) return std::move(registered).error();
  return ok_status();
}

Json HiveCatalogs::model_summaries() const {
  Json out = Json::array();
  for (const auto& entry : models.list().entries) {
    if (!entry.ready()) continue;
    Json summary{{"id", entry.id}, {"size_bytes", entry.size_bytes}};
    if (auto metadata = catalog::parse_model_metadata(entry.metadata); metadata && metadata->info) {
      summary["architecture"] = metadata->info->architecture;
      summary["quant"] = metadata->info->quant;
      summary["n_parameters"] = metadata->info->n_parameters;
      summary["context_length"] = metadata->info->context_length;
      summary["kv_bytes_per_token"] = metadata->info->kv_bytes_per_token;
    }
    out.push_back(summary);
  }
  return out;
}

std::string model_id_for(const provision::ModelReference& reference,
                         const provision::ModelSelection& selection,
                         const std::vector<provision::RepoFile>& listing) {
  const auto& first = selection.files.front();
  std::string id = reference.repo + ":" + first.path;
  std::string quant = provision::quant_label_from_filename(first.path);
  if (!quant.empty()) {
    provision::ModelReference by_quant;
    by_quant.repo = reference.repo;
    by_quant.quant = quant;
    auto picked = provision::select_gguf(listing, by_quant);
    if (picked && picked->files.front().path == first.path) id = reference.repo + ":" + quant;
  }
  if (reference.revision != "main") id += "@" + reference.revision;
  return id;
}

Status run_model_download(HiveCatalogs& catalogs, const contracts::ModelDownloadOperation& op,
                          jobs::JobContext& job) {
  RBEE_ASSIGN_OR_RETURN(provision::ModelReference reference,
                        provision::parse_model_reference(op.model, op.revision));
  if (reference.is_local()) return import_local_model(catalogs, reference, job);

  provision::HfClient client(catalogs.hf_options);
  job.narrate("download_resolve",
              "Looking up " + reference.canonical() + " on " + catalogs.hf_options.endpoint);
  RBEE_ASSIGN_OR_RETURN(auto listing,
                        client.list_files(reference.repo, reference.revision, job.stop_token()));
  RBEE_ASSIGN_OR_RETURN(provision::ModelSelection selection,
                        provision::select_gguf(listing, reference));
  std::string id = model_id_for(reference, selection, listing);
  job.narrate("download_selected",
              fmt::format("{} is {} ({} file{}, {})", reference.canonical(), id,
                          selection.files.size(), selection.files.size() == 1 ? "" : "s",
                          provision::describe_bytes(selection.total_size())));

  auto existing = catalogs.models.get(id);
  bool already_ready =
      existing && existing->ready() && std::filesystem::exists(existing->file_path());
  if (!already_ready) {
    Status transferred = catalogs.downloads.run_or_join(
        id,
        [&](std::stop_token stop, const SharedDownloads::ReportProgress& report) -> Status {
          // A follower that takes over finds the model ready when the driver finished first.
          if (auto now = catalogs.models.get(id); now && now->ready()) return ok_status();
          return transfer_model(catalogs, client, reference, selection, id, stop, report, job);
        },
        job);
    if (!transferred) return transferred;
  } else {
    job.narrate("download_skip", id + " is already downloaded and verified");
  }
  RBEE_ASSIGN_OR_RETURN(ArtifactEntry entry, catalogs.models.get(id));
  job.narrate("download_done", fmt::format("Model {} is ready ({})", id,
                                           provision::describe_bytes(entry.size_bytes)));
  job.result(Json{{"model", catalog::to_json(entry)}});
  return ok_status();
}

Status run_model_list(HiveCatalogs& catalogs, jobs::JobContext& job) {
  job.result(listing_json(catalogs.models.list(), "models"));
  return ok_status();
}

Status run_model_get(HiveCatalogs& catalogs, const contracts::ModelGetOperation& op,
                     jobs::JobContext& job) {
  RBEE_ASSIGN_OR_RETURN(ArtifactEntry entry, find_model(catalogs, op.id));
  job.result(Json{{"model", catalog::to_json(entry)}});
  return ok_status();
}

Status run_model_delete(HiveCatalogs& catalogs, const contracts::ModelDeleteOperation& op,
                        jobs::JobContext& job) {
  RBEE_ASSIGN_OR_RETURN(ArtifactEntry entry, find_model(catalogs, op.id));
  if (catalogs.downloads.active(entry.id)) {
    return Error{ErrorCode::kFailedPrecondition,
                 "model " + entry.id + " is being downloaded; cancel that job first"};
  }
  if (catalogs.model_in_use(entry.id)) {
    if (!op.force) {
      return Error{ErrorCode::kFailedPrecondition,
                   "model " + entry.id + " is in use by a worker; stop it or delete with --force"};
    }
    job.narrate("model_delete_forced", "Deleting " + entry.id + " although a worker uses it",
                "warn");
  }
  RBEE_RETURN_IF_ERROR(catalogs.models.remove(entry.id));
  job.narrate("model_deleted", "Deleted " + entry.id + " (" +
                                   provision::describe_bytes(entry.size_bytes) + " freed)");
  job.result(Json{{"deleted", entry.id}});
  return ok_status();
}

Status run_worker_binary_list(HiveCatalogs& catalogs, jobs::JobContext& job) {
  job.result(listing_json(catalogs.workers.list(), "workers"));
  return ok_status();
}

Status run_worker_binary_get(HiveCatalogs& catalogs, const contracts::WorkerBinaryGetOperation& op,
                             jobs::JobContext& job) {
  RBEE_RETURN_IF_ERROR(catalog::validate_worker_type(op.worker_type));
  RBEE_ASSIGN_OR_RETURN(ArtifactEntry entry, catalogs.workers.get(op.worker_type));
  job.result(Json{{"worker", catalog::to_json(entry)}});
  return ok_status();
}

Status run_worker_binary_delete(HiveCatalogs& catalogs,
                                const contracts::WorkerBinaryDeleteOperation& op,
                                jobs::JobContext& job) {
  RBEE_RETURN_IF_ERROR(catalogs.workers.remove(op.worker_type));
  job.narrate("worker_binary_deleted", "Deleted worker type " + op.worker_type);
  job.result(Json{{"deleted", op.worker_type}});
  return ok_status();
}

Status run_worker_binary_install(HiveCatalogs& catalogs,
                                 const contracts::WorkerBinaryInstallOperation& op,
                                 jobs::JobContext& job) {
  RBEE_RETURN_IF_ERROR(catalog::validate_worker_type(op.worker_type));
  bool is_url = op.source.starts_with("http://") || op.source.starts_with("https://");
  if (!is_url && op.source.find("://") != std::string::npos) {
    return Error{ErrorCode::kInvalidArgument,
                 "field 'source': only local paths and http(s) URLs can be installed"};
  }
  if (!is_url && !std::filesystem::path(op.source).is_absolute()) {
    return Error{ErrorCode::kInvalidArgument,
                 "field 'source': a local path must be absolute (it is read on the hive's "
                 "machine)"};
  }
  catalog::WorkerInstallOptions options;
  options.expected_sha256 = op.sha256;
  options.stop = job.stop_token();
  std::filesystem::path source = op.source;
  std::filesystem::path download_dir;
  if (is_url) {
    // Downloaded beside the catalog (same file system), installed from there, then removed.
    download_dir = catalogs.paths.cache_dir / "workers" /
                   (".download-" + std::to_string(::getpid()) + "-" + job.job_id());
    std::error_code ec;
    std::filesystem::create_directories(download_dir, ec);
    std::string name = op.source.substr(op.source.find_last_of('/') + 1);
    name = name.substr(0, name.find_first_of("?#"));
    if (name.empty() || name == "." || name == "..") name = op.worker_type;
    source = download_dir / name;
    options.binary_name = name;
    job.narrate("worker_binary_download", "Downloading " + op.source);
    Status downloaded = provision::download_url(
        op.source, source, op.sha256.empty() ? std::nullopt : std::optional<std::string>(op.sha256),
        [&job, &name](const provision::Progress& p) {
          job.progress({"download", name, true, static_cast<int64_t>(p.bytes_done),
                        static_cast<int64_t>(p.bytes_total), p.bytes_per_s, p.eta_s});
        },
        job.stop_token(), catalogs.hf_options.transfer);
    if (!downloaded) {
      std::filesystem::remove_all(download_dir, ec);
      return downloaded;
    }
  }
  job.narrate("worker_binary_install", "Installing worker type " + op.worker_type);
  auto installed = catalogs.workers.install_from_file(op.worker_type, source, options);
  if (!download_dir.empty()) {
    std::error_code ec;
    std::filesystem::remove_all(download_dir, ec);
  }
  if (!installed) return std::move(installed).error();
  auto metadata = catalog::parse_worker_metadata(installed->metadata);
  job.narrate("worker_binary_installed",
              "Worker type " + op.worker_type + " is ready" +
                  (metadata && !metadata->version.empty() ? " (" + metadata->version + ")" : ""));
  job.result(Json{{"worker", catalog::to_json(*installed)}});
  return ok_status();
}

}  // namespace rbee::hive
