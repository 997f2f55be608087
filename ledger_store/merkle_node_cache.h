// A bounded in-memory cache of stored Merkle nodes (32-byte perfect-subtree
// hashes, see common/merkle.h), shared by all ledgers of a host, so that the
// proofs of busy ledgers read few or no nodes from storage.
//
// A stored node never changes while its ledger exists, so cached nodes never
// go stale; the one exception is forgetting a ledger, after which the caller
// calls EraseLedger and must not insert nodes it read before the forget.
//
// The nodes of one ledger live in one of 16 shards, so a proof's lookups take
// one lock (and one ledger uses at most 1/16 of the capacity). Eviction is
// generational, an approximation of LRU: a shard keeps a recent and an older
// generation of at most capacity / 32 nodes each; a hit in the older one moves
// the node to the recent one, and when the recent one is full it becomes the
// older one, dropping the previous older one.
//
// Thread-safe.
#ifndef MICROLEDGER_LEDGER_STORE_MERKLE_NODE_CACHE_H_
#define MICROLEDGER_LEDGER_STORE_MERKLE_NODE_CACHE_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/types/span.h"
#include "common/merkle.h"

namespace microledger {

class MerkleNodeCache {
 public:
  // Holds at most `capacity` nodes; below 32 (two generations of one node in
  // each shard) caches nothing.
  explicit MerkleNodeCache(size_t capacity);

  // Adds the cached nodes among `ids` of the ledger to `nodes` and returns the
  // other ids, in their order.
  std::vector<MerkleNodeId> Lookup(absl::string_view ledger_key,
                                   absl::Span<const MerkleNodeId> ids,
                                   MerkleNodeSet& nodes);
  // Caches stored nodes of the ledger.
  void Insert(absl::string_view ledger_key,
              absl::Span<const std::pair<MerkleNodeId, MerkleHash>> nodes);
  // Drops every cached node of the ledger.
  void EraseLedger(absl::string_view ledger_key);

 private:
  using LedgerNodes = absl::flat_hash_map<std::pair<int, uint64_t>, MerkleHash>;
  // Ledger key -> its nodes.
  using Generation = absl::flat_hash_map<std::string, LedgerNodes>;
  struct Shard {
    absl::Mutex mu;
    Generation recent ABSL_GUARDED_BY(mu);
    Generation older ABSL_GUARDED_BY(mu);
    size_t recent_count ABSL_GUARDED_BY(mu) = 0;
  };
  static constexpr size_t kShards = 16;

  Shard& ShardOf(absl::string_view ledger_key);
  // Adds a node to the recent generation, rotating the generations when full.
  void AddRecentLocked(Shard& shard, absl::string_view ledger_key,
                       const std::pair<int, uint64_t>& id, const MerkleHash& hash)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(shard.mu);

  // Nodes per generation per shard; 0 when caching is off.
  const size_t generation_capacity_;
  std::array<Shard, kShards> shards_;
};

}  // namespace microledger

#endif  // MICROLEDGER_LEDGER_STORE_MERKLE_NODE_CACHE_H_
