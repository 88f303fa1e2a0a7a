// llm-worker-rbee as a real process (ARCHITECTURE.md §7): loading and /health, the OpenAI
// endpoints against llama.cpp's reference text, streaming, errors, the token, parallel slots,
// clients that leave, draining on SIGTERM, metrics, heartbeats to a stand-in queen, and the
// exit codes the hive relies on.

#include "contracts/worker.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fstream>
#include <mutex>
#include <thread>

#include "common/test_dir.hpp"
#include "engine/gpu/cuda_forward.hpp"
#include "harness.hpp"
#include "hf_test_server.hpp"
#include "http/sse.hpp"
#include "http/test_server.hpp"

namespace rbee::integration {
namespace {

using namespace std::chrono_literals;

constexpr const char* kModelId = "stories";
// llama.cpp's greedy continuation of "Once upon a time" on stories260K (32 tokens).
constexpr const char* kGreedyText =
    ", there was a little girl named Lily. She loved to play outside in the park. One day, she saw";

std::filesystem::path worker_binary() {
  return bin_dir() / "llm-worker-rbee";
}

// A response read to its end: status and, for streams, the `data:` of every event.
struct StreamResult {
  int status = 0;
  std::string body;
  std::vector<std::string> events;
};

class Worker {
 public:
  Worker(const std::filesystem::path& model, std::vector<std::string> extra) : port_(free_port()) {
    std::vector<std::string> argv{worker_binary().string(), "--worker-id", "w-test", "--model",
                                  model.string(),           "--model-id",  kModelId, "--port",
                                  std::to_string(port_),    "--threads",   "1"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    command_ = std::make_unique<RunningCommand>(argv, std::map<std::string, std::string>{});
  }

  int port() const { return port_; }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  RunningCommand& command() { return *command_; }
  http::Client client(const std::string& token = "", double read_timeout_s = 30) const {
    return http::Client({url(), token, 2, read_timeout_s});
  }

  int health_status() const {
    auto response = client().get("/health");
    return response ? response->status : 0;
  }
  bool wait_ready() const {
    return eventually([this] { return health_status() == 200; }, 10s);
  }
  Json info() const {
    auto info = client().get_json("/v1/info");
    return info ? *info : Json();
  }
  // The value of one un-labelled line of /metrics, or -1.
  double metric(const std::string& name) const {
    auto response = client().get("/metrics");
    if (!response) return -1;
    auto at = response->body.find("\n" + name + " ");
    if (at == std::string::npos) return -1;
    return std::stod(response->body.substr(at + name.size() + 2));
  }

  // POSTs and reads the whole answer. `on_event` (streams) may return false to hang up.
  StreamResult post(const std::string& path, const Json& body, const std::string& token = "",
                    const std::function<bool(const std::string&)>& on_event = nullptr) const {
    StreamResult result;
    http::SseParser parser;
    auto status = client(token).post_stream(
        path, body.dump(),
        [&](int code, const std::string&) {
          result.status = code;
          return true;
        },
        [&](std::string_view chunk) {
          result.body.append(chunk);
          return parser.feed(chunk, [&](http::SseEvent&& event) {
            result.events.push_back(event.data);
            return !on_event || on_event(event.data);
          });
        });
    EXPECT_TRUE(status) << status.error().message;
    return result;
  }
  Json post_json(const std::string& path, const Json& body, int expected_status = 200) const {
    StreamResult result = post(path, body);
    EXPECT_EQ(result.status, expected_status) << result.body;
    auto parsed = contracts::parse_json_text(result.body);
    EXPECT_TRUE(parsed) << result.body;
    return parsed ? *parsed : Json();
  }

 private:
  int port_;
  std::unique_ptr<RunningCommand> command_;
};

Json greedy_completion(int max_tokens) {
  return Json{{"prompt", "Once upon a time"}, {"max_tokens", max_tokens}, {"temperature", 0}};
}

Json chat(int max_tokens, bool stream) {
  return Json{{"model", kModelId},
              {"messages", {{{"role", "user"}, {"content", "Tell me a story."}}}},
              {"max_tokens", max_tokens},
              {"temperature", 0},
              {"stream", stream}};
}

class WorkerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto models = testing::HfTestServer::testdata_models_dir();
    if (!models) GTEST_SKIP() << "../shared/testdata/models is missing";
    model_ = *models / "stories260K.gguf";
  }

