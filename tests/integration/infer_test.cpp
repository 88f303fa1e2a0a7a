// Inference end to end through the queen: `rbee infer` on a fresh home (download, spawn,
// stream), the OpenAI endpoints, the scheduler's queue, and what happens when workers die
// or clients leave. Real queen, hive and worker processes; the model comes from the
// HuggingFace test server (tests/support).

#include <gtest/gtest.h>
#include <signal.h>

#include <atomic>
#include <fstream>
#include <thread>

#include "harness.hpp"
#include "hf_test_server.hpp"
#include "http/sse.hpp"

namespace rbee::integration {
namespace {

using namespace std::chrono_literals;
using testing::HfTestServer;

constexpr const char* kRepo = "rbee-test/stories-GGUF";
constexpr const char* kPrompt = "Once upon a time";

class InferTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto models = HfTestServer::testdata_models_dir();
    if (!models) GTEST_SKIP() << "../shared/testdata/models is missing";
    ASSERT_TRUE(hub_.add_file_from_disk(kRepo, "stories260K.gguf", *models / "stories260K.gguf"));
    home_.set_env("HF_ENDPOINT", hub_.url());
    home_.append_config("[scheduler]\ndefault_parallel = 2\n");
    expected_ = stories260k_reference_continuation();
  }

  CommandResult infer(std::vector<std::string> extra = {}) const {
    std::vector<std::string> args{"infer", "--model",      kRepo, "--temperature",
                                  "0",     "--max-tokens", "32"};
    args.insert(args.end(), extra.begin(), extra.end());
    args.push_back(kPrompt);
    return home_.rbee(args, 120s);
  }

  Json workers() const {
    auto listed = home_.queen().get_json("/v1/workers");
    return listed ? (*listed)["workers"] : Json::array();
  }

  Json routable_workers() const {
    Json out = Json::array();
    for (const auto& worker : workers()) {
      if (worker["routable"].get<bool>()) out.push_back(worker);
    }
    return out;
  }

  // A greedy completion request body for the OpenAI endpoint.
  static std::string completion_body(int max_tokens, bool stream) {
    return Json{{"model", kRepo},
                {"prompt", kPrompt},
                {"max_tokens", max_tokens},
                {"temperature", 0},
                {"stream", stream}}
        .dump();
  }

  HfTestServer hub_;
  RbeeHome home_;
  std::string expected_;
};

TEST_F(InferTest, FreshHomeDownloadsSpawnsAndPrintsLlamaCppsGreedyText) {
  auto first = infer();
  ASSERT_EQ(first.exit_code, 0) << first.out << first.err;
  EXPECT_EQ(first.out, expected_ + "\n");
  // The story of every step went to stderr.
  EXPECT_NE(first.err.find("fetching it onto hive"), std::string::npos) << first.err;
  EXPECT_NE(first.err.find("Starting a worker"), std::string::npos) << first.err;
  EXPECT_NE(first.err.find("32 generated tokens"), std::string::npos) << first.err;

  // The second request reuses the worker: nothing downloaded or spawned again.
  auto second = infer();
  ASSERT_EQ(second.exit_code, 0) << second.err;
  EXPECT_EQ(second.out, expected_ + "\n");
  EXPECT_EQ(second.err.find("Starting a worker"), std::string::npos) << second.err;
  auto listed = home_.rbee({"--json", "worker", "list"});
  ASSERT_EQ(listed.exit_code, 0) << listed.err;
  Json list = Json::parse(listed.out)["workers"];
  ASSERT_EQ(list.size(), 1u) << listed.out;
  EXPECT_EQ(list[0]["hive_id"], "localhost");
  EXPECT_EQ(list[0]["device"], "cpu");
  EXPECT_GT(list[0]["pid"].get<int64_t>(), 0);
  EXPECT_GT(list[0]["port"].get<int64_t>(), 0);
  EXPECT_TRUE(list[0]["state"] == "ready" || list[0]["state"] == "busy") << list[0];
}

