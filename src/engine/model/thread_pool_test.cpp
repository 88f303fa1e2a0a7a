#include "engine/model/thread_pool.hpp"

#include <gtest/gtest.h>

#include <atomic>

namespace rbee::engine {
namespace {

TEST(ThreadPoolTest, EveryIndexExactlyOnce) {
  for (int n_threads : {1, 2, 3, 8}) {
    ThreadPool pool(n_threads);
    for (int64_t n : {0, 1, 2, 7, 1000}) {
      std::vector<std::atomic<int>> hits(static_cast<size_t>(n));
      for (int round = 0; round < 3; ++round) {
        pool.parallel_for(n, [&](int64_t begin, int64_t end) {
          for (int64_t i = begin; i < end; ++i) ++hits[size_t(i)];
        });
      }
      for (const auto& hit : hits) EXPECT_EQ(hit.load(), 3) << n_threads << " threads, n " << n;
    }
  }
}

TEST(ThreadPoolTest, SharesRunOnSeveralThreads) {
  ThreadPool pool(2);
  std::atomic<int> calls{0};
  pool.parallel_for(100, [&](int64_t, int64_t) { ++calls; });
  EXPECT_EQ(calls.load(), 2);
}

}  // namespace
}  // namespace rbee::engine
