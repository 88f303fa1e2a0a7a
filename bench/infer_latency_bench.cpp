// Time to first token and inter-token latency of streaming completions, straight to a worker
// and through the queen, interleaved in one run so both see the same machine. Prints one JSON
// line per path and the queen's overhead at p50 and p99.
//
//   rbee-bench-infer --queen URL --worker URL --token-file F --model ID [--rounds N]

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "common/cluster_token.hpp"
#include "contracts/json_reader.hpp"
#include "http/client.hpp"

namespace {

using Clock = std::chrono::steady_clock;
using rbee::contracts::Json;

struct Samples {
  std::vector<double> ttft_ms;
  std::vector<double> itl_ms;
};

double percentile(std::vector<double> values, double p) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  size_t index = static_cast<size_t>(p * static_cast<double>(values.size() - 1) + 0.5);
  return values[std::min(index, values.size() - 1)];
}

// One streaming completion; records when each SSE event carrying text arrived.
bool measure(const rbee::http::Client& client, const std::string& body, Samples& samples) {
  auto start = Clock::now();
  std::vector<Clock::time_point> arrivals;
  std::string pending;
  auto status = client.post_stream(
      "/v1/completions", body, [](int code, const std::string&) { return code == 200; },
      [&](std::string_view piece) {
        auto now = Clock::now();
        pending.append(piece);
        size_t end;
        while ((end = pending.find("\n\n")) != std::string::npos) {
          std::string event = pending.substr(0, end);
          pending.erase(0, end + 2);
          if (event.find("\"text\":\"") != std::string::npos &&
              event.find("\"text\":\"\"") == std::string::npos) {
            arrivals.push_back(now);
          }
        }
        return true;
      });
  if (!status || arrivals.empty()) {
    std::fprintf(stderr, "request failed: %s\n",
                 status ? "no tokens" : status.error().message.c_str());
    return false;
  }
  samples.ttft_ms.push_back(std::chrono::duration<double, std::milli>(arrivals[0] - start).count());
  for (size_t i = 1; i < arrivals.size(); ++i) {
    samples.itl_ms.push_back(
        std::chrono::duration<double, std::milli>(arrivals[i] - arrivals[i - 1]).count());
  }
  return true;
}

Json summary(const Samples& samples) {
  return Json{{"requests", samples.ttft_ms.size()},
              {"ttft_p50_ms", percentile(samples.ttft_ms, 0.5)},
              {"ttft_p99_ms", percentile(samples.ttft_ms, 0.99)},
              {"itl_p50_ms", percentile(samples.itl_ms, 0.5)},
              {"itl_p99_ms", percentile(samples.itl_ms, 0.99)},
              {"itl_samples", samples.itl_ms.size()}};
}

}  // namespace

int main(int argc, char** argv) {
  std::string queen_url;
  std::string worker_url;
  std::string token_file;
  std::string model;
  int rounds = 30;
  int max_tokens = 64;
  CLI::App app{"rbee-bench-infer: the queen's relay overhead on streaming completions"};
  app.add_option("--queen", queen_url)->required();
  app.add_option("--worker", worker_url)->required();
  app.add_option("--token-file", token_file)->required();
  app.add_option("--model", model)->required();
  app.add_option("--rounds", rounds)->capture_default_str();
  app.add_option("--max-tokens", max_tokens)->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  auto token = rbee::read_cluster_token(token_file);
  if (!token) {
    std::fprintf(stderr, "%s\n", token.error().message.c_str());
    return 1;
  }
  rbee::http::Client queen({queen_url, "", 3, 120});
  rbee::http::Client worker({worker_url, *token, 3, 120});
  std::string body = Json{
      {"model", model},
      {"prompt", "Once upon a time"},
      {"max_tokens", max_tokens},
      {"temperature", 0},
      {"stream", true}}.dump();
  Samples direct;
  Samples relayed;
  // Warm both paths once, then alternate so drifts in machine load hit both alike.
  if (!measure(worker, body, direct) || !measure(queen, body, relayed)) return 1;
  direct = {};
  relayed = {};
  for (int round = 0; round < rounds; ++round) {
    if (!measure(worker, body, direct) || !measure(queen, body, relayed)) return 1;
  }
  Json direct_json = summary(direct);
  Json relayed_json = summary(relayed);
  std::printf("direct: %s\n", direct_json.dump().c_str());
  std::printf("queen:  %s\n", relayed_json.dump().c_str());
  auto added = [&](const char* key) {
    return relayed_json[key].get<double>() - direct_json[key].get<double>();
  };
  std::printf(
      "queen adds: TTFT p50 %+.3f ms, p99 %+.3f ms; inter-token p50 %+.3f ms, p99 %+.3f ms\n",
      added("ttft_p50_ms"), added("ttft_p99_ms"), added("itl_p50_ms"), added("itl_p99_ms"));
  return 0;
}