TEST_F(InferTest, KilledWorkerLeavesRoutingAtOnceAndTheNextRequestSpawnsAnother) {
  ASSERT_EQ(infer().exit_code, 0);
  Json before = routable_workers();
  ASSERT_EQ(before.size(), 1u);
  pid_t pid = static_cast<pid_t>(before[0]["pid"].get<int64_t>());
  std::string id = before[0]["worker_id"];
  ASSERT_EQ(::kill(pid, SIGKILL), 0);
  EXPECT_TRUE(eventually([&] { return routable_workers().empty(); }, 1s))
      << "the dead worker was still routable a second later: " << workers();

  auto again = infer();
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_EQ(again.out, expected_ + "\n");
  Json after = routable_workers();
  ASSERT_EQ(after.size(), 1u);
  EXPECT_NE(after[0]["worker_id"], id);
  EXPECT_NE(after[0]["pid"].get<int64_t>(), pid);
}

TEST_F(InferTest, WorkerKilledMidStreamEndsTheStreamWithAnError) {
  ASSERT_EQ(infer().exit_code, 0);
  pid_t pid = static_cast<pid_t>(routable_workers()[0]["pid"].get<int64_t>());
  std::string relayed;
  std::atomic<bool> killed{false};
  auto status = home_.queen().post_stream(
      "/v1/completions", completion_body(2000, true), [](int, const std::string&) { return true; },
      [&](std::string_view piece) {
        relayed.append(piece);
        if (!killed.exchange(true)) ::kill(pid, SIGKILL);
        return true;
      });
  ASSERT_TRUE(status) << status.error().message;  // the queen ended the stream itself
  EXPECT_TRUE(killed.load());
  EXPECT_NE(relayed.find("\"error\""), std::string::npos) << relayed.substr(0, 400);
  EXPECT_EQ(relayed.find("[DONE]"), std::string::npos);
  EXPECT_TRUE(eventually([&] { return routable_workers().empty(); }, 1s));
}

TEST_F(InferTest, EightConcurrentRequestsOnTwoSlotsAllComplete) {
  ASSERT_EQ(infer().exit_code, 0);
  std::vector<std::thread> clients;
  std::vector<std::string> texts(8);
  std::vector<int> statuses(8, 0);
  for (int i = 0; i < 8; ++i) {
    clients.emplace_back([&, i] {
      auto response = home_.queen().post("/v1/completions", completion_body(32, false));
      if (!response) return;
      statuses[i] = response->status;
      auto body = Json::parse(response->body, nullptr, false);
      if (!body.is_discarded() && body.contains("choices")) {
        texts[i] = body["choices"][0]["text"].get<std::string>();
      }
    });
  }
  int max_in_flight = 0;
  // While they run, the queen never has more than the worker's two slots in use.
  for (int i = 0; i < 50; ++i) {
    for (const auto& worker : workers()) {
      max_in_flight = std::max(max_in_flight, worker["in_flight"].get<int>());
    }
  }
  for (auto& client : clients) client.join();
  for (int i = 0; i < 8; ++i) {
    EXPECT_EQ(statuses[i], 200) << "request " << i;
    EXPECT_EQ(texts[i], expected_) << "request " << i;
  }
  EXPECT_LE(max_in_flight, 2);
  EXPECT_EQ(routable_workers().size(), 1u);  // queued, not spawned: one worker did it all
}

