// Download throughput of rbee's HuggingFace client, for bench/download.sh: downloads one file
// of a repo (sha256 checked on the fly, as the hive does) and prints one JSON line with the
// seconds taken, and the seconds a separate sha256 pass over the same file takes.

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>

#include "common/sha256.hpp"
#include "provision/hf_client.hpp"
#include "provision/hf_files.hpp"

int main(int argc, char** argv) {
  std::string endpoint;
  std::string repo;
  std::string file;
  std::string dest;
  CLI::App app{"rbee download benchmark"};
  app.add_option("--endpoint", endpoint, "HuggingFace endpoint")->required();
  app.add_option("--repo", repo, "org/name")->required();
  app.add_option("--file", file, "path in the repo")->required();
  app.add_option("--dest", dest, "where to write the file")->required();
  CLI11_PARSE(app, argc, argv);

  rbee::provision::HfClientOptions options;
  options.endpoint = endpoint;
  rbee::provision::HfClient client(options);
  auto files = client.list_files(repo, "main");
  if (!files) {
    std::fprintf(stderr, "download_bench: %s\n", files.error().message.c_str());
    return 1;
  }
  const rbee::provision::RepoFile* wanted = nullptr;
  for (const auto& candidate : *files) {
    if (candidate.path == file) wanted = &candidate;
  }
  if (wanted == nullptr) {
    std::fprintf(stderr, "download_bench: %s has no %s\n", repo.c_str(), file.c_str());
    return 1;
  }
  auto started = std::chrono::steady_clock::now();
  auto downloaded = client.download_file(repo, "main", *wanted, dest, {}, {});
  double download_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  if (!downloaded) {
    std::fprintf(stderr, "download_bench: %s\n", downloaded.error().message.c_str());
    return 1;
  }
  started = std::chrono::steady_clock::now();
  auto hash = rbee::sha256_file(dest);
  double hash_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  if (!hash || *hash != wanted->sha256) {
    std::fprintf(stderr, "download_bench: the downloaded file does not match its sha256\n");
    return 1;
  }
  std::printf("{\"bytes\":%llu,\"download_s\":%.4f,\"sha256_pass_s\":%.4f}\n",
              static_cast<unsigned long long>(wanted->size), download_s, hash_s);
  return 0;
}
