// The cache of LedgerEntry objects (ledger_store: shared by the host and the mirror), keyed by
// ledger id: sharded maps, each evicting its least recently used idle entries
// beyond its share of the capacity. An entry is evicted only while nobody else
// holds it (no queued append, open watch or running call), so one ledger
// never has two entries and the pending and committed heads of a busy ledger
// are never lost.
//
// Thread safety: all methods are thread-safe; a shard's mutex is held only to
// find, insert or evict entries, never while an entry's own mutexes are taken.
#ifndef MICROLEDGER_LEDGER_STORE_LEDGER_CACHE_H_
#define MICROLEDGER_LEDGER_STORE_LEDGER_CACHE_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "ledger_store/ledger_entry.h"

namespace microledger {

class LedgerCache {
 public:
  // Keeps about `max_cached_ledgers` entries (at least one per shard).
  explicit LedgerCache(size_t max_cached_ledgers);

  LedgerCache(const LedgerCache&) = delete;
  LedgerCache& operator=(const LedgerCache&) = delete;

  // The ledger's entry, created (not loaded) if absent; refreshes its LRU
  // position and may evict idle entries of its shard.
  std::shared_ptr<LedgerEntry> GetOrCreate(absl::string_view ledger_id);
  // The ledger's entry if there is one (else null), never creating one;
  // refreshes its LRU position.
  std::shared_ptr<LedgerEntry> Find(absl::string_view ledger_id) const;
  // The number of cached entries (all shards).
  size_t size() const;

 private:
  struct CachedEntry {
    std::shared_ptr<LedgerEntry> entry;
    uint64_t last_used = 0;
  };
  struct Shard {
    mutable absl::Mutex mu;
    absl::flat_hash_map<std::string, CachedEntry> entries ABSL_GUARDED_BY(mu);
    uint64_t clock ABSL_GUARDED_BY(mu) = 0;
  };
  static constexpr int kShards = 64;

  Shard& ShardOf(absl::string_view ledger_id) const;
  void EvictIdleLocked(Shard& shard) ABSL_EXCLUSIVE_LOCKS_REQUIRED(shard.mu);

  const size_t shard_capacity_;
  // Mutable: lookups by Find refresh the LRU order.
  mutable std::array<Shard, kShards> shards_;
};

}  // namespace microledger

#endif  // MICROLEDGER_LEDGER_STORE_LEDGER_CACHE_H_
