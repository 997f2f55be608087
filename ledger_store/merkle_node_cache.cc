#include "ledger_store/merkle_node_cache.h"

#include "absl/hash/hash.h"

namespace microledger {

MerkleNodeCache::MerkleNodeCache(size_t capacity)
    : generation_capacity_(capacity / kShards / 2) {}

MerkleNodeCache::Shard& MerkleNodeCache::ShardOf(absl::string_view ledger_key) {
  return shards_[absl::Hash<absl::string_view>()(ledger_key) % kShards];
}

std::vector<MerkleNodeId> MerkleNodeCache::Lookup(absl::string_view ledger_key,
                                                  absl::Span<const MerkleNodeId> ids,
                                                  MerkleNodeSet& nodes) {
  std::vector<MerkleNodeId> missing;
  if (generation_capacity_ == 0) {
    missing.assign(ids.begin(), ids.end());
    return missing;
  }
  Shard& shard = ShardOf(ledger_key);
  absl::MutexLock lock(&shard.mu);
  auto recent = shard.recent.find(ledger_key);
  auto older = shard.older.find(ledger_key);
  for (const MerkleNodeId& id : ids) {
    const std::pair<int, uint64_t> key(id.level, id.index);
    if (recent != shard.recent.end()) {
      auto it = recent->second.find(key);
      if (it != recent->second.end()) {
        nodes.Add(id, it->second);
        continue;
      }
    }
    if (older != shard.older.end()) {
      auto it = older->second.find(key);
      if (it != older->second.end()) {
        const MerkleHash hash = it->second;
        nodes.Add(id, hash);
        older->second.erase(it);
        // The move may rotate the generations, invalidating both iterators.
        AddRecentLocked(shard, ledger_key, key, hash);
        recent = shard.recent.find(ledger_key);
        older = shard.older.find(ledger_key);
        continue;
      }
    }
    missing.push_back(id);
  }
  return missing;
}

void MerkleNodeCache::Insert(
    absl::string_view ledger_key,
    absl::Span<const std::pair<MerkleNodeId, MerkleHash>> nodes) {
  if (generation_capacity_ == 0) return;
  Shard& shard = ShardOf(ledger_key);
  absl::MutexLock lock(&shard.mu);
  for (const auto& [id, hash] : nodes) {
    AddRecentLocked(shard, ledger_key, {id.level, id.index}, hash);
  }
}

void MerkleNodeCache::EraseLedger(absl::string_view ledger_key) {
  Shard& shard = ShardOf(ledger_key);
  absl::MutexLock lock(&shard.mu);
  if (auto it = shard.recent.find(ledger_key); it != shard.recent.end()) {
    shard.recent_count -= it->second.size();
    shard.recent.erase(it);
  }
  if (auto it = shard.older.find(ledger_key); it != shard.older.end()) {
    shard.older.erase(it);
  }
}

void MerkleNodeCache::AddRecentLocked(Shard& shard, absl::string_view ledger_key,
                                      const std::pair<int, uint64_t>& id,
                                      const MerkleHash& hash) {
  auto ledger = shard.recent.find(ledger_key);
  if (ledger == shard.recent.end()) {
    ledger = shard.recent.emplace(std::string(ledger_key), LedgerNodes()).first;
  }
  if (!ledger->second.emplace(id, hash).second) return;
  if (++shard.recent_count < generation_capacity_) return;
  shard.older = std::move(shard.recent);
  shard.recent.clear();
  shard.recent_count = 0;
}

}  // namespace microledger
