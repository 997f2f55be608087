#include "ledger_store/ledger_cache.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "absl/hash/hash.h"

namespace microledger {

LedgerCache::LedgerCache(size_t max_cached_ledgers)
    : shard_capacity_(std::max<size_t>(1, max_cached_ledgers / kShards)) {}

LedgerCache::Shard& LedgerCache::ShardOf(absl::string_view ledger_id) const {
  return shards_[absl::Hash<absl::string_view>()(ledger_id) % kShards];
}

std::shared_ptr<LedgerEntry> LedgerCache::GetOrCreate(absl::string_view ledger_id) {
  Shard& shard = ShardOf(ledger_id);
  absl::MutexLock lock(&shard.mu);
  CachedEntry& cached = shard.entries[ledger_id];
  cached.last_used = ++shard.clock;
  if (cached.entry == nullptr) cached.entry = std::make_shared<LedgerEntry>();
  std::shared_ptr<LedgerEntry> entry = cached.entry;
  EvictIdleLocked(shard);
  return entry;
}

std::shared_ptr<LedgerEntry> LedgerCache::Find(absl::string_view ledger_id) const {
  Shard& shard = ShardOf(ledger_id);
  absl::MutexLock lock(&shard.mu);
  auto it = shard.entries.find(ledger_id);
  if (it == shard.entries.end()) return nullptr;
  it->second.last_used = ++shard.clock;
  return it->second.entry;
}

size_t LedgerCache::size() const {
  size_t total = 0;
  for (Shard& shard : shards_) {
    absl::MutexLock lock(&shard.mu);
    total += shard.entries.size();
  }
  return total;
}

void LedgerCache::EvictIdleLocked(Shard& shard) {
  if (shard.entries.size() <= shard_capacity_) return;
  // Evict down to 7/8 of the capacity at once, so the scan is amortised.
  std::vector<std::pair<uint64_t, std::string>> idle;
  for (const auto& [ledger_id, cached] : shard.entries) {
    if (cached.entry.use_count() == 1) idle.emplace_back(cached.last_used, ledger_id);
  }
  const size_t target = shard_capacity_ - shard_capacity_ / 8;
  const size_t excess = shard.entries.size() - std::min(target, shard.entries.size());
  const size_t count = std::min(excess, idle.size());
  std::nth_element(idle.begin(), idle.begin() + count, idle.end());
  for (size_t i = 0; i < count; ++i) shard.entries.erase(idle[i].second);
}

}  // namespace microledger