  // A worker that is ready to serve.
  std::unique_ptr<Worker> start(std::vector<std::string> extra = {}) {
    auto worker = std::make_unique<Worker>(model_, std::move(extra));
    EXPECT_TRUE(worker->wait_ready()) << "the worker never became ready";
    return worker;
  }

  std::filesystem::path model_;
};

TEST_F(WorkerTest, VersionForTheWorkerCatalog) {
  RunningCommand version({worker_binary().string(), "--version"}, {});
  auto result = version.finish(10s);
  EXPECT_EQ(result.exit_code, 0);
  EXPECT_EQ(result.out, std::string("llm-worker-rbee ") + RBEE_VERSION + "\n");
}

TEST_F(WorkerTest, HealthIsLoadingWithProgressThenOk) {
  Worker worker(model_, {"--test-min-load-ms", "1500"});
  // The port answers before the model is loaded.
  ASSERT_TRUE(eventually([&] { return worker.health_status() != 0; }, 5s));
  auto first = worker.client().get("/health");
  ASSERT_TRUE(first);
  EXPECT_EQ(first->status, 503) << first->body;
  Json loading = Json::parse(first->body);
  EXPECT_EQ(loading["status"], "loading");
  EXPECT_GE(loading["progress"].get<double>(), 0.0);
  EXPECT_LT(loading["progress"].get<double>(), 1.0);
  EXPECT_EQ(worker.info()["state"], "loading");
  // Progress moves while the weights are read.
  EXPECT_TRUE(eventually(
      [&] {
        auto info = worker.info();
        return info["state"] == "loading" && info["load_progress"].get<double>() > 0.3;
      },
      5s));
  // Loading refuses inference with 503.
  EXPECT_EQ(worker.post("/v1/completions", greedy_completion(4)).status, 503);
  ASSERT_TRUE(worker.wait_ready());
  auto ready = worker.client().get_json("/health");
  ASSERT_TRUE(ready);
  EXPECT_EQ((*ready)["status"], "ok");
  Json info = worker.info();
  EXPECT_EQ(info["state"], "ready");
  EXPECT_EQ(info["load_progress"], 1.0);
}

TEST_F(WorkerTest, SigtermWhileLoadingExits0Promptly) {
  Worker worker(model_, {"--test-min-load-ms", "5000"});
  ASSERT_TRUE(eventually([&] { return worker.info()["state"] == "loading"; }, 5s));
  const auto signalled = std::chrono::steady_clock::now();
  worker.command().send_signal(SIGTERM);
  auto result = worker.command().finish(10s);
  EXPECT_EQ(result.exit_code, 0) << result.err;
  // Loading stopped: it did not run its five seconds to the end.
  EXPECT_LT(std::chrono::steady_clock::now() - signalled, 3s);
}

TEST_F(WorkerTest, InfoDescribesTheWorker) {
  auto worker = start({"--parallel", "2", "--ctx", "256", "--hive-id", "hive-a"});
  Json info = worker->info();
  EXPECT_EQ(info["worker_id"], "w-test");
  EXPECT_EQ(info["hive_id"], "hive-a");
  EXPECT_EQ(info["model"], kModelId);
  EXPECT_EQ(info["model_path"], model_.string());
  EXPECT_EQ(info["device"], "cpu");
  EXPECT_EQ(info["state"], "ready");
  EXPECT_EQ(info["slots_total"], 2);
  EXPECT_EQ(info["slots_busy"], 0);
  EXPECT_EQ(info["queue_depth"], 0);
  EXPECT_EQ(info["ctx"], 256);
  EXPECT_EQ(info["parallel"], 2);
  EXPECT_EQ(info["threads"], 1);
  EXPECT_EQ(info["pid"], worker->command().pid());
  EXPECT_EQ(info["port"], worker->port());
  EXPECT_EQ(info["version"], RBEE_VERSION);
  EXPECT_GE(info["uptime_s"].get<double>(), 0.0);
  EXPECT_EQ(info["requests_total"], 0);
  auto models = worker->client().get_json("/v1/models");
  ASSERT_TRUE(models);
  EXPECT_EQ((*models)["data"][0]["id"], kModelId);
  EXPECT_EQ((*models)["data"][0]["object"], "model");
}

TEST_F(WorkerTest, GreedyCompletionEqualsLlamaCpp) {
  auto worker = start();
  Json request = greedy_completion(32);
  request["model"] = "some-other-name";  // a worker serves its one model, and says which
  Json response = worker->post_json("/v1/completions", request);
  EXPECT_EQ(response["object"], "text_completion");
  EXPECT_EQ(response["id"].get<std::string>().rfind("cmpl-", 0), 0u);
  EXPECT_EQ(response["model"], kModelId);
  EXPECT_EQ(response["choices"][0]["text"], kGreedyText);
  EXPECT_EQ(response["choices"][0]["finish_reason"], "length");
  EXPECT_EQ(response["usage"],
            (Json{{"prompt_tokens", 5}, {"completion_tokens", 32}, {"total_tokens", 37}}));
  // A prompt given as an array of one string is the same prompt.
  request["prompt"] = Json::array({"Once upon a time"});
  EXPECT_EQ(worker->post_json("/v1/completions", request)["choices"][0]["text"], kGreedyText);
}

TEST_F(WorkerTest, StreamingChatIsWellFormedAndEqualsTheWholeAnswer) {
  auto worker = start();
  Json request = chat(12, true);
  request["stream_options"] = {{"include_usage", true}};
  StreamResult stream = worker->post("/v1/chat/completions", request);
  ASSERT_EQ(stream.status, 200) << stream.body;
  ASSERT_GE(stream.events.size(), 4u) << stream.body;
  EXPECT_EQ(stream.events.back(), "[DONE]");
  std::string id;
  std::string content;
  std::string finish_reason;
  Json usage;
  for (size_t i = 0; i + 1 < stream.events.size(); ++i) {
    Json chunk = Json::parse(stream.events[i]);
    EXPECT_EQ(chunk["object"], "chat.completion.chunk");
    EXPECT_EQ(chunk["model"], kModelId);
    EXPECT_TRUE(chunk["created"].is_number_integer());
    if (i == 0) id = chunk["id"];
    EXPECT_EQ(chunk["id"], id);
    if (chunk["choices"].empty()) {  // the usage chunk, last before [DONE]
      EXPECT_EQ(i + 2, stream.events.size());
      usage = chunk["usage"];
      continue;
    }
    EXPECT_TRUE(chunk["usage"].is_null());
    const Json& choice = chunk["choices"][0];
    EXPECT_EQ(choice["index"], 0);
    if (i == 0) {
      EXPECT_EQ(choice["delta"]["role"], "assistant");
    }
    if (choice["delta"].contains("content")) content += choice["delta"]["content"];
    if (!choice["finish_reason"].is_null()) finish_reason = choice["finish_reason"];
  }
  EXPECT_EQ(id.rfind("chatcmpl-", 0), 0u);
  EXPECT_EQ(finish_reason, "length");
  ASSERT_TRUE(usage.is_object());
  EXPECT_EQ(usage["completion_tokens"], 12);
  EXPECT_EQ(usage["total_tokens"],
            usage["prompt_tokens"].get<int>() + usage["completion_tokens"].get<int>());
  Json whole = worker->post_json("/v1/chat/completions", chat(12, false));
  EXPECT_EQ(whole["object"], "chat.completion");
  EXPECT_EQ(whole["choices"][0]["message"]["role"], "assistant");
  EXPECT_EQ(whole["choices"][0]["message"]["content"], content);
  EXPECT_FALSE(content.empty());
  EXPECT_EQ(whole["usage"], usage);
}

TEST_F(WorkerTest, StopStringsAndMaxTokens) {
  auto worker = start();
  Json request = greedy_completion(32);
  request["stop"] = "Lily";
  Json stopped = worker->post_json("/v1/completions", request);
  EXPECT_EQ(stopped["choices"][0]["text"], ", there was a little girl named ");
  EXPECT_EQ(stopped["choices"][0]["finish_reason"], "stop");
  Json short_one = worker->post_json("/v1/completions", greedy_completion(4));
  EXPECT_EQ(short_one["choices"][0]["finish_reason"], "length");
  EXPECT_EQ(short_one["usage"]["completion_tokens"], 4);
  EXPECT_EQ(std::string(kGreedyText).rfind(short_one["choices"][0]["text"].get<std::string>(), 0),
            0u);
  // Streamed, a stop string never shows either.
  request["stream"] = true;
  StreamResult stream = worker->post("/v1/completions", request);
  std::string text;
  for (const auto& event : stream.events) {
    if (event == "[DONE]") continue;
    Json chunk = Json::parse(event);
    EXPECT_EQ(chunk["object"], "text_completion");
    text += chunk["choices"][0]["text"].get<std::string>();
  }
  EXPECT_EQ(text, ", there was a little girl named ");
}

TEST_F(WorkerTest, SameSeedSameText) {
  auto worker = start();
  Json request = {
      {"prompt", "The little dog"}, {"max_tokens", 24}, {"temperature", 0.8}, {"seed", 1234}};
  auto first = worker->post_json("/v1/completions", request)["choices"][0]["text"];
  auto second = worker->post_json("/v1/completions", request)["choices"][0]["text"];
  EXPECT_FALSE(first.get<std::string>().empty());
  EXPECT_EQ(first, second);
}

TEST_F(WorkerTest, BadRequestsGetOpenAiErrors) {
  auto worker = start({"--ctx", "16"});
  auto expect_error = [&](const std::string& path, const std::string& body, int status,
                          const Json& param) -> Json {
    auto response = worker->client().post(path, body);
    if (!response) {
      ADD_FAILURE() << response.error().message;
      return Json();
    }
    EXPECT_EQ(response->status, status) << body << " -> " << response->body;
    Json error = Json::parse(response->body)["error"];
    EXPECT_TRUE(error["message"].is_string()) << response->body;
    EXPECT_TRUE(error["type"].is_string()) << response->body;
    EXPECT_EQ(error["param"], param) << response->body;
    return error;
  };
  Json malformed = expect_error("/v1/chat/completions", "{\"messages\": [", 400, nullptr);
  EXPECT_EQ(malformed["type"], "invalid_request_error");
  expect_error("/v1/chat/completions", R"({"model":"stories"})", 400, "messages");
  expect_error("/v1/chat/completions", R"({"messages":[{"role":"user","content":"hi"}],"n":2})",
               400, "n");
  expect_error("/v1/completions", R"({"prompt":"x","temperature":"hot"})", 400, "temperature");
  Json long_prompt =
      expect_error("/v1/completions",
                   Json{{"prompt",
                         "Once upon a time there was a little girl named Lily who loved to play "
                         "outside in the park with her friends every day"}}
                       .dump(),
                   400, "prompt");
  const std::string message = long_prompt["message"];
  EXPECT_NE(message.find("the context holds 16 per slot"), std::string::npos) << message;
  EXPECT_NE(message.find("prompt is "), std::string::npos) << message;
  auto missing = worker->client().get("/v1/nothing-here");
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->status, 404);
  EXPECT_TRUE(Json::parse(missing->body)["error"]["message"].is_string());
  // The counters saw five failed requests (the 404 is not an inference request).
  auto metrics = worker->client().get("/metrics");
  ASSERT_TRUE(metrics);
  EXPECT_NE(metrics->body.find("rbee_worker_requests_total{status=\"4xx\"} 5"), std::string::npos)
      << metrics->body;
}

