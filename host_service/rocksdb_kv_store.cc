#include <memory>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "host_service/kv_store.h"
#include "rocksdb/db.h"
#include "rocksdb/options.h"
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

  absl::Status Write(const KvBatch& batch) override {
    rocksdb::WriteBatch write_batch;
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

 private:
  std::unique_ptr<rocksdb::DB> db_;
  rocksdb::WriteOptions write_options_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<KvStore>> OpenRocksDbKvStore(const std::string& dir,
                                                            bool sync) {
  rocksdb::Options options;
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

}  // namespace microledger
