#include "engine/model/thread_pool.hpp"

#include <algorithm>

#include "common/check.hpp"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

namespace rbee::engine {
namespace {

// Chunks per thread when each still has kSpareChunkRows rows, so that a thread that is done
// early helps; one chunk per thread below that, to claim less often in tiny products.
constexpr int64_t kChunksPerThread = 4;
constexpr int64_t kSpareChunkRows = 64;
constexpr int64_t kMaxChunks = 1 << 15;  // fits the 16 bits of a claim word's counts

uint64_t pack_claim(uint32_t generation, int64_t n_chunks) {
  return uint64_t(generation) << 32 | uint64_t(n_chunks) << 16;
}
uint32_t generation_of(uint64_t claim) {
  return uint32_t(claim >> 32);
}
int64_t n_chunks_of(uint64_t claim) {
  return int64_t((claim >> 16) & 0xffff);
}
int64_t next_chunk_of(uint64_t claim) {
  return int64_t(claim & 0xffff);
}

void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  _mm_pause();
#elif defined(__aarch64__)
  asm volatile("yield" ::: "memory");
#endif
}

// Polls done() with a pause between tries for up to `spin`; whether it became true.
template <typename Done>
bool spin_until(std::chrono::microseconds spin, Done done) {
  if (done()) return true;
  if (spin.count() <= 0) return false;
  const auto deadline = std::chrono::steady_clock::now() + spin;
  for (uint32_t i = 1;; ++i) {
    cpu_relax();
    if (done()) return true;
    if (i % 64 == 0 && std::chrono::steady_clock::now() >= deadline) return false;
  }
}

int64_t ceil_div(int64_t a, int64_t b) {
  return (a + b - 1) / b;
}

}  // namespace

ThreadPool::ThreadPool(int n_threads, std::chrono::microseconds spin)
    : n_threads_(n_threads), spin_(spin) {
  RBEE_CHECK(n_threads >= 1, "a thread pool needs at least one thread");
  const unsigned hardware = std::thread::hardware_concurrency();
  if (hardware != 0 && unsigned(n_threads) > hardware) spin_ = std::chrono::microseconds(0);
  for (int i = 1; i < n_threads; ++i) threads_.emplace_back([this] { worker(); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard lock(mu_);
    stopping_.store(true);
  }
  work_ready_.notify_all();
  for (auto& thread : threads_) thread.join();
}

uint32_t ThreadPool::wait_for_job(uint32_t seen) {
  uint32_t generation = seen;
  auto posted = [&] {
    generation = generation_of(claim_.load(std::memory_order_relaxed));
    return generation != seen || stopping_.load(std::memory_order_relaxed);
  };
  if (spin_until(spin_, posted)) return generation;
  std::unique_lock lock(mu_);
  // seq_cst on both sides (this increment, then the load of claim_; the caller's store of
  // claim_, then its load of sleeping_workers_): either the caller sees a sleeper and notifies
  // under the mutex, or this thread sees the new job and does not wait.
  sleeping_workers_.fetch_add(1);
  work_ready_.wait(lock, [&] {
    generation = generation_of(claim_.load());
    return generation != seen || stopping_.load();
  });
  sleeping_workers_.fetch_sub(1);
  return generation;
}

void ThreadPool::worker() {
  uint32_t seen = 0;
  while (true) {
    seen = wait_for_job(seen);
    if (stopping_.load()) return;
    run_chunks(seen);
  }
}

void ThreadPool::run_chunks(uint32_t generation) {
  uint64_t claim = claim_.load(std::memory_order_acquire);
  while (generation_of(claim) == generation && next_chunk_of(claim) < n_chunks_of(claim)) {
    if (!claim_.compare_exchange_weak(claim, claim + 1, std::memory_order_acquire,
                                      std::memory_order_acquire)) {
      continue;  // `claim` now holds the current word
    }
    const int64_t begin = next_chunk_of(claim) * job_.chunk;
    (*job_.fn)(begin, std::min(job_.n, begin + job_.chunk));
    // The same pairing as in wait_for_job, with caller_sleeping_ and chunks_done_.
    if (chunks_done_.fetch_add(1) + 1 == n_chunks_of(claim) && caller_sleeping_.load()) {
      std::lock_guard lock(mu_);
      work_done_.notify_one();
    }
    claim = claim_.load(std::memory_order_acquire);
  }
}

void ThreadPool::wait_for_chunks(int64_t n_chunks) {
  auto done = [&] { return chunks_done_.load(std::memory_order_acquire) == n_chunks; };
  if (spin_until(spin_, done)) return;
  std::unique_lock lock(mu_);
  caller_sleeping_.store(true);
  work_done_.wait(lock, [&] { return chunks_done_.load() == n_chunks; });
  caller_sleeping_.store(false);
}

void ThreadPool::parallel_for(int64_t n, RangeFn fn, int64_t grain) {
  if (n <= 0) return;
  grain = std::max<int64_t>(grain, 1);
  int64_t target = n_threads_;
  if (n >= n_threads_ * kChunksPerThread * kSpareChunkRows) target *= kChunksPerThread;
  target = std::min(target, kMaxChunks);
  const int64_t chunk = ceil_div(ceil_div(n, target), grain) * grain;
  const int64_t n_chunks = ceil_div(n, chunk);
  if (n_chunks == 1) {
    fn(0, n);
    return;
  }
  job_ = Job{&fn, n, chunk};
  chunks_done_.store(0, std::memory_order_relaxed);
  ++generation_;
  claim_.store(pack_claim(generation_, n_chunks));  // seq_cst: publishes job_, pairs as above
  if (sleeping_workers_.load() > 0) {
    std::lock_guard lock(mu_);
    work_ready_.notify_all();
  }
  run_chunks(generation_);
  wait_for_chunks(n_chunks);
  job_.fn = nullptr;
}

}  // namespace rbee::engine