TEST_F(WorkerTest, TokenFileGuardsTheApi) {
  rbee::testing::TestDir dir;
  std::ofstream(dir.path() / "cluster.token") << "secret-token\n";
  ::chmod((dir.path() / "cluster.token").c_str(), 0600);
  auto worker = start({"--token-file", (dir.path() / "cluster.token").string()});
  for (const std::string& token : {std::string(), std::string("wrong")}) {
    StreamResult refused = worker->post("/v1/completions", greedy_completion(4), token);
    EXPECT_EQ(refused.status, 401) << token;
    Json error = Json::parse(refused.body)["error"];
    EXPECT_EQ(error["type"], "authentication_error");
    EXPECT_EQ(worker->post("/v1/chat/completions", chat(4, false), token).status, 401);
    auto models = worker->client(token).get("/v1/models");
    ASSERT_TRUE(models);
    EXPECT_EQ(models->status, 401);
    auto shutdown = worker->client(token).post("/v1/shutdown", "{}");
    ASSERT_TRUE(shutdown);
    EXPECT_EQ(shutdown->status, 401);
  }
  StreamResult allowed = worker->post("/v1/completions", greedy_completion(32), "secret-token");
  EXPECT_EQ(allowed.status, 200);
  EXPECT_EQ(Json::parse(allowed.body)["choices"][0]["text"], kGreedyText);
  // Health, info and metrics stay public.
  EXPECT_EQ(worker->health_status(), 200);
  EXPECT_EQ(worker->info()["state"], "ready");
  // The right token may shut the worker down.
  auto shutdown = worker->client("secret-token").post("/v1/shutdown", "{}");
  ASSERT_TRUE(shutdown);
  EXPECT_EQ(shutdown->status, 200);
  EXPECT_EQ(worker->command().finish(10s).exit_code, 0);
}

