#include "jobs/job_context.hpp"

#include <spdlog/spdlog.h>

#include <condition_variable>
#include <mutex>

#include "common/clock.hpp"
#include "common/logging.hpp"

namespace rbee::jobs {

namespace {
constexpr int64_t kProgressIntervalMs = 250;
}  // namespace

JobContext::JobContext(std::shared_ptr<Job> job, std::string actor)
    : job_(std::move(job)), actor_(std::move(actor)) {}

Error JobContext::cancelled_error() {
  return Error{ErrorCode::kCancelled, "the job was cancelled"};
}

void JobContext::narrate(const std::string& action, const std::string& human,
                         const std::string& level) {
  contracts::Narration narration{actor_, action, human, level, now_unix_ms(), job_->id(), ""};
  auto log = logger("jobs");
  log->log(spdlog::level::from_str(level == "warn" ? "warning" : level), "[{}] {}: {}", job_->id(),
           action, human);
  job_->append(contracts::kEventNarration, to_json(narration));
}

void JobContext::progress(const contracts::Progress& progress) {
  int64_t now = now_steady_ms();
  auto it = last_progress_ms_.find(progress.phase);
  bool is_final = progress.total > 0 && progress.done >= progress.total;
  if (it != last_progress_ms_.end() && !is_final && now - it->second < kProgressIntervalMs) return;
  last_progress_ms_[progress.phase] = now;
  job_->append(contracts::kEventProgress, to_json(progress));
}

void JobContext::result(const contracts::Json& data) {
  job_->append(contracts::kEventResult, data);
}

void JobContext::emit(const std::string& name, const contracts::Json& data) {
  job_->append(name, data);
}

bool JobContext::wait_for(std::chrono::milliseconds duration) const {
  std::mutex mu;
  std::condition_variable_any wake;
  std::unique_lock lock(mu);
  std::stop_token token = stop_token();
  // Nothing notifies `wake`: the wait ends on the timeout or when the stop token fires.
  wake.wait_for(lock, token, duration, [] { return false; });
  return !token.stop_requested();
}

}  // namespace rbee::jobs
