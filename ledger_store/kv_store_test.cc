#include "ledger_store/kv_store.h"

#include <chrono>
#include <cstdlib>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace microledger {
namespace {

// Runs each test on the memory store and on a fresh RocksDB store.
class KvStoreTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (GetParam() == "memory") {
      store_ = NewMemoryKvStore();
      return;
    }
    const char* tmp = std::getenv("TEST_TMPDIR");
    std::string dir = absl::StrCat(tmp ? tmp : "/tmp", "/kv_store_test_XXXXXX");
    ASSERT_NE(mkdtemp(dir.data()), nullptr);
    absl::StatusOr<std::unique_ptr<KvStore>> store = OpenRocksDbKvStore(dir, false);
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = *std::move(store);
  }

  std::unique_ptr<KvStore> store_;
};

TEST_P(KvStoreTest, MultiGetReturnsValuesInOrderWithNotFoundForAbsentKeys) {
  KvBatch batch;
  batch.puts = {{"a", "1"}, {"b", std::string(100, 'x')}, {"c", ""}};
  ASSERT_TRUE(store_->Write(batch).ok());
  const std::vector<std::string> keys = {"c", "missing", "a", "b", "a"};
  std::vector<absl::StatusOr<std::string>> values = store_->MultiGet(keys);
  ASSERT_EQ(values.size(), keys.size());
  EXPECT_EQ(values[0].value(), "");
  EXPECT_EQ(values[1].status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(values[2].value(), "1");
  EXPECT_EQ(values[3].value(), std::string(100, 'x'));
  EXPECT_EQ(values[4].value(), "1");
  EXPECT_TRUE(store_->MultiGet({}).empty());
}

TEST_P(KvStoreTest, MultiGetSeesDeletedRangesAsAbsent) {
  KvBatch batch;
  batch.puts = {{"a1", "1"}, {"a2", "2"}, {"b1", "3"}};
  ASSERT_TRUE(store_->Write(batch).ok());
  KvBatch deletion;
  deletion.delete_ranges = {{"a", "b"}};
  ASSERT_TRUE(store_->Write(deletion).ok());
  const std::vector<std::string> keys = {"a1", "a2", "b1"};
  std::vector<absl::StatusOr<std::string>> values = store_->MultiGet(keys);
  ASSERT_EQ(values.size(), 3u);
  EXPECT_EQ(values[0].status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(values[1].status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(values[2].value(), "3");
}

TEST_P(KvStoreTest, ScanReturnsKeysInRangeInOrderUpToTheLimit) {
  KvBatch batch;
  batch.puts = {{"a", "0"}, {"b1", "1"}, {"b2", "2"}, {"b3", ""}, {"c", "4"}};
  ASSERT_TRUE(store_->Write(batch).ok());
  using Entries = std::vector<std::pair<std::string, std::string>>;
  absl::StatusOr<Entries> all = store_->Scan("b", "c", 10);
  ASSERT_TRUE(all.ok()) << all.status();
  EXPECT_EQ(*all, (Entries{{"b1", "1"}, {"b2", "2"}, {"b3", ""}}));
  absl::StatusOr<Entries> limited = store_->Scan("b2", "z", 2);
  ASSERT_TRUE(limited.ok()) << limited.status();
  EXPECT_EQ(*limited, (Entries{{"b2", "2"}, {"b3", ""}}));
  absl::StatusOr<Entries> none = store_->Scan("d", "z", 10);
  ASSERT_TRUE(none.ok()) << none.status();
  EXPECT_TRUE(none->empty());
  KvBatch deletion;
  deletion.delete_ranges = {{"b2", "b3"}};
  ASSERT_TRUE(store_->Write(deletion).ok());
  absl::StatusOr<Entries> after = store_->Scan("b", "c", 10);
  ASSERT_TRUE(after.ok()) << after.status();
  EXPECT_EQ(*after, (Entries{{"b1", "1"}, {"b3", ""}}));
}

INSTANTIATE_TEST_SUITE_P(Stores, KvStoreTest, ::testing::Values("memory", "rocksdb"));

// With a cache far smaller than the data, reads come from flushed files
// through their (partitioned) index and filter blocks: every key is found
// with its value, absent keys are not, and a scan sees its range in order.
TEST(RocksDbKvStoreTest, ReadsFromFlushedFilesWithASmallCache) {
  const char* tmp = std::getenv("TEST_TMPDIR");
  std::string dir = absl::StrCat(tmp ? tmp : "/tmp", "/kv_store_flushed_XXXXXX");
  ASSERT_NE(mkdtemp(dir.data()), nullptr);
  absl::StatusOr<std::unique_ptr<KvStore>> store =
      OpenRocksDbKvStore(dir, /*sync=*/false, /*cache_mb=*/8);
  ASSERT_TRUE(store.ok()) << store.status();
  constexpr int kKeys = 60000;  // ~15 MiB of values: several memtable flushes.
  auto key_of = [](int i) { return absl::StrCat("k", 1000000 + i); };
  auto value_of = [](int i) { return absl::StrCat(i, ":", std::string(240, 'v')); };
  for (int first = 0; first < kKeys; first += 1000) {
    KvBatch batch;
    for (int i = first; i < first + 1000; ++i) batch.puts.emplace_back(key_of(i), value_of(i));
    ASSERT_TRUE((*store)->Write(batch).ok());
  }
  // Flushes run in the background: wait (at most 10 s) for files on disk.
  for (int i = 0; i < 200; ++i) {
    if ((*store)->IntProperty("rocksdb.total-sst-files-size").value_or(0) > 0) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_GT((*store)->IntProperty("rocksdb.total-sst-files-size").value_or(0), 0u);
  for (int i = 0; i < kKeys; i += 37) {
    absl::StatusOr<std::string> value = (*store)->Get(key_of(i));
    ASSERT_TRUE(value.ok()) << key_of(i) << ": " << value.status();
    EXPECT_EQ(*value, value_of(i));
    EXPECT_TRUE(absl::IsNotFound((*store)->Get(key_of(i) + "x").status()));
  }
  absl::StatusOr<std::vector<std::pair<std::string, std::string>>> range =
      (*store)->Scan(key_of(12345), key_of(12400), 100);
  ASSERT_TRUE(range.ok()) << range.status();
  ASSERT_EQ(range->size(), 55u);
  for (size_t i = 0; i < range->size(); ++i) {
    EXPECT_EQ((*range)[i].first, key_of(12345 + static_cast<int>(i)));
    EXPECT_EQ((*range)[i].second, value_of(12345 + static_cast<int>(i)));
  }
}

}  // namespace
}  // namespace microledger