TEST_F(WorkerTest, EightConcurrentRequestsOnTwoSlotsAreAllExact) {
  auto worker = start({"--parallel", "2"});
  std::vector<std::string> texts(8);
  std::vector<std::thread> clients;
  for (size_t i = 0; i < texts.size(); ++i) {
    clients.emplace_back([&, i] {
      Json request = greedy_completion(32);
      request["stream"] = i % 2 == 0;
      StreamResult result = worker->post("/v1/completions", request);
      if (!request["stream"].get<bool>()) {
        texts[i] = Json::parse(result.body)["choices"][0]["text"];
        return;
      }
      for (const auto& event : result.events) {
        if (event != "[DONE]") texts[i] += Json::parse(event)["choices"][0]["text"];
      }
    });
  }
  for (auto& client : clients) client.join();
  for (size_t i = 0; i < texts.size(); ++i) EXPECT_EQ(texts[i], kGreedyText) << "request " << i;
  Json info = worker->info();
  EXPECT_EQ(info["slots_busy"], 0);
  EXPECT_EQ(info["requests_total"], 8);
  EXPECT_EQ(worker->metric("rbee_worker_generated_tokens_total"), 8 * 32);
  EXPECT_EQ(worker->metric("rbee_worker_prompt_tokens_total"), 8 * 5);
  EXPECT_GT(worker->metric("rbee_worker_tokens_per_second"), 0);
}

