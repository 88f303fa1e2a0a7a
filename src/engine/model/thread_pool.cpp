#include "engine/model/thread_pool.hpp"

#include "common/check.hpp"

namespace rbee::engine {
namespace {

std::pair<int64_t, int64_t> share(int64_t n, int index, int n_parts) {
  int64_t begin = n * index / n_parts;
  int64_t end = n * (index + 1) / n_parts;
  return {begin, end};
}

}  // namespace

ThreadPool::ThreadPool(int n_threads) : n_threads_(n_threads) {
  RBEE_CHECK(n_threads >= 1, "a thread pool needs at least one thread");
  for (int i = 1; i < n_threads; ++i) threads_.emplace_back([this, i] { worker(i); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  work_ready_.notify_all();
  for (auto& thread : threads_) thread.join();
}

void ThreadPool::worker(int index) {
  uint64_t seen = 0;
  while (true) {
    const std::function<void(int64_t, int64_t)>* task = nullptr;
    int64_t n = 0;
    {
      std::unique_lock lock(mu_);
      work_ready_.wait(lock, [&] { return stopping_ || generation_ != seen; });
      if (stopping_) return;
      seen = generation_;
      task = task_;
      n = task_n_;
    }
    auto [begin, end] = share(n, index, n_threads_);
    if (begin < end) (*task)(begin, end);
    {
      std::lock_guard lock(mu_);
      if (--pending_ == 0) work_done_.notify_one();
    }
  }
}

void ThreadPool::parallel_for(int64_t n, const std::function<void(int64_t, int64_t)>& fn) {
  if (n_threads_ == 1 || n < 2) {
    if (n > 0) fn(0, n);
    return;
  }
  {
    std::lock_guard lock(mu_);
    task_ = &fn;
    task_n_ = n;
    pending_ = n_threads_ - 1;
    ++generation_;
  }
  work_ready_.notify_all();
  auto [begin, end] = share(n, 0, n_threads_);
  if (begin < end) fn(begin, end);
  std::unique_lock lock(mu_);
  work_done_.wait(lock, [&] { return pending_ == 0; });
  task_ = nullptr;
}

}  // namespace rbee::engine
