// EvidenceStore (evidence_store.h) on the memory store and on RocksDB: order
// received, deduplication by evidence id, one list per ledger, durability
// across a reopen, untouched by a forget's deletes, and concurrent Adds. The
// store keeps bytes without judging them, so plain strings stand in for
// evidence objects here.
#include "ledger_store/evidence_store.h"

#include <algorithm>
#include <cstdlib>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/evidence.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "ledger_store/kv_store.h"
#include "ledger_store/storage_layout.h"

namespace microledger {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

const std::string kLedger(32, '\x11');
const std::string kOtherLedger(32, '\x12');

class EvidenceStoreTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (GetParam() == "rocksdb") {
      const char* tmp = std::getenv("TEST_TMPDIR");
      dir_ = absl::StrCat(tmp ? tmp : "/tmp", "/evidence_store_test_XXXXXX");
      ASSERT_NE(mkdtemp(dir_.data()), nullptr);
    }
    Open();
  }

  // A fresh memory store, or the RocksDB store reopened over the same files.
  void Open() {
    evidence_.reset();
    store_.reset();
    if (GetParam() == "memory") {
      store_ = NewMemoryKvStore();
    } else {
      absl::StatusOr<std::unique_ptr<KvStore>> store = OpenRocksDbKvStore(dir_, true);
      ASSERT_TRUE(store.ok()) << store.status();
      store_ = *std::move(store);
    }
    evidence_ = std::make_unique<EvidenceStore>(store_.get());
  }

  bool Add(const std::string& ledger, const std::string& evidence) {
    absl::StatusOr<bool> added = evidence_->Add(ledger, evidence);
    EXPECT_TRUE(added.ok()) << added.status();
    return added.ok() && *added;
  }

  std::vector<std::string> List(const std::string& ledger) {
    absl::StatusOr<std::vector<std::string>> list = ListEvidence(*store_, ledger);
    EXPECT_TRUE(list.ok()) << list.status();
    return list.ok() ? *list : std::vector<std::string>{};
  }

  std::string FirstId(const std::string& ledger) {
    absl::StatusOr<std::string> id = FirstEvidenceId(*store_, ledger);
    EXPECT_TRUE(id.ok()) << id.status();
    return id.ok() ? *id : "error";
  }

  std::string dir_;
  std::unique_ptr<KvStore> store_;
  std::unique_ptr<EvidenceStore> evidence_;
};

TEST_P(EvidenceStoreTest, ALedgerWithoutEvidenceListsNone) {
  EXPECT_THAT(List(kLedger), IsEmpty());
  EXPECT_EQ(FirstId(kLedger), "");
}

// A KvStore that counts range reads (each host load of an uncached ledger
// asks FirstEvidenceId; at a million ledgers a range read cost ~40 µs).
class ScanCountingStore : public KvStore {
 public:
  explicit ScanCountingStore(const KvStore* inner) : inner_(inner) {}
  absl::StatusOr<std::string> Get(absl::string_view key) const override {
    return inner_->Get(key);
  }
  std::vector<absl::StatusOr<std::string>> MultiGet(
      absl::Span<const std::string> keys) const override {
    return inner_->MultiGet(keys);
  }
  absl::StatusOr<std::vector<std::pair<std::string, std::string>>> Scan(
      absl::string_view begin, absl::string_view end, size_t limit) const override {
    ++scans;
    return inner_->Scan(begin, end, limit);
  }
  absl::Status Write(const KvBatch&) override {
    return absl::UnimplementedError("read only");
  }
  mutable int scans = 0;

 private:
  const KvStore* inner_;
};

TEST_P(EvidenceStoreTest, TheFirstIdOfALedgerWithoutEvidenceNeedsNoRangeRead) {
  ASSERT_TRUE(Add(kOtherLedger, "evidence of the other ledger"));
  ScanCountingStore counting(store_.get());
  absl::StatusOr<std::string> none = FirstEvidenceId(counting, kLedger);
  ASSERT_TRUE(none.ok()) << none.status();
  EXPECT_EQ(*none, "");
  EXPECT_EQ(counting.scans, 0);
  absl::StatusOr<std::string> first = FirstEvidenceId(counting, kOtherLedger);
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(*first, EvidenceId("evidence of the other ledger"));
  EXPECT_EQ(counting.scans, 1);
}

