#include "owner_agent/resident_ledgers.h"

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"

namespace microledger {
namespace {

std::string Id(int i) { return "ledger-" + std::to_string(i); }

TEST(ResidentLedgersTest, FindsWhatWasAddedAndRefusesASecondStateOfOneLedger) {
  ResidentLedgers resident(4);
  auto first = std::make_shared<LedgerState>();
  EXPECT_EQ(resident.Find(Id(1)), nullptr);
  EXPECT_TRUE(resident.Add(Id(1), first));
  EXPECT_FALSE(resident.Add(Id(1), std::make_shared<LedgerState>()));
  EXPECT_EQ(resident.Find(Id(1)), first);
  resident.Remove(Id(1));
  EXPECT_EQ(resident.Find(Id(1)), nullptr);
  resident.Remove(Id(1));  // Nothing to remove: no effect.
  EXPECT_EQ(resident.size(), 0u);
}

TEST(ResidentLedgersTest, DropsTheLeastRecentlyUsedIdleLedgersBeyondItsCapacity) {
  ResidentLedgers resident(3);
  for (int i = 1; i <= 3; ++i) ASSERT_TRUE(resident.Add(Id(i), std::make_shared<LedgerState>()));
  ASSERT_NE(resident.Find(Id(1)), nullptr);  // 1 is now the most recently used.
  ASSERT_TRUE(resident.Add(Id(4), std::make_shared<LedgerState>()));
  EXPECT_EQ(resident.size(), 3u);
  EXPECT_EQ(resident.Find(Id(2)), nullptr);  // The least recently used went.
  EXPECT_NE(resident.Find(Id(1)), nullptr);
  EXPECT_NE(resident.Find(Id(3)), nullptr);
  EXPECT_NE(resident.Find(Id(4)), nullptr);
}

TEST(ResidentLedgersTest, NeverDropsALedgerSomeoneHolds) {
  ResidentLedgers resident(2);
  std::vector<std::shared_ptr<LedgerState>> held;
  for (int i = 1; i <= 5; ++i) {
    held.push_back(std::make_shared<LedgerState>());
    ASSERT_TRUE(resident.Add(Id(i), held.back()));
  }
  // All busy: the set stays over its capacity rather than lose one.
  EXPECT_EQ(resident.size(), 5u);
  for (int i = 1; i <= 5; ++i) EXPECT_EQ(resident.Find(Id(i)), held[i - 1]) << i;
  // Once 1..4 are released, the next Add drops idle ones down to the capacity
  // (the held 5 and the new 6 stay).
  for (int i = 0; i < 4; ++i) held[i].reset();
  ASSERT_TRUE(resident.Add(Id(6), std::make_shared<LedgerState>()));
  EXPECT_EQ(resident.size(), 2u);
  EXPECT_EQ(resident.Find(Id(5)), held[4]);
  EXPECT_NE(resident.Find(Id(6)), nullptr);
  // A pointer handed out by Find counts as held.
  std::shared_ptr<LedgerState> six = resident.Find(Id(6));
  ASSERT_TRUE(resident.Add(Id(7), std::make_shared<LedgerState>()));
  EXPECT_EQ(resident.Find(Id(6)), six);
}

TEST(ResidentLedgersTest, OneAddLooksAtABoundedNumberOfBusyLedgers) {
  const size_t busy = ResidentLedgers::kMaxChecksPerAdd + 4;
  ResidentLedgers resident(1);
  // The idle ledger is the most recently used; the busy ones are older.
  std::vector<std::shared_ptr<LedgerState>> held;
  for (size_t i = 0; i < busy; ++i) {
    held.push_back(std::make_shared<LedgerState>());
    ASSERT_TRUE(resident.Add(Id(static_cast<int>(i)), held.back()));
  }
  ASSERT_TRUE(resident.Add("idle", std::make_shared<LedgerState>()));
  // The oldest kMaxChecksPerAdd are busy: nothing was dropped this time.
  EXPECT_EQ(resident.size(), busy + 1);
  EXPECT_NE(resident.Find("idle"), nullptr);
  // They went to the front as used, so the next Add reaches the idle one
  // behind the other busy ones (Find made "idle" recent again, so add two).
  ASSERT_TRUE(resident.Add("another", std::make_shared<LedgerState>()));
  ASSERT_TRUE(resident.Add("a third", std::make_shared<LedgerState>()));
  EXPECT_EQ(resident.Find("idle"), nullptr);
  for (size_t i = 0; i < busy; ++i) EXPECT_EQ(resident.Find(Id(static_cast<int>(i))), held[i]);
}

TEST(ResidentLedgersTest, ConcurrentUseKeepsOneStatePerLedger) {
  ResidentLedgers resident(8);
  constexpr int kThreads = 4;
  constexpr int kRounds = 2000;
  std::vector<std::thread> threads;
  std::vector<int> mismatches(kThreads, 0);
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&resident, &mismatches, t] {
      for (int round = 0; round < kRounds; ++round) {
        const std::string id = Id(round % 32);
        std::shared_ptr<LedgerState> ledger = resident.Find(id);
        if (ledger == nullptr) {
          auto made = std::make_shared<LedgerState>();
          if (resident.Add(id, made)) {
            ledger = made;
          } else {
            ledger = resident.Find(id);
          }
        }
        // While held, the ledger is the one the set hands out.
        if (ledger != nullptr && resident.Find(id) != ledger) ++mismatches[t];
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  for (int t = 0; t < kThreads; ++t) EXPECT_EQ(mismatches[t], 0) << t;
  EXPECT_LE(resident.size(), 8u + kThreads);
}

}  // namespace
}  // namespace microledger
