#include "ledger_store/ledger_cache.h"

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace microledger {
namespace {

TEST(LedgerCacheTest, OneEntryPerLedger) {
  LedgerCache cache(1000);
  EXPECT_EQ(cache.Find("a"), nullptr);
  std::shared_ptr<LedgerEntry> a = cache.GetOrCreate("a");
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(cache.GetOrCreate("a"), a);
  EXPECT_EQ(cache.Find("a"), a);
  EXPECT_NE(cache.GetOrCreate("b"), a);
  EXPECT_EQ(cache.size(), 2u);
}

TEST(LedgerCacheTest, EvictsIdleEntriesBeyondTheCapacity) {
  LedgerCache cache(64);  // one entry per shard
  for (int i = 0; i < 1000; ++i) cache.GetOrCreate(absl::StrCat("ledger ", i));
  EXPECT_LE(cache.size(), 64u);
}

TEST(LedgerCacheTest, NeverEvictsAnEntrySomeoneHolds) {
  LedgerCache cache(64);
  std::vector<std::shared_ptr<LedgerEntry>> held;
  for (int i = 0; i < 200; ++i) held.push_back(cache.GetOrCreate(absl::StrCat("held ", i)));
  for (int i = 0; i < 1000; ++i) cache.GetOrCreate(absl::StrCat("idle ", i));
  for (int i = 0; i < 200; ++i) {
    EXPECT_EQ(cache.Find(absl::StrCat("held ", i)), held[i]) << i;
  }
}

}  // namespace
}  // namespace microledger