TEST_F(InferTest, FullQueueAnswers429WithRetryAfter) {
  home_.append_config("max_queue_per_model = 1\n");  // still the [scheduler] table
  ASSERT_EQ(infer().exit_code, 0);
  std::vector<std::thread> clients;
  // Two run, one waits, the last is refused; each runs long enough (600 tokens) that all four
  // arrive while the first two still generate.
  constexpr int kClients = 4;
  std::vector<int> statuses(kClients, 0);
  std::vector<std::string> retry_after(kClients);
  for (int i = 0; i < kClients; ++i) {
    clients.emplace_back([&, i] {
      auto response = home_.queen().post("/v1/completions", completion_body(600, false));
      if (!response) return;
      statuses[i] = response->status;
      retry_after[i] = response->header("Retry-After");
    });
  }
  for (auto& client : clients) client.join();
  int ok = 0;
  int refused = 0;
  for (int i = 0; i < kClients; ++i) {
    if (statuses[i] == 200) ++ok;
    if (statuses[i] == 429) {
      ++refused;
      EXPECT_FALSE(retry_after[i].empty());
    }
  }
  EXPECT_EQ(ok + refused, kClients);
  EXPECT_GE(ok, 3);       // two slots and one place in line
  EXPECT_GE(refused, 1);  // the rest were told to come back
}

TEST_F(InferTest, ClientThatLeavesMidStreamFreesItsSlot) {
  ASSERT_EQ(infer().exit_code, 0);
  Json worker = routable_workers()[0];
  http::Client direct({"http://127.0.0.1:" + std::to_string(worker["port"].get<int>()), "", 2, 10});
  int pieces = 0;
  auto status = home_.queen().post_stream(
      "/v1/completions", completion_body(2000, true), [](int, const std::string&) { return true; },
      [&](std::string_view) { return ++pieces < 3; });  // leave after three pieces
  ASSERT_TRUE(status) << status.error().message;
  EXPECT_TRUE(eventually(
      [&] {
        auto info = direct.get_json("/v1/info");
        return info && (*info)["slots_busy"] == 0;
      },
      2s))
      << "the worker still generates for a client that left";
  EXPECT_TRUE(eventually([&] { return routable_workers()[0]["in_flight"] == 0; }, 2s));
  // It generated far fewer than the 2000 tokens asked for.
  auto metrics = direct.get("/metrics");
  ASSERT_TRUE(metrics);
  auto at = metrics->body.find("\nrbee_worker_generated_tokens_total ");
  ASSERT_NE(at, std::string::npos) << metrics->body;
  EXPECT_LT(std::stoll(metrics->body.substr(at + 36)), 1000);
}

TEST_F(InferTest, OpenAiErrorsHaveOpenAiShape) {
  ASSERT_EQ(home_.rbee({"queen", "start"}).exit_code, 0);
  auto malformed = home_.queen().post("/v1/chat/completions", "{not json");
  ASSERT_TRUE(malformed);
  EXPECT_EQ(malformed->status, 400);
  Json body = Json::parse(malformed->body);
  EXPECT_EQ(body["error"]["type"], "invalid_request_error");
  auto no_model = home_.queen().post("/v1/completions", Json{{"prompt", "x"}}.dump());
  ASSERT_TRUE(no_model);
  EXPECT_EQ(no_model->status, 400);
  EXPECT_NE(no_model->body.find("model"), std::string::npos);
  auto missing = home_.queen().post("/v1/completions",
                                    Json{{"model", "rbee-test/not-there"}, {"prompt", "x"}}.dump());
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->status, 404) << missing->body;
}

TEST_F(InferTest, IdleWorkerRetiresAndItsProcessEnds) {
  home_.append_config("idle_retire_s = 1\n");  // still the [scheduler] table
  ASSERT_EQ(infer().exit_code, 0);
  Json worker = routable_workers()[0];
  pid_t pid = static_cast<pid_t>(worker["pid"].get<int64_t>());
  EXPECT_TRUE(eventually(
      [&] {
        for (const auto& w : workers()) {
          if (w["worker_id"] == worker["worker_id"]) return w["state"] == "stopped";
        }
        return false;
      },
      10s))
      << workers();
  EXPECT_TRUE(eventually([&] { return ::kill(pid, 0) != 0; }, 5s));
}

}  // namespace
}  // namespace rbee::integration
