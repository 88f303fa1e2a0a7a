#include "worker/slot_scheduler.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>

#include "worker/engine_slots.hpp"
#include "worker/model_loader.hpp"

namespace rbee::worker {
namespace {

using namespace std::chrono_literals;

// A backend whose requests take max_tokens steps, each producing "<prompt id>.<step> ", and
// which the test can hold still between steps.
class FakeBackend : public SlotBackend {
 public:
  explicit FakeBackend(int n_slots) : requests_(size_t(n_slots)), steps_(size_t(n_slots)) {}

  int n_slots() const override { return int(requests_.size()); }

  Status begin(int slot, const GenerationRequest& request) override {
    std::lock_guard lock(mu_);
    requests_[size_t(slot)] = request;
    steps_[size_t(slot)] = 0;
    begun_.push_back(request.prompt_tokens.at(0));
    return ok_status();
  }

  Result<SlotStep> step(int slot) override {
    std::unique_lock lock(mu_);
    resumed_.wait(lock, [this] { return !paused_; });
    const auto& request = requests_[size_t(slot)];
    int& n = steps_[size_t(slot)];
    ++n;
    const std::string id = std::to_string(request.prompt_tokens.at(0));
    log_.push_back(id + "." + std::to_string(n));
    SlotStep out;
    out.text = id + "." + std::to_string(n) + " ";
    out.n_generated = n;
    out.done = n >= request.options.max_tokens;
    out.finish_reason = out.done ? "length" : "";
    return out;
  }

  std::vector<Result<SlotStep>> step_all(std::span<const int> slots) override {
    {
      std::lock_guard lock(mu_);
      round_sizes_.push_back(slots.size());
    }
    return SlotBackend::step_all(slots);
  }

  void end(int slot) override {
    std::lock_guard lock(mu_);
    ++n_ended_;
    requests_[size_t(slot)] = {};
  }

  void pause() {
    std::lock_guard lock(mu_);
    paused_ = true;
  }
  void resume() {
    {
      std::lock_guard lock(mu_);
      paused_ = false;
    }
    resumed_.notify_all();
  }
  std::vector<std::string> log() const {
    std::lock_guard lock(mu_);
    return log_;
  }
  std::vector<int32_t> begun() const {
    std::lock_guard lock(mu_);
    return begun_;
  }
  int n_ended() const {
    std::lock_guard lock(mu_);
    return n_ended_;
  }
  std::vector<size_t> round_sizes() const {
    std::lock_guard lock(mu_);
    return round_sizes_;
  }

