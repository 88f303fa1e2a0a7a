#include "catalog/worker_catalog.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <chrono>
#include <filesystem>

#include "catalog/program_runner.hpp"
#include "catalog/test_models.hpp"
#include "common/sha256.hpp"
#include "common/test_dir.hpp"

namespace rbee::catalog {
namespace {

namespace fs = std::filesystem;
using ::rbee::catalog::testing::hidden_names;
using ::rbee::catalog::testing::read_text_file;
using ::rbee::catalog::testing::write_text_file;

constexpr const char* kVersionScript = "#!/bin/sh\necho 'fake-worker 1.2.3'\necho 'built today'\n";

mode_t permissions_of(const fs::path& path) {
  struct stat info {};
  EXPECT_EQ(::stat(path.c_str(), &info), 0) << path;
  return info.st_mode & 07777;
}

class WorkerCatalogTest : public ::testing::Test {
 protected:
  fs::path cache() const { return dir_.path() / "cache"; }
  fs::path workers_root() const { return cache() / "workers"; }
  // A file with `text`, not executable (as a download would be).
  fs::path source_file(const std::string& name, const std::string& text) {
    fs::path path = dir_.path() / "sources" / name;
    fs::create_directories(path.parent_path());
    write_text_file(path, text);
    fs::permissions(path, fs::perms(0644));
    return path;
  }
  // Nothing at all under workers/ but committed entries.
  void expect_no_leftovers() {
    if (fs::exists(workers_root())) {
      EXPECT_TRUE(hidden_names(workers_root()).empty());
    }
  }

