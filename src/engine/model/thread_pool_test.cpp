#include "engine/model/thread_pool.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <set>

namespace rbee::engine {
namespace {

using std::chrono::microseconds;

// Runs parallel_for(n) `rounds` times and checks that every index was visited once a round.
void expect_each_index_once(ThreadPool& pool, int64_t n, int rounds, int64_t grain) {
  std::vector<std::atomic<int>> hits(static_cast<size_t>(n));
  for (int round = 0; round < rounds; ++round) {
    pool.parallel_for(
        n,
        [&](int64_t begin, int64_t end) {
          for (int64_t i = begin; i < end; ++i) hits[size_t(i)].fetch_add(1);
        },
        grain);
  }
  for (int64_t i = 0; i < n; ++i) {
    ASSERT_EQ(hits[size_t(i)].load(), rounds)
        << pool.n_threads() << " threads, n " << n << ", grain " << grain << ", index " << i;
  }
}

TEST(ThreadPoolTest, EveryIndexExactlyOnce) {
  for (int n_threads : {1, 2, 3, 8}) {
    for (microseconds spin : {microseconds(0), ThreadPool::kDefaultSpin}) {
      ThreadPool pool(n_threads, spin);
      for (int64_t n : {0, 1, 2, 7, 16, 17, 33, 100, 1000, 5632}) {
        for (int64_t grain : {1, 16, 64}) expect_each_index_once(pool, n, 3, grain);
      }
    }
  }
}

TEST(ThreadPoolTest, ChunkBoundariesFallOnTheGrain) {
  ThreadPool pool(2);
  for (int64_t grain : {1, 16, 32}) {
    for (int64_t n : {1, 15, 16, 31, 64, 65, 1000}) {
      std::mutex mu;
      std::vector<std::pair<int64_t, int64_t>> chunks;
      pool.parallel_for(
          n,
          [&](int64_t begin, int64_t end) {
            std::lock_guard lock(mu);
            chunks.emplace_back(begin, end);
          },
          grain);
      for (auto [begin, end] : chunks) {
        EXPECT_LT(begin, end);
        EXPECT_EQ(begin % grain, 0) << "n " << n << " grain " << grain;
        EXPECT_TRUE(end % grain == 0 || end == n) << "n " << n << " grain " << grain;
      }
    }
  }
}

TEST(ThreadPoolTest, SmallJobsRunOnTheCallerAlone) {
  ThreadPool pool(2);
  std::set<std::thread::id> ids;
  pool.parallel_for(16, [&](int64_t, int64_t) { ids.insert(std::this_thread::get_id()); });
  EXPECT_EQ(ids, std::set{std::this_thread::get_id()});
}

TEST(ThreadPoolTest, WorkersTakeChunks) {
  // Two chunks, each waiting for the other to start: only two threads can finish the job.
  for (microseconds spin : {microseconds(0), ThreadPool::kDefaultSpin}) {
    ThreadPool pool(2, spin);
    std::atomic<int> started{0};
    std::atomic<bool> both{true};
    pool.parallel_for(
        2,
        [&](int64_t, int64_t) {
          started.fetch_add(1);
          const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
          while (started.load() < 2) {
            if (std::chrono::steady_clock::now() > deadline) {
              both = false;
              return;
            }
            std::this_thread::yield();
          }
        },
        1);
    EXPECT_TRUE(both.load());
  }
}

TEST(ThreadPoolTest, WakesWorkersThatFellAsleep) {
  // Pauses longer than the spin make the workers block; the next job must still reach them.
  ThreadPool pool(2, microseconds(20));
  for (int round = 0; round < 5; ++round) {
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
    expect_each_index_once(pool, 512, 1, 16);
  }
}

TEST(ThreadPoolTest, ManyBackToBackJobs) {
  // What one token does: many short products in a row. A lost wake-up would hang here.
  for (microseconds spin : {microseconds(0), microseconds(5), ThreadPool::kDefaultSpin}) {
    ThreadPool pool(2, spin);
    std::atomic<int64_t> sum{0};
    for (int round = 0; round < 3000; ++round) {
      pool.parallel_for(64, [&](int64_t begin, int64_t end) {
        int64_t local = 0;
        for (int64_t i = begin; i < end; ++i) local += i;
        sum.fetch_add(local);
      });
    }
    EXPECT_EQ(sum.load(), int64_t(3000) * (63 * 64 / 2));
  }
}

TEST(ThreadPoolTest, ShutsDownWhetherWorkersSpinOrSleep) {
  for (int round = 0; round < 20; ++round) {
    ThreadPool idle(3, microseconds(round % 2 ? 0 : 100));  // never given a job
    ThreadPool busy(2, microseconds(round % 2 ? 0 : 100));
    expect_each_index_once(busy, 100, 1, 1);  // destroyed while its worker still spins
  }
}

}  // namespace
}  // namespace rbee::engine