// A long generation: stories260K fills its whole 2048-token context (seconds of work).
Json long_completion(bool stream) {
  return Json{
      {"prompt", "Once upon a time"}, {"max_tokens", 2000}, {"temperature", 0}, {"stream", stream}};
}

TEST_F(WorkerTest, AStreamingClientThatLeavesFreesItsSlot) {
  auto worker = start();
  bool saw_busy = false;
  StreamResult stream =
      worker->post("/v1/completions", long_completion(true), "", [&](const std::string&) {
        saw_busy = worker->info()["slots_busy"] == 1;
        return false;  // hang up after the first event
      });
  EXPECT_TRUE(saw_busy);
  ASSERT_TRUE(eventually([&] { return worker->info()["slots_busy"] == 0; }, 1s)) << worker->info();
  // The generation was cut short, not run to its end.
  EXPECT_LT(worker->metric("rbee_worker_generated_tokens_total"), 1000);
  // The slot serves the next request.
  EXPECT_EQ(worker->post_json("/v1/completions", greedy_completion(32))["choices"][0]["text"],
            kGreedyText);
}

TEST_F(WorkerTest, APlainClientThatLeavesFreesItsSlot) {
  auto worker = start();
  // The client gives up after 0.1 s without a byte; the worker notices at its next probes.
  auto impatient = worker->client("", 0.1).post("/v1/completions", long_completion(false).dump());
  EXPECT_FALSE(impatient);
  ASSERT_TRUE(eventually([&] { return worker->info()["slots_busy"] == 0; }, 1s)) << worker->info();
  EXPECT_LT(worker->metric("rbee_worker_generated_tokens_total"), 1500);
}