  rbee::testing::TestDir dir_;
  WorkerCatalog catalog_{cache()};
};

TEST_F(WorkerCatalogTest, InstallsAScriptThatAnswersVersion) {
  fs::path source = source_file("fake-worker", kVersionScript);
  Result<ArtifactEntry> entry = catalog_.install_from_file("llamacpp", source);
  ASSERT_TRUE(entry) << entry.error().message;
  EXPECT_EQ(entry->id, "llamacpp");
  EXPECT_EQ(entry->kind, "worker");
  EXPECT_TRUE(entry->ready());
  EXPECT_EQ(entry->dir, workers_root() / "llamacpp");
  EXPECT_EQ(entry->file, "bin/fake-worker");
  EXPECT_EQ(entry->size_bytes, fs::file_size(source));
  EXPECT_EQ(permissions_of(entry->file_path()), 0755u);
  EXPECT_EQ(read_text_file(entry->file_path()), kVersionScript);

  Result<WorkerMetadata> metadata = parse_worker_metadata(entry->metadata);
  ASSERT_TRUE(metadata) << metadata.error().message;
  EXPECT_FALSE(metadata->builtin);
  EXPECT_EQ(metadata->version, "fake-worker 1.2.3");
  EXPECT_EQ(metadata->source, source.string());
  EXPECT_EQ(metadata->sha256, *sha256_file(source));

  Result<fs::path> binary = catalog_.binary_path("llamacpp");
  ASSERT_TRUE(binary) << binary.error().message;
  EXPECT_EQ(*binary, entry->file_path());
  EXPECT_EQ(catalog_.list().entries.size(), 1u);
  expect_no_leftovers();
}

TEST_F(WorkerCatalogTest, AcceptsTheExpectedHashInEitherCase) {
  fs::path source = source_file("w", kVersionScript);
  WorkerInstallOptions options;
  options.expected_sha256 = to_lower_ascii(sha256_hex(kVersionScript));
  for (char& c : options.expected_sha256) c = static_cast<char>(std::toupper(c));
  options.binary_name = "llama-server";
  Result<ArtifactEntry> entry = catalog_.install_from_file("llamacpp", source, options);
  ASSERT_TRUE(entry) << entry.error().message;
  EXPECT_EQ(entry->file, "bin/llama-server");
}

TEST_F(WorkerCatalogTest, HashMismatchNamesBothHashesAndLeavesNothing) {
  fs::path source = source_file("w", kVersionScript);
  WorkerInstallOptions options;
  options.expected_sha256 = std::string(64, '0');
  Result<ArtifactEntry> entry = catalog_.install_from_file("llamacpp", source, options);
  ASSERT_FALSE(entry);
  EXPECT_EQ(entry.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(entry.error().message.find(std::string(64, '0')), std::string::npos)
      << entry.error().message;
  EXPECT_NE(entry.error().message.find(sha256_hex(kVersionScript)), std::string::npos)
      << entry.error().message;
  EXPECT_EQ(catalog_.get("llamacpp").error().code, ErrorCode::kNotFound);
  expect_no_leftovers();

  options.expected_sha256 = "abc";
  EXPECT_EQ(catalog_.install_from_file("llamacpp", source, options).error().code,
            ErrorCode::kInvalidArgument);
}

TEST_F(WorkerCatalogTest, AProgramThatFailsVersionIsRejected) {
  fs::path source = source_file("broken", "#!/bin/sh\necho 'missing libcuda.so' >&2\nexit 1\n");
  Result<ArtifactEntry> entry = catalog_.install_from_file("cuda", source);
  ASSERT_FALSE(entry);
  EXPECT_EQ(entry.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(entry.error().message.find("exited with status 1"), std::string::npos)
      << entry.error().message;
  EXPECT_NE(entry.error().message.find("missing libcuda.so"), std::string::npos)
      << entry.error().message;
  EXPECT_EQ(catalog_.get("cuda").error().code, ErrorCode::kNotFound);
  expect_no_leftovers();
}

TEST_F(WorkerCatalogTest, AFileThatIsNotAProgramIsRejected) {
  fs::path source = source_file("readme.txt", "just some text\n");
  Result<ArtifactEntry> entry = catalog_.install_from_file("text", source);
  ASSERT_FALSE(entry);
  EXPECT_EQ(entry.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(entry.error().message.find("not an executable program"), std::string::npos)
      << entry.error().message;
  expect_no_leftovers();

  // A script whose interpreter does not exist cannot run either.
  fs::path no_interpreter = source_file("odd", "#!/nonexistent/interpreter\n");
  Result<ArtifactEntry> odd = catalog_.install_from_file("odd", no_interpreter);
  ASSERT_FALSE(odd);
  EXPECT_EQ(odd.error().code, ErrorCode::kInvalidArgument);
  expect_no_leftovers();
}

TEST_F(WorkerCatalogTest, AProgramThatHangsIsStoppedAndRejected) {
  fs::path source = source_file("slow", "#!/bin/sh\nsleep 30\n");
  WorkerInstallOptions options;
  options.version_timeout = std::chrono::milliseconds(300);
  auto started = std::chrono::steady_clock::now();
  Result<ArtifactEntry> entry = catalog_.install_from_file("slow", source, options);
  auto elapsed = std::chrono::steady_clock::now() - started;
  ASSERT_FALSE(entry);
  EXPECT_EQ(entry.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(entry.error().message.find("did not finish"), std::string::npos)
      << entry.error().message;
  EXPECT_LT(elapsed, std::chrono::seconds(10));
  expect_no_leftovers();
}

TEST_F(WorkerCatalogTest, MissingSourceAndBadNames) {
  EXPECT_EQ(catalog_.install_from_file("llamacpp", dir_.path() / "nothing").error().code,
            ErrorCode::kNotFound);
  fs::path source = source_file("w", kVersionScript);
  EXPECT_EQ(catalog_.install_from_file("../x", source).error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(catalog_.install_from_file("a:b", source).error().code, ErrorCode::kInvalidArgument);
  WorkerInstallOptions options;
  options.binary_name = "../escape";
  EXPECT_EQ(catalog_.install_from_file("w", source, options).error().code,
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(catalog_.install_from_file("w", dir_.path()).error().code,
            ErrorCode::kInvalidArgument);  // a folder
  expect_no_leftovers();
}

TEST_F(WorkerCatalogTest, ReinstallingReplacesAndAFailedReinstallKeepsThePrevious) {
  fs::path v1 = source_file("worker-v1", "#!/bin/sh\necho v1\n");
  fs::path v2 = source_file("worker-v2", "#!/bin/sh\necho v2\n");
  fs::path bad = source_file("worker-bad", "#!/bin/sh\nexit 3\n");
  Result<ArtifactEntry> first = catalog_.install_from_file("custom", v1);
  ASSERT_TRUE(first) << first.error().message;
  Result<ArtifactEntry> second = catalog_.install_from_file("custom", v2);
  ASSERT_TRUE(second) << second.error().message;
  EXPECT_EQ(second->metadata["version"], "v2");
  EXPECT_EQ(second->created_ms, first->created_ms);
  EXPECT_FALSE(fs::exists(second->dir / "bin" / "worker-v1"));  // the old binary went with it

  EXPECT_FALSE(catalog_.install_from_file("custom", bad));
  Result<ArtifactEntry> kept = catalog_.get("custom");
  ASSERT_TRUE(kept);
  EXPECT_EQ(kept->metadata["version"], "v2");
  EXPECT_TRUE(fs::exists(kept->file_path()));
  EXPECT_EQ(catalog_.list().entries.size(), 1u);
  expect_no_leftovers();
}

TEST_F(WorkerCatalogTest, BuiltinWorkerIsLinkedNotCopied) {
  fs::path hive_dir = dir_.path() / "install" / "bin";
  fs::create_directories(hive_dir);
  fs::path worker = builtin_worker_path(hive_dir / "rbee-hive");
  EXPECT_EQ(worker, hive_dir / "llm-worker-rbee");
  write_text_file(worker, kVersionScript);
  fs::permissions(worker, fs::perms(0755));

  Result<ArtifactEntry> entry = catalog_.register_builtin(kBuiltinCpuWorkerType, worker);
  ASSERT_TRUE(entry) << entry.error().message;
  EXPECT_EQ(entry->id, "cpu");
  EXPECT_TRUE(entry->ready());
  EXPECT_EQ(entry->file, "bin/llm-worker-rbee");
  EXPECT_TRUE(fs::is_symlink(entry->file_path()));
  EXPECT_EQ(fs::read_symlink(entry->file_path()), worker);
  EXPECT_EQ(entry->size_bytes, fs::file_size(worker));
  Result<WorkerMetadata> metadata = parse_worker_metadata(entry->metadata);
  ASSERT_TRUE(metadata);
  EXPECT_TRUE(metadata->builtin);
  EXPECT_EQ(metadata->version, RBEE_VERSION);
  EXPECT_EQ(metadata->binary, worker.string());
  Result<fs::path> binary = catalog_.binary_path("cpu");
  ASSERT_TRUE(binary) << binary.error().message;
  EXPECT_TRUE(fs::equivalent(*binary, worker));

  // Registering again at the next start keeps the entry; a new version updates it.
  Result<ArtifactEntry> again = catalog_.register_builtin("cpu", worker);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->updated_ms, entry->updated_ms);
  Result<ArtifactEntry> upgraded = catalog_.register_builtin("cpu", worker, "9.9.9");
  ASSERT_TRUE(upgraded);
  EXPECT_EQ(upgraded->metadata["version"], "9.9.9");
  EXPECT_EQ(upgraded->created_ms, entry->created_ms);

  // Built-in types can be neither deleted nor replaced by an install.
  Status removed = catalog_.remove("cpu");
  ASSERT_FALSE(removed);
  EXPECT_EQ(removed.error().code, ErrorCode::kFailedPrecondition);
  Result<ArtifactEntry> replaced =
      catalog_.install_from_file("cpu", source_file("other", kVersionScript));
  ASSERT_FALSE(replaced);
  EXPECT_EQ(replaced.error().code, ErrorCode::kFailedPrecondition);
  EXPECT_TRUE(fs::exists(worker));
  EXPECT_EQ(catalog_.list().entries.size(), 1u);
  expect_no_leftovers();
}

TEST_F(WorkerCatalogTest, BuiltinWorkerMustExistAndBeExecutable) {
  Result<ArtifactEntry> missing = catalog_.register_builtin("cpu", dir_.path() / "llm-worker-rbee");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, ErrorCode::kNotFound);
  fs::path plain = source_file("llm-worker-rbee", kVersionScript);  // mode 0644
  Result<ArtifactEntry> not_executable = catalog_.register_builtin("cpu", plain);
  ASSERT_FALSE(not_executable);
  EXPECT_EQ(not_executable.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(catalog_.binary_path("cpu").error().code, ErrorCode::kNotFound);
  expect_no_leftovers();
}

TEST_F(WorkerCatalogTest, RemoveDeletesAnInstalledType) {
  ASSERT_TRUE(catalog_.install_from_file("custom", source_file("w", kVersionScript)));
  ASSERT_TRUE(catalog_.remove("custom"));
  EXPECT_EQ(catalog_.get("custom").error().code, ErrorCode::kNotFound);
  EXPECT_FALSE(fs::exists(workers_root() / "custom"));
  EXPECT_EQ(catalog_.remove("custom").error().code, ErrorCode::kNotFound);
  EXPECT_EQ(catalog_.remove("../x").error().code, ErrorCode::kInvalidArgument);
  expect_no_leftovers();
}

TEST_F(WorkerCatalogTest, BinaryPathNeedsAReadyEntry) {
  ArtifactEntry downloading;
  downloading.id = "later";
  ASSERT_TRUE(catalog_.artifacts().put(downloading));
  Result<fs::path> binary = catalog_.binary_path("later");
  ASSERT_FALSE(binary);
  EXPECT_EQ(binary.error().code, ErrorCode::kFailedPrecondition);
}

TEST_F(WorkerCatalogTest, FoldersThatAreNotWorkerTypesListAsInvalid) {
  ASSERT_TRUE(catalog_.install_from_file("good", source_file("w", kVersionScript)));
  fs::create_directories(workers_root() / "a%3Ab");  // "a:b"
  ArtifactListing listing = catalog_.list();
  ASSERT_EQ(listing.entries.size(), 1u);
  ASSERT_EQ(listing.invalid.size(), 1u);
  EXPECT_NE(listing.invalid[0].reason.find("worker_type"), std::string::npos)
      << listing.invalid[0].reason;
}

TEST(WorkerTypeTest, Validation) {
  for (const char* good : {"cpu", "llamacpp", "cuda-12_x", "A1"}) {
    EXPECT_TRUE(validate_worker_type(good)) << good;
  }
  for (const std::string& bad :
       std::vector<std::string>{"", "a/b", "a:b", "../x", ".", "..", "a b", "a\nb", "ü",
                                std::string(kMaxWorkerTypeBytes + 1, 'a')}) {
    Status status = validate_worker_type(bad);
    ASSERT_FALSE(status) << bad;
    EXPECT_EQ(status.error().code, ErrorCode::kInvalidArgument);
    EXPECT_NE(status.error().message.find("worker_type"), std::string::npos);
  }
}

TEST(RunProgramTest, CapturesOutputAndExitCode) {
  Result<ProgramOutput> output =
      run_program({"/bin/sh", "-c", "echo out; echo err >&2; exit 7"}, std::chrono::seconds(5));
  ASSERT_TRUE(output) << output.error().message;
  EXPECT_EQ(output->exit_code, 7);
  EXPECT_EQ(output->stdout_text, "out\n");
  EXPECT_EQ(output->stderr_text, "err\n");
}

TEST(RunProgramTest, ArgumentsAreNotInterpretedByAShell) {
  Result<ProgramOutput> output =
      run_program({"/bin/echo", "$HOME; rm -rf /", "`id`"}, std::chrono::seconds(5));
  ASSERT_TRUE(output) << output.error().message;
  EXPECT_EQ(output->stdout_text, "$HOME; rm -rf / `id`\n");
}

TEST(RunProgramTest, BoundsWhatItKeeps) {
  Result<ProgramOutput> output =
      run_program({"/bin/sh", "-c", "head -c 1000000 /dev/zero"}, std::chrono::seconds(10));
  ASSERT_TRUE(output) << output.error().message;
  EXPECT_EQ(output->exit_code, 0);
  EXPECT_EQ(output->stdout_text.size(), kMaxCapturedBytes);
}

TEST(RunProgramTest, TimeoutKillsTheWholeGroup) {
  auto started = std::chrono::steady_clock::now();
  // The child keeps the pipe open: only killing the group ends the wait.
  Result<ProgramOutput> output =
      run_program({"/bin/sh", "-c", "sleep 30 & sleep 30"}, std::chrono::milliseconds(200));
  ASSERT_FALSE(output);
  EXPECT_EQ(output.error().code, ErrorCode::kDeadlineExceeded);
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(5));
}

TEST(RunProgramTest, MissingProgramIsNotFound) {
  Result<ProgramOutput> output = run_program({"/nonexistent/program"}, std::chrono::seconds(1));
  ASSERT_FALSE(output);
  EXPECT_EQ(output.error().code, ErrorCode::kNotFound);
  // PATH is not searched.
  EXPECT_FALSE(run_program({"sh", "-c", "true"}, std::chrono::seconds(1)));
}

}  // namespace
}  // namespace rbee::catalog
