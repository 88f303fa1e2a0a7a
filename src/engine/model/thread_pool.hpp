#pragma once

// A fixed pool of threads for splitting one operation (the rows of a matrix product) across
// cores. The calling thread takes a share too. Results never depend on the number of threads:
// each index is computed by exactly one thread, with the same arithmetic.
//
// One token runs hundreds of short products back to back, so a worker that has finished its
// share spins for a while (a relaxed poll with a pause instruction) before it blocks on a
// condition variable: a product posted within the spin time costs no futex wake. The caller
// spins on the completion count the same way. The spin is bounded, so an idle pool sleeps.
//
// [0, n) is cut into chunks whose boundaries are multiples of the grain (except n itself), a
// few per thread when n is large. Every chunk goes to whichever thread claims it first, and a
// job is done when its chunks are, not when every worker has checked in: threads finish
// together even when one core is slower, and a worker the OS has not scheduled yet holds
// nothing up (the caller claims its chunks; one preempted inside a chunk still does).

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>
#include <type_traits>
#include <vector>

namespace rbee::engine {

// A non-owning reference to a callable fn(int64_t begin, int64_t end) (no allocation). It must
// outlive the call it is passed to, as a temporary argument does.
class RangeFn {
 public:
  template <typename F>
  requires(!std::is_same_v<std::remove_cvref_t<F>, RangeFn> &&
           std::is_invocable_v<const F&, int64_t, int64_t>)
      RangeFn(const F& fn)  // NOLINT: implicit, so that a lambda can be passed
      : object_(&fn), call_([](const void* object, int64_t begin, int64_t end) {
          (*static_cast<const F*>(object))(begin, end);
        }) {}
  void operator()(int64_t begin, int64_t end) const { call_(object_, begin, end); }

 private:
  const void* object_;
  void (*call_)(const void*, int64_t, int64_t);
};

class ThreadPool {
 public:
  // Rows per chunk at least, and the multiple chunk boundaries fall on: a kernel that works on
  // groups of rows dividing it sees the same groups at every thread count.
  static constexpr int64_t kDefaultGrain = 16;
  static constexpr std::chrono::microseconds kDefaultSpin{100};

  // n_threads >= 1 (the caller counts as one). Idle workers poll for `spin` before they block;
  // there is no spinning when n_threads exceeds the hardware's threads (it would take the core
  // from the thread that works).
  explicit ThreadPool(int n_threads, std::chrono::microseconds spin = kDefaultSpin);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int n_threads() const { return n_threads_; }

  // Calls fn(begin, end) on disjoint chunks covering [0, n) (each boundary a multiple of
  // `grain`, or n) and returns when all are done. fn runs on several threads at once and must
  // not throw. When [0, n) makes a single chunk, the caller runs it alone and no worker wakes.
  // Not re-entrant; one caller at a time.
  void parallel_for(int64_t n, RangeFn fn, int64_t grain = kDefaultGrain);

 private:
  void worker();
  // Waits until a job other than `seen` is posted (returns its generation) or the pool stops.
  uint32_t wait_for_job(uint32_t seen);
  // Claims and runs chunks of job `generation` until none is left to claim.
  void run_chunks(uint32_t generation);
  void wait_for_chunks(int64_t n_chunks);

  int n_threads_;
  std::chrono::microseconds spin_;
  std::vector<std::thread> threads_;

  // The posted job: written by the caller before it stores claim_ (release), read by a thread
  // only after it claimed one of the job's chunks (acquire), so never after the job is done.
  struct Job {
    const RangeFn* fn = nullptr;
    int64_t n = 0;
    int64_t chunk = 0;
  };
  Job job_;
  uint32_t generation_ = 0;  // the caller's count of jobs

  // The job's generation (bits 32..63), its number of chunks (16..31) and the next chunk no
  // thread has claimed (0..15). One word, so that a thread that saw an old job can never claim
  // a chunk of a newer one (its compare-exchange fails).
  alignas(64) std::atomic<uint64_t> claim_{0};
  alignas(64) std::atomic<int64_t> chunks_done_{0};
  // Set before a wait on a condition variable, so that the other side knows to notify.
  alignas(64) std::atomic<int> sleeping_workers_{0};
  std::atomic<bool> caller_sleeping_{false};
  std::atomic<bool> stopping_{false};
  std::mutex mu_;
  std::condition_variable work_ready_;
  std::condition_variable work_done_;
};

}  // namespace rbee::engine
