#include "common/ordered_work_pool.h"

#include <atomic>
#include <chrono>
#include <memory>
#include <thread>
#include <vector>

#include "gtest/gtest.h"

namespace microledger {
namespace {

TEST(OrderedWorkPoolTest, RetiresInSubmissionOrderAfterTheTaskRan) {
  OrderedWorkPool pool(3);
  std::vector<int> results(200, -1);
  for (int i = 0; i < 200; ++i) {
    pool.Submit([&results, i] {
      // Later tasks often finish first.
      if (i % 7 == 0) std::this_thread::sleep_for(std::chrono::microseconds(200));
      results[i] = i * i;
    });
  }
  EXPECT_EQ(pool.pending(), 200u);
  for (int i = 0; i < 200; ++i) {
    pool.RetireOldest();
    EXPECT_EQ(results[i], i * i);  // Visible once retired.
  }
  EXPECT_EQ(pool.pending(), 0u);
}

TEST(OrderedWorkPoolTest, InterleavedSubmitAndRetireWithABoundedWindow) {
  OrderedWorkPool pool(2);
  constexpr int kItems = 5000;
  constexpr size_t kWindow = 16;
  std::vector<std::unique_ptr<int>> items;
  int next_retire = 0;
  for (int i = 0; i < kItems; ++i) {
    if (pool.pending() == kWindow) {
      pool.RetireOldest();
      EXPECT_EQ(*items[next_retire], next_retire + 1);
      ++next_retire;
    }
    items.push_back(std::make_unique<int>(0));
    int* item = items.back().get();
    pool.Submit([item, i] { *item = i + 1; });
    EXPECT_LE(pool.pending(), kWindow);
  }
  while (pool.pending() > 0) {
    pool.RetireOldest();
    EXPECT_EQ(*items[next_retire], next_retire + 1);
    ++next_retire;
  }
  EXPECT_EQ(next_retire, kItems);
}

TEST(OrderedWorkPoolTest, DestroyedWithTasksPendingDropsThoseNotStarted) {
  std::atomic<int> ran{0};
  {
    OrderedWorkPool pool(1);
    for (int i = 0; i < 100; ++i) {
      pool.Submit([&ran] {
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
        ++ran;
      });
    }
  }
  EXPECT_LT(ran.load(), 100);
}

TEST(OrderedWorkPoolTest, ZeroThreadsMeansOne) {
  OrderedWorkPool pool(0);
  int value = 0;
  pool.Submit([&value] { value = 42; });
  pool.RetireOldest();
  EXPECT_EQ(value, 42);
}

}  // namespace
}  // namespace microledger