TEST_P(EvidenceStoreTest, ListsInTheOrderReceivedAndDeduplicatesById) {
  EXPECT_TRUE(Add(kLedger, "{\"z\":1}"));
  EXPECT_TRUE(Add(kLedger, "{\"a\":1}"));
  EXPECT_FALSE(Add(kLedger, "{\"z\":1}"));
  EXPECT_TRUE(Add(kLedger, "{\"m\":1}"));
  EXPECT_FALSE(Add(kLedger, "{\"a\":1}"));
  EXPECT_THAT(List(kLedger), ElementsAre("{\"z\":1}", "{\"a\":1}", "{\"m\":1}"));
  EXPECT_EQ(FirstId(kLedger), EvidenceId("{\"z\":1}"));
}

TEST_P(EvidenceStoreTest, KeepsTheOrderPastAByteOfSequenceNumbers) {
  std::vector<std::string> added;
  for (int i = 299; i >= 0; --i) {
    added.push_back(absl::StrCat("{\"n\":", i, "}"));
    ASSERT_TRUE(Add(kLedger, added.back()));
  }
  EXPECT_EQ(List(kLedger), added);
}

TEST_P(EvidenceStoreTest, EachLedgerHasItsOwnList) {
  EXPECT_TRUE(Add(kLedger, "one"));
  EXPECT_TRUE(Add(kOtherLedger, "two"));
  EXPECT_TRUE(Add(kOtherLedger, "one"));  // Deduplicated per ledger only.
  EXPECT_THAT(List(kLedger), ElementsAre("one"));
  EXPECT_THAT(List(kOtherLedger), ElementsAre("two", "one"));
  EXPECT_EQ(FirstId(kOtherLedger), EvidenceId("two"));
}

TEST_P(EvidenceStoreTest, TheDeletesOfAForgetLeaveIt) {
  EXPECT_TRUE(Add(kLedger, "kept"));
  KvBatch forget;
  forget.delete_ranges = LedgerKeyRanges(kLedger);
  ASSERT_TRUE(store_->Write(forget).ok());
  EXPECT_THAT(List(kLedger), ElementsAre("kept"));
  EXPECT_FALSE(Add(kLedger, "kept"));
}

TEST_P(EvidenceStoreTest, SurvivesAReopenAndContinuesTheOrder) {
  if (GetParam() != "rocksdb") GTEST_SKIP() << "a memory store does not outlive itself";
  EXPECT_TRUE(Add(kLedger, "first"));
  EXPECT_TRUE(Add(kLedger, "second"));
  Open();
  EXPECT_FALSE(Add(kLedger, "first"));
  EXPECT_TRUE(Add(kLedger, "third"));
  EXPECT_THAT(List(kLedger), ElementsAre("first", "second", "third"));
  EXPECT_EQ(FirstId(kLedger), EvidenceId("first"));
}

TEST_P(EvidenceStoreTest, ConcurrentAddsKeepEachObjectOnce) {
  constexpr int kThreads = 8;
  constexpr int kShared = 20;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([this, t] {
      for (int i = 0; i < kShared; ++i) {
        ASSERT_TRUE(evidence_->Add(kLedger, absl::StrCat("shared ", i)).ok());
        ASSERT_TRUE(evidence_->Add(kLedger, absl::StrCat("own ", t, " ", i)).ok());
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  std::vector<std::string> list = List(kLedger);
  EXPECT_EQ(list.size(), static_cast<size_t>(kShared + kThreads * kShared));
  std::sort(list.begin(), list.end());
  EXPECT_EQ(std::unique(list.begin(), list.end()), list.end());
}

INSTANTIATE_TEST_SUITE_P(Stores, EvidenceStoreTest, ::testing::Values("memory", "rocksdb"),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           return info.param;
                         });

}  // namespace
}  // namespace microledger