 private:
  mutable std::mutex mu_;
  std::condition_variable resumed_;
  bool paused_ = false;
  std::vector<GenerationRequest> requests_;
  std::vector<int> steps_;
  std::vector<std::string> log_;
  std::vector<int32_t> begun_;
  std::vector<size_t> round_sizes_;
  int n_ended_ = 0;
};

GenerationRequest request(int32_t id, int steps) {
  GenerationRequest out;
  out.prompt_tokens = {id};
  out.options.max_tokens = steps;
  return out;
}

// Everything a job produces, until it ends (or 10 s pass).
GenerationJob::Update collect(GenerationJob& job) {
  GenerationJob::Update all;
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (!all.finished && std::chrono::steady_clock::now() < deadline) {
    auto update = job.wait(deadline);
    all.text += update.text;
    all.finished = update.finished;
    all.finish_reason = update.finish_reason;
    all.error = update.error;
    all.n_prompt_tokens = update.n_prompt_tokens;
    all.n_completion_tokens = update.n_completion_tokens;
  }
  return all;
}

TEST(SlotSchedulerTest, SlotsAdvanceTogetherOneStepPerRound) {
  FakeBackend backend(2);
  backend.pause();
  SlotScheduler scheduler(backend, {});
  auto a = scheduler.submit(request(1, 3));
  auto b = scheduler.submit(request(2, 3));
  ASSERT_TRUE(a && b);
  EXPECT_EQ(scheduler.stats().slots_busy, 2);
  EXPECT_EQ(scheduler.stats().queue_depth, 0);
  backend.resume();
  auto first = collect(**a);
  auto second = collect(**b);
  EXPECT_EQ(first.text, "1.1 1.2 1.3 ");
  EXPECT_EQ(first.finish_reason, "length");
  EXPECT_EQ(first.n_completion_tokens, 3);
  EXPECT_EQ(first.n_prompt_tokens, 1);
  EXPECT_EQ(second.text, "2.1 2.2 2.3 ");
  // Once the second request runs the two alternate, one step each per round (the scheduler
  // may have begun a round with the first alone, before the second was submitted).
  auto log = backend.log();
  ASSERT_EQ(log.size(), 6u);
  size_t second_starts = 0;
  while (log[second_starts][0] != '2') ++second_starts;
  // The paused backend let the first take at most one step before the second was queued.
  EXPECT_LE(second_starts, 2u);
  for (size_t i = second_starts + 1; i < log.size(); ++i) {
    const bool first_done = std::count(log.begin(), log.begin() + long(i), "1.3") > 0;
    if (!first_done) {
      EXPECT_NE(log[i][0], log[i - 1][0]) << "step " << i;
    }
  }
  // Each round is one batch of every active slot: 6 steps in at most 4 rounds.
  auto rounds = backend.round_sizes();
  EXPECT_LE(rounds.size(), 4u);
  EXPECT_EQ(*std::max_element(rounds.begin(), rounds.end()), 2u);
  EXPECT_TRUE(scheduler.wait_idle(std::chrono::steady_clock::now() + 5s));
  EXPECT_EQ(scheduler.stats().slots_busy, 0);
}

TEST(SlotSchedulerTest, QueueIsFifoAndBounded) {
  FakeBackend backend(1);
  backend.pause();
  SchedulerOptions options;
  options.max_queue = 2;
  SlotScheduler scheduler(backend, options);
  auto a = scheduler.submit(request(1, 2));
  auto b = scheduler.submit(request(2, 2));
  auto c = scheduler.submit(request(3, 2));
  ASSERT_TRUE(a && b && c);
  auto d = scheduler.submit(request(4, 2));
  ASSERT_FALSE(d);
  EXPECT_EQ(d.error().code, ErrorCode::kResourceExhausted);
  auto stats = scheduler.stats();
  EXPECT_EQ(stats.slots_total, 1);
  EXPECT_EQ(stats.slots_busy, 1);
  EXPECT_EQ(stats.queue_depth, 2);
  backend.resume();
  EXPECT_EQ(collect(**c).text, "3.1 3.2 ");
  EXPECT_TRUE(collect(**a).finished);
  EXPECT_TRUE(collect(**b).finished);
  EXPECT_EQ(backend.begun(), (std::vector<int32_t>{1, 2, 3}));
}

TEST(SlotSchedulerTest, ACancelledJobFreesItsSlotForTheNext) {
  FakeBackend backend(1);
  std::vector<JobSummary> summaries;
  std::mutex summaries_mu;
  SchedulerOptions options;
  options.on_finished = [&](const JobSummary& summary) {
    std::lock_guard lock(summaries_mu);
    summaries.push_back(summary);
  };
  SlotScheduler scheduler(backend, options);
  auto endless = scheduler.submit(request(1, 1'000'000'000));
  ASSERT_TRUE(endless);
  auto waiting = scheduler.submit(request(2, 1));
  ASSERT_TRUE(waiting);
  // The first job runs: text arrives.
  auto update = (*endless)->wait(std::chrono::steady_clock::now() + 5s);
  EXPECT_FALSE(update.text.empty());
  (*endless)->cancel();
  auto next = collect(**waiting);
  EXPECT_EQ(next.text, "2.1 ");
  EXPECT_TRUE(scheduler.wait_idle(std::chrono::steady_clock::now() + 5s));
  EXPECT_EQ(backend.n_ended(), 2);
  std::lock_guard lock(summaries_mu);
  ASSERT_EQ(summaries.size(), 2u);
  EXPECT_TRUE(summaries[0].cancelled);
  EXPECT_FALSE(summaries[1].cancelled);
  EXPECT_EQ(summaries[1].n_generated, 1);
}

TEST(SlotSchedulerTest, CancelledQueuedJobsAreDropped) {
  FakeBackend backend(1);
  backend.pause();
  SlotScheduler scheduler(backend, {});
  auto running = scheduler.submit(request(1, 1));
  auto queued = scheduler.submit(request(2, 1));
  ASSERT_TRUE(running && queued);
  EXPECT_EQ(scheduler.stats().queue_depth, 1);
  (*queued)->cancel();
  EXPECT_EQ(scheduler.stats().queue_depth, 0);
  backend.resume();
  EXPECT_TRUE(collect(**running).finished);
  EXPECT_TRUE(scheduler.wait_idle(std::chrono::steady_clock::now() + 5s));
  EXPECT_EQ(backend.begun(), (std::vector<int32_t>{1}));
}

TEST(SlotSchedulerTest, CloseRefusesNewRequestsAndAbortEndsRunningOnes) {
  FakeBackend backend(1);
  backend.pause();
  SlotScheduler scheduler(backend, {});
  auto running = scheduler.submit(request(1, 1'000'000'000));
  auto queued = scheduler.submit(request(2, 5));
  ASSERT_TRUE(running && queued);
  scheduler.close();
  auto refused = scheduler.submit(request(3, 1));
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, ErrorCode::kUnavailable);
  EXPECT_FALSE(scheduler.wait_idle(std::chrono::steady_clock::now() + 20ms));
  scheduler.abort_all(Error{ErrorCode::kUnavailable, "shutting down"});
  backend.resume();
  auto aborted = collect(**running);
  ASSERT_TRUE(aborted.error);
  EXPECT_EQ(aborted.error->message, "shutting down");
  auto dropped = collect(**queued);
  ASSERT_TRUE(dropped.error);
  EXPECT_TRUE(scheduler.wait_idle(std::chrono::steady_clock::now() + 5s));
}

TEST(SlotSchedulerTest, StopEndsWhatIsLeft) {
  FakeBackend backend(1);
  auto scheduler = std::make_unique<SlotScheduler>(backend, SchedulerOptions{});
  auto running = scheduler->submit(request(1, 1'000'000'000));
  ASSERT_TRUE(running);
  EXPECT_FALSE((*running)->wait(std::chrono::steady_clock::now() + 5s).text.empty());
  scheduler->stop();
  auto ended = collect(**running);
  EXPECT_TRUE(ended.finished);
  EXPECT_TRUE(ended.error);
  EXPECT_EQ(backend.n_ended(), 1);
}

// The real engine behind the scheduler: parallel greedy requests each get the text one
// request alone gets.
TEST(SlotSchedulerTest, EngineSlotsServeParallelRequestsExactly) {
  const auto path = std::filesystem::path(RBEE_TESTDATA_DIR) / "models" / "stories260K.gguf";
  if (!std::filesystem::exists(path)) GTEST_SKIP() << "stories260K.gguf is not available";
  auto loaded = load_model(path, {});
  ASSERT_TRUE(loaded) << loaded.error().message;
  auto slots = EngineSlots::create(*loaded->model, *loaded->tokenizer, 2, 128, 1);
  ASSERT_TRUE(slots);
  SlotScheduler scheduler(**slots, {});
  std::vector<std::shared_ptr<GenerationJob>> jobs;
  for (int i = 0; i < 3; ++i) {
    GenerationRequest greedy;
    greedy.prompt_tokens = loaded->tokenizer->encode("Once upon a time", true, false);
    greedy.options.max_tokens = 32;
    greedy.options.sampling.temperature = 0;
    auto job = scheduler.submit(std::move(greedy));
    ASSERT_TRUE(job);
    jobs.push_back(*job);
  }
  for (auto& job : jobs) {
    auto result = collect(*job);
    EXPECT_EQ(result.text,
              ", there was a little girl named Lily. She loved to play outside in the park. One "
              "day, she saw");
    EXPECT_EQ(result.finish_reason, "length");
    EXPECT_EQ(result.n_completion_tokens, 32);
    EXPECT_EQ(result.n_prompt_tokens, 5);
  }
}

}  // namespace
}  // namespace rbee::worker
