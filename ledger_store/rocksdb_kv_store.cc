#include <algorithm>
#include <memory>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "ledger_store/kv_store.h"
#include "rocksdb/cache.h"
#include "rocksdb/db.h"
#include "rocksdb/filter_policy.h"
#include "rocksdb/options.h"
#include "rocksdb/table.h"
#include "rocksdb/write_buffer_manager.h"
#include "rocksdb/write_batch.h"

namespace microledger {
namespace {

absl::Status FromRocks(const rocksdb::Status& status, absl::string_view what) {
  if (status.ok()) return absl::OkStatus();
  return absl::InternalError(absl::StrCat("storage: ", what, ": ", status.ToString()));
}

class RocksDbKvStore : public KvStore {
 public:
  RocksDbKvStore(std::unique_ptr<rocksdb::DB> db, bool sync) : db_(std::move(db)) {
    write_options_.sync = sync;
  }

  absl::StatusOr<std::string> Get(absl::string_view key) const override {
    std::string value;
    rocksdb::Status status =
        db_->Get(rocksdb::ReadOptions(), rocksdb::Slice(key.data(), key.size()), &value);
    if (status.IsNotFound()) return absl::NotFoundError("key not found");
    if (!status.ok()) return FromRocks(status, "read");
    return value;
  }

  std::vector<absl::StatusOr<std::string>> MultiGet(
      absl::Span<const std::string> keys) const override {
    std::vector<rocksdb::Slice> slices(keys.begin(), keys.end());
    std::vector<rocksdb::PinnableSlice> found(keys.size());
    std::vector<rocksdb::Status> statuses(keys.size());
    db_->MultiGet(rocksdb::ReadOptions(), db_->DefaultColumnFamily(), keys.size(),
                  slices.data(), found.data(), statuses.data());
    std::vector<absl::StatusOr<std::string>> values;
    values.reserve(keys.size());
    for (size_t i = 0; i < keys.size(); ++i) {
      if (statuses[i].IsNotFound()) {
        values.push_back(absl::NotFoundError("key not found"));
      } else if (!statuses[i].ok()) {
        values.push_back(FromRocks(statuses[i], "read"));
      } else {
        values.push_back(found[i].ToString());
      }
    }
    return values;
  }

  absl::StatusOr<std::vector<std::pair<std::string, std::string>>> Scan(
      absl::string_view begin, absl::string_view end, size_t limit) const override {
    rocksdb::ReadOptions options;
    const rocksdb::Slice upper(end.data(), end.size());
    options.iterate_upper_bound = &upper;
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(options));
    std::vector<std::pair<std::string, std::string>> entries;
    for (it->Seek(rocksdb::Slice(begin.data(), begin.size()));
         it->Valid() && entries.size() < limit; it->Next()) {
      entries.emplace_back(it->key().ToString(), it->value().ToString());
    }
    if (!it->status().ok()) return FromRocks(it->status(), "scan");
    return entries;
  }

  absl::Status Write(const KvBatch& batch) override {
    size_t bytes = 64;
    for (const auto& [key, value] : batch.puts) bytes += key.size() + value.size() + 8;
    rocksdb::WriteBatch write_batch(bytes);
    for (const auto& [begin, end] : batch.delete_ranges) {
      rocksdb::Status s = write_batch.DeleteRange(begin, end);
      if (!s.ok()) return FromRocks(s, "delete range");
    }
    for (const auto& [key, value] : batch.puts) {
      rocksdb::Status s = write_batch.Put(key, value);
      if (!s.ok()) return FromRocks(s, "put");
    }
    // Concurrent writers are grouped by RocksDB into one WAL write + sync.
    return FromRocks(db_->Write(write_options_, &write_batch), "write");
  }

  std::optional<uint64_t> IntProperty(const std::string& name) const override {
    uint64_t value = 0;
    if (!db_->GetIntProperty(name, &value)) return std::nullopt;
    return value;
  }

 private:
  std::unique_ptr<rocksdb::DB> db_;
  rocksdb::WriteOptions write_options_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<KvStore>> OpenRocksDbKvStore(const std::string& dir,
                                                            bool sync, size_t cache_mb) {
  rocksdb::Options options;
  const size_t budget = std::max<size_t>(cache_mb, 8) << 20;
  std::shared_ptr<rocksdb::Cache> cache = rocksdb::NewLRUCache(budget);
  rocksdb::BlockBasedTableOptions table;
  table.block_cache = cache;
  // Point reads (proof nodes, checkpoints, heads) skip the files that do not
  // hold the key (a quarter less CPU per uncached proof once data is in SSTs).
  table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
  // Index and filter blocks grow with the data (tens of MiB at 10M blocks):
  // they live in the block cache, inside the budget, rather than beside it;
  // level-0 ones stay pinned so the newest data is still read without misses.
  table.cache_index_and_filter_blocks = true;
  table.pin_l0_filter_and_index_blocks_in_cache = true;
  // ...in 4 KiB partitions under a small top-level index (pinned, and kept
  // in the cache's high-priority part): a read that misses the cache loads
  // one partition, not a whole file's index. With many ledgers most heads are
  // uncached, and reading and decompressing whole index blocks was most of
  // the cost of an append to an uncached ledger (bench/million_ledgers.md).
  table.index_type = rocksdb::BlockBasedTableOptions::IndexType::kTwoLevelIndexSearch;
  table.partition_filters = true;
  table.metadata_block_size = 4096;
  table.pin_top_level_index_and_filter = true;
  table.cache_index_and_filter_blocks_with_high_priority = true;
  options.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  // Memtables count against the same budget (at most half of it each time).
  options.write_buffer_size = std::min<size_t>(budget / 4, 64 << 20);
  options.write_buffer_manager =
      std::make_shared<rocksdb::WriteBufferManager>(budget / 2, cache);
  options.create_if_missing = true;
  options.enable_pipelined_write = true;
  options.IncreaseParallelism(2);
  rocksdb::DB* raw = nullptr;
  rocksdb::Status status = rocksdb::DB::Open(options, dir, &raw);
  if (!status.ok()) {
    const std::string text = status.ToString();
    if (absl::StrContains(text, "LOCK") || absl::StrContains(text, "lock")) {
      return absl::FailedPreconditionError(absl::StrCat(
          "storage: the database in ", dir,
          " is locked by another process (is another ml-host running on this "
          "--data_dir?): ",
          text));
    }
    return absl::InternalError(
        absl::StrCat("storage: cannot open the database in ", dir, ": ", text));
  }
  return std::unique_ptr<KvStore>(
      std::make_unique<RocksDbKvStore>(std::unique_ptr<rocksdb::DB>(raw), sync));
}

absl::StatusOr<std::unique_ptr<KvStore>> OpenKvStore(absl::string_view storage,
                                                     const std::string& data_dir, bool sync,
                                                     size_t cache_mb) {
  if (storage == "memory") return NewMemoryKvStore();
  if (storage != "rocksdb") {
    return absl::InvalidArgumentError(
        absl::StrCat("--storage must be rocksdb or memory, not ", storage));
  }
  if (data_dir.empty()) {
    return absl::InvalidArgumentError("--data_dir is required with --storage=rocksdb");
  }
  return OpenRocksDbKvStore(data_dir, sync, std::max<size_t>(1, cache_mb));
}

}  // namespace microledger
