#pragma once

// The hive's catalog operations (ARCHITECTURE.md §5): model_download, model_list, model_get,
// model_delete and worker_binary_list|get|delete|install, each run as a job.

#include <functional>
#include <memory>
#include <string>

#include "catalog/model_catalog.hpp"
#include "catalog/worker_catalog.hpp"
#include "common/paths.hpp"
#include "contracts/operations.hpp"
#include "hive/shared_downloads.hpp"
#include "jobs/job_context.hpp"
#include "provision/hf_client.hpp"

namespace rbee::hive {

// What the catalog operations share for the life of the hive.
struct HiveCatalogs {
  HiveCatalogs(const Paths& paths, provision::HfClientOptions hf_options);

  // Run once at hive start, before any job: clears what an interrupted hive left behind and
  // marks downloads that were running then as failed (their partial files stay for a resume).
  void recover_after_restart();
  // Registers the built-in `cpu` worker type when llm-worker-rbee is beside `hive_executable`.
  Status register_builtin_worker(const std::filesystem::path& hive_executable);
  // The ready models, as the heartbeat reports them.
  contracts::Json model_summaries() const;

  Paths paths;
  catalog::ModelCatalog models;
  catalog::WorkerCatalog workers;
  SharedDownloads downloads;
  provision::HfClientOptions hf_options;
  // Whether a live worker of this hive serves the model (model_delete refuses then); the
  // worker supervisor sets it when the hive starts.
  std::function<bool(const std::string& model_id)> model_in_use = [](const std::string&) {
    return false;
  };
};

// The model entry `text` names: its catalog id, else the one entry that a model reference in
// `text` matches (with `ready_only`, the one ready entry it matches). kNotFound listing the
// catalog's ids; kInvalidArgument when the reference matches several entries.
Result<catalog::ArtifactEntry> find_model(const HiveCatalogs& catalogs, const std::string& text,
                                          bool ready_only = false);

Status run_model_download(HiveCatalogs& catalogs, const contracts::ModelDownloadOperation& op,
                          jobs::JobContext& job);
Status run_model_list(HiveCatalogs& catalogs, jobs::JobContext& job);
Status run_model_get(HiveCatalogs& catalogs, const contracts::ModelGetOperation& op,
                     jobs::JobContext& job);
Status run_model_delete(HiveCatalogs& catalogs, const contracts::ModelDeleteOperation& op,
                        jobs::JobContext& job);
Status run_worker_binary_list(HiveCatalogs& catalogs, jobs::JobContext& job);
Status run_worker_binary_get(HiveCatalogs& catalogs, const contracts::WorkerBinaryGetOperation& op,
                             jobs::JobContext& job);
Status run_worker_binary_delete(HiveCatalogs& catalogs,
                                const contracts::WorkerBinaryDeleteOperation& op,
                                jobs::JobContext& job);
Status run_worker_binary_install(HiveCatalogs& catalogs,
                                 const contracts::WorkerBinaryInstallOperation& op,
                                 jobs::JobContext& job);

// The catalog id a HuggingFace selection is stored under: `org/repo:QUANT` when the file's
// quant tag alone picks this file from the listing, else `org/repo:path`; `@revision` appended
// for revisions other than main.
std::string model_id_for(const provision::ModelReference& reference,
                         const provision::ModelSelection& selection,
                         const std::vector<provision::RepoFile>& listing);

}  // namespace rbee::hive
