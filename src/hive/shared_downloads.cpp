#include "hive/shared_downloads.hpp"

#include <chrono>

namespace rbee::hive {

Status SharedDownloads::run_or_join(const std::string& key, const Transfer& transfer,
                                    jobs::JobContext& job) {
  while (true) {
    if (job.cancelled()) return jobs::JobContext::cancelled_error();
    std::shared_ptr<Shared> shared;
    bool driving = false;
    {
      std::lock_guard lock(mu_);
      auto it = running_.find(key);
      if (it == running_.end()) {
        shared = std::make_shared<Shared>();
        running_[key] = shared;
        driving = true;
      } else {
        shared = it->second;
      }
    }
    if (driving) return drive(key, shared, transfer, job);

    job.narrate("download_join", "Another job is already downloading this model; following it");
    Status outcome = wait_for(shared, job);
    if (job.cancelled()) return jobs::JobContext::cancelled_error();
    // The driving job was cancelled, not this one: take over and resume.
    if (!outcome && outcome.error().code == ErrorCode::kCancelled) {
      job.narrate("download_takeover",
                  "The job that was downloading was cancelled; resuming the download here");
      continue;
    }
    return outcome;
  }
}

Status SharedDownloads::drive(const std::string& key, const std::shared_ptr<Shared>& shared,
                              const Transfer& transfer, jobs::JobContext& job) {
  auto report = [&](const contracts::Progress& progress) {
    job.progress(progress);
    std::lock_guard lock(shared->mu);
    shared->latest = progress;
    ++shared->n_reports;
    shared->changed.notify_all();
  };
  Status outcome = transfer(job.stop_token(), report);
  {
    std::lock_guard lock(mu_);
    running_.erase(key);
  }
  {
    std::lock_guard lock(shared->mu);
    shared->finished = true;
    shared->outcome = outcome;
    shared->changed.notify_all();
  }
  return outcome;
}

Status SharedDownloads::wait_for(const std::shared_ptr<Shared>& shared, jobs::JobContext& job) {
  // Cancellation of this job wakes the wait. Made before the lock is taken (and so destroyed
  // after it is released): the callback itself takes the lock.
  std::stop_callback wake(job.stop_token(), [&shared] {
    std::lock_guard inner(shared->mu);
    shared->changed.notify_all();
  });
  std::unique_lock lock(shared->mu);
  ++shared->n_waiting;
  uint64_t seen_reports = 0;
  while (!shared->finished && !job.cancelled()) {
    shared->changed.wait(lock);
    if (shared->n_reports != seen_reports) {
      seen_reports = shared->n_reports;
      auto progress = shared->latest;
      lock.unlock();
      job.progress(progress);
      lock.lock();
    }
  }
  --shared->n_waiting;
  if (!shared->finished) return jobs::JobContext::cancelled_error();
  return shared->outcome;
}

bool SharedDownloads::active(const std::string& key) const {
  std::lock_guard lock(mu_);
  return running_.contains(key);
}

int SharedDownloads::n_waiting(const std::string& key) const {
  std::shared_ptr<Shared> shared;
  {
    std::lock_guard lock(mu_);
    auto it = running_.find(key);
    if (it == running_.end()) return 0;
    shared = it->second;
  }
  std::lock_guard lock(shared->mu);
  return shared->n_waiting;
}

}  // namespace rbee::hive