TEST_F(WorkerTest, SigtermLetsARunningStreamFinishThenExits0) {
  auto worker = start({"--drain-timeout-s", "20"});
  Json request = long_completion(true);
  request["max_tokens"] = 600;
  request["stream_options"] = {{"include_usage", true}};
  bool signalled = false;
  int draining_health = 0;
  int refused_status = 0;
  StreamResult stream = worker->post("/v1/completions", request, "", [&](const std::string&) {
    if (signalled) return true;
    signalled = true;
    worker->command().send_signal(SIGTERM);
    // While it drains: not healthy, and new requests are refused.
    eventually([&] { return worker->health_status() == 503; }, 2s);
    draining_health = worker->health_status();
    refused_status = worker->post("/v1/completions", greedy_completion(4)).status;
    return true;
  });
  EXPECT_EQ(draining_health, 503);
  EXPECT_EQ(refused_status, 503);
  ASSERT_GE(stream.events.size(), 3u);
  EXPECT_EQ(stream.events.back(), "[DONE]");
  Json usage = Json::parse(stream.events[stream.events.size() - 2])["usage"];
  EXPECT_EQ(usage["completion_tokens"], 600) << stream.body;
  EXPECT_EQ(worker->command().finish(10s).exit_code, 0);
}

TEST_F(WorkerTest, DrainTimeoutEndsAStreamWithAnError) {
  auto worker = start({"--drain-timeout-s", "0"});
  bool signalled = false;
  auto started = std::chrono::steady_clock::now();
  StreamResult stream =
      worker->post("/v1/completions", long_completion(true), "", [&](const std::string&) {
        if (!signalled) worker->command().send_signal(SIGTERM);
        signalled = true;
        return true;
      });
  ASSERT_GE(stream.events.size(), 2u);
  EXPECT_EQ(stream.events.back(), "[DONE]");
  Json last = Json::parse(stream.events[stream.events.size() - 2]);
  ASSERT_TRUE(last.contains("error")) << stream.body;
  EXPECT_TRUE(last["error"]["message"].is_string());
  auto result = worker->command().finish(10s);
  EXPECT_EQ(result.exit_code, 0) << result.err;
  EXPECT_LT(std::chrono::steady_clock::now() - started, 2s);
}

TEST_F(WorkerTest, MetricsCountRequestsAndTokens) {
  auto worker = start();
  EXPECT_EQ(worker->metric("rbee_worker_generated_tokens_total"), 0);
  EXPECT_EQ(worker->metric("rbee_worker_slots_total"), 1);
  worker->post_json("/v1/completions", greedy_completion(32));
  worker->post_json("/v1/completions", greedy_completion(8));
  EXPECT_EQ(worker->metric("rbee_worker_generated_tokens_total"), 40);
  EXPECT_EQ(worker->metric("rbee_worker_prompt_tokens_total"), 10);
  EXPECT_EQ(worker->metric("rbee_worker_slots_busy"), 0);
  EXPECT_EQ(worker->metric("rbee_worker_queue_depth"), 0);
  auto metrics = worker->client().get("/metrics");
  ASSERT_TRUE(metrics);
  EXPECT_NE(metrics->body.find("rbee_worker_requests_total{status=\"2xx\"} 2"), std::string::npos)
      << metrics->body;
  EXPECT_NE(metrics->body.find("# TYPE rbee_worker_tokens_per_second gauge"), std::string::npos);
}

