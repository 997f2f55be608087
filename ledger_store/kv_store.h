// The host's storage interface: an ordered key-value store with atomic batches.
// Two implementations: RocksDB (durable; one database per process, guarded by
// RocksDB's LOCK file) and memory (tests, --storage=memory).
//
// Contract: Write applies a whole batch or nothing. With a RocksDB store opened
// with sync=true, a batch is on disk (WAL fsync'ed) when Write returns OK;
// concurrent Write calls from different threads share one WAL sync (RocksDB
// group commit). All methods are thread-safe.
#ifndef MICROLEDGER_LEDGER_STORE_KV_STORE_H_
#define MICROLEDGER_LEDGER_STORE_KV_STORE_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"

namespace microledger {

struct KvBatch {
  std::vector<std::pair<std::string, std::string>> puts;
  // Half-open key ranges [first, second) to delete, applied before the puts.
  std::vector<std::pair<std::string, std::string>> delete_ranges;
};

class KvStore {
 public:
  virtual ~KvStore() = default;
  // The value of `key`; NotFound when absent.
  virtual absl::StatusOr<std::string> Get(absl::string_view key) const = 0;
  // The values of `keys`, in order, each as Get returns it, looked up in one
  // batch (fewer lock and snapshot acquisitions than one Get per key).
  virtual std::vector<absl::StatusOr<std::string>> MultiGet(
      absl::Span<const std::string> keys) const = 0;
  // Up to `limit` entries with keys in [begin, end), in key order, read from
  // one consistent view (one iterator, not one lookup per key).
  virtual absl::StatusOr<std::vector<std::pair<std::string, std::string>>> Scan(
      absl::string_view begin, absl::string_view end, size_t limit) const = 0;
  // Applies `batch` atomically.
  virtual absl::Status Write(const KvBatch& batch) = 0;
  // A numeric property of the storage engine for metrics (RocksDB's
  // GetIntProperty, e.g. "rocksdb.total-sst-files-size"); nullopt when the
  // store has no such property.
  virtual std::optional<uint64_t> IntProperty(const std::string&) const {
    return std::nullopt;
  }
};

std::unique_ptr<KvStore> NewMemoryKvStore();

// Opens (creating if absent) the RocksDB database in `dir`. A database that
// another process holds open fails with FailedPrecondition saying so.
// `cache_mb` bounds RocksDB's memory: the LRU block cache gets it all, and the
// memtables (write buffers) are charged to the same budget.
absl::StatusOr<std::unique_ptr<KvStore>> OpenRocksDbKvStore(const std::string& dir,
                                                            bool sync,
                                                            size_t cache_mb = 64);

// The store a server's --storage and --data_dir flags name: "memory" (lost at
// exit; `data_dir` unused) or "rocksdb" (OpenRocksDbKvStore in `data_dir`,
// which is then required). InvalidArgument for anything else.
absl::StatusOr<std::unique_ptr<KvStore>> OpenKvStore(absl::string_view storage,
                                                     const std::string& data_dir, bool sync,
                                                     size_t cache_mb);

}  // namespace microledger

#endif  // MICROLEDGER_LEDGER_STORE_KV_STORE_H_