// A stand-in queen: a real HTTP server on loopback that keeps the heartbeats it accepts.
class FakeQueen {
 public:
  explicit FakeQueen(const std::string& token)
      : server_(http::ServerOptions{"fake-queen", 1 << 20, 8, token}) {
    server_.route("POST", "/v1/workers/heartbeat", http::Access::kClusterToken,
                  [this](const http::Request& request) {
                    auto json = contracts::parse_json_text(request.body);
                    if (!json) return http::error_response(json.error());
                    auto beat = contracts::parse_worker_heartbeat(*json);
                    if (!beat) return http::error_response(beat.error());
                    std::lock_guard lock(mu_);
                    beats_.push_back(*beat);
                    return http::json_response(200, Json::object());
                  });
    running_ = std::make_unique<http::testing::RunningServer>(server_);
  }
  std::string url() const { return running_->url(); }
  std::vector<contracts::WorkerHeartbeat> beats() const {
    std::lock_guard lock(mu_);
    return beats_;
  }
  bool has_beat(const std::function<bool(const contracts::WorkerHeartbeat&)>& match) const {
    for (const auto& beat : beats()) {
      if (match(beat)) return true;
    }
    return false;
  }

 private:
  http::Server server_;
  std::unique_ptr<http::testing::RunningServer> running_;
  mutable std::mutex mu_;
  std::vector<contracts::WorkerHeartbeat> beats_;
};

TEST_F(WorkerTest, HeartbeatsReachTheQueenThroughTheLifecycle) {
  FakeQueen queen("queen-token");
  rbee::testing::TestDir dir;
  std::ofstream(dir.path() / "cluster.token") << "queen-token\n";
  ::chmod((dir.path() / "cluster.token").c_str(), 0600);
  Worker worker(model_, {"--queen-url", queen.url(), "--hive-id", "hive-b", "--token-file",
                         (dir.path() / "cluster.token").string(), "--heartbeat-interval-ms", "100",
                         "--parallel", "2", "--test-min-load-ms", "1000"});
  const std::string url = worker.url();
  ASSERT_TRUE(eventually(
      [&] {
        return queen.has_beat(
            [](const auto& beat) { return beat.state == "loading" && beat.load_progress < 1.0; });
      },
      5s));
  ASSERT_TRUE(eventually(
      [&] { return queen.has_beat([](const auto& beat) { return beat.state == "ready"; }); }, 10s));
  for (const auto& beat : queen.beats()) {
    EXPECT_EQ(beat.worker_id, "w-test");
    EXPECT_EQ(beat.hive_id, "hive-b");
    EXPECT_EQ(beat.url, url);
    EXPECT_EQ(beat.model, kModelId);
    EXPECT_EQ(beat.pid, worker.command().pid());
    EXPECT_EQ(beat.slots_total, 2);
    EXPECT_EQ(beat.heartbeat_interval_ms, 100);
    if (beat.state == "ready") {
      EXPECT_EQ(beat.load_progress, 1.0);
      EXPECT_EQ(beat.ctx, 2048);
    }
  }
  // Beats keep coming at the interval.
  const size_t seen = queen.beats().size();
  EXPECT_TRUE(eventually([&] { return queen.beats().size() >= seen + 3; }, 2s));
  worker.command().send_signal(SIGTERM);
  EXPECT_EQ(worker.command().finish(10s).exit_code, 0);
  EXPECT_EQ(queen.beats().back().state, "stopped");
}

TEST_F(WorkerTest, NoHeartbeatWithAWrongToken) {
  FakeQueen queen("queen-token");
  rbee::testing::TestDir dir;
  std::ofstream(dir.path() / "cluster.token") << "not-the-queens-token\n";
  ::chmod((dir.path() / "cluster.token").c_str(), 0600);
  auto worker = start({"--queen-url", queen.url(), "--token-file",
                       (dir.path() / "cluster.token").string(), "--heartbeat-interval-ms", "50"});
  // The worker serves anyway (failed beats are never fatal); the queen accepted nothing.
  EXPECT_EQ(worker->health_status(), 200);
  EXPECT_TRUE(queen.beats().empty());
}

TEST_F(WorkerTest, CorruptModelExits2WithAMessage) {
  rbee::testing::TestDir dir;
  {
    std::ifstream in(model_, std::ios::binary);
    std::vector<char> head(64 * 1024);
    in.read(head.data(), std::streamsize(head.size()));
    std::ofstream(dir.path() / "truncated.gguf", std::ios::binary)
        .write(head.data(), std::streamsize(head.size()));
  }
  Worker corrupt(dir.path() / "truncated.gguf", {});
  auto result = corrupt.command().finish(10s);
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_NE(result.err.find("cannot load the model"), std::string::npos) << result.err;
  EXPECT_NE(result.err.find("truncated.gguf"), std::string::npos) << result.err;

  Worker missing(dir.path() / "missing.gguf", {});
  result = missing.command().finish(10s);
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_NE(result.err.find("missing.gguf"), std::string::npos) << result.err;
}

TEST_F(WorkerTest, MalformedDeviceExits2NamingTheFlag) {
  Worker worker(model_, {"--device", "gpu"});
  auto result = worker.command().finish(10s);
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_NE(result.err.find("--device"), std::string::npos) << result.err;
}

// Without CUDA in this build, or without a GPU, a worker asked for one is a model that does
// not load: exit 2 and the reason, naming the device.
TEST_F(WorkerTest, MissingGpuExits2NamingIt) {
  if (engine::gpu::cuda_device_count() > 0) GTEST_SKIP() << "a CUDA device is usable here";
  Worker gpu(model_, {"--device", "cuda:0"});
  auto result = gpu.command().finish(10s);
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_NE(result.err.find("cannot load the model: cuda:0"), std::string::npos) << result.err;
  if (!engine::gpu::cuda_built()) {
    EXPECT_NE(result.err.find("-DRBEE_CUDA=ON"), std::string::npos) << result.err;
  }
}

// The GPU's logits agree with the CPU's to rounding only, so the text is not compared with
// llama.cpp's.
TEST_F(WorkerTest, ServesOnAGpu) {
  if (engine::gpu::cuda_device_count() == 0) GTEST_SKIP() << "no CUDA device is usable here";
  auto worker = start({"--device", "cuda:0", "--parallel", "2"});
  EXPECT_EQ(worker->info()["device"], "cuda:0");
  Json response = worker->post_json("/v1/completions", greedy_completion(32));
  EXPECT_EQ(response["object"], "text_completion");
  EXPECT_GE(response["usage"]["completion_tokens"].get<int>(), 1) << response.dump();
}

TEST_F(WorkerTest, TakenPortExits3) {
  // Hold a port with a listening socket.
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
  ASSERT_EQ(::listen(fd, 4), 0);
  socklen_t length = sizeof(address);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
  const int port = ntohs(address.sin_port);
  RunningCommand worker({worker_binary().string(), "--worker-id", "w-taken", "--model",
                         model_.string(), "--port", std::to_string(port)},
                        {});
  auto result = worker.finish(10s);
  ::close(fd);
  EXPECT_EQ(result.exit_code, 3);
  EXPECT_NE(result.err.find(std::to_string(port)), std::string::npos) << result.err;
}

}  // namespace
}  // namespace rbee::integration
