#include "owner_agent/resident_ledgers.h"

namespace microledger {

std::shared_ptr<LedgerState> ResidentLedgers::Find(const std::string& ledger_id) {
  absl::MutexLock lock(&mu_);
  auto it = entries_.find(ledger_id);
  if (it == entries_.end()) return nullptr;
  recency_.splice(recency_.begin(), recency_, it->second.recency);
  return it->second.ledger;
}

bool ResidentLedgers::Add(const std::string& ledger_id, std::shared_ptr<LedgerState> ledger) {
  absl::MutexLock lock(&mu_);
  if (entries_.contains(ledger_id)) return false;
  recency_.push_front(ledger_id);
  entries_.emplace(ledger_id, Entry{std::move(ledger), recency_.begin()});
  DropIdleLocked();
  return true;
}

void ResidentLedgers::DropIdleLocked() {
  for (size_t checked = 0; entries_.size() > capacity_ && checked < kMaxChecksPerAdd;
       ++checked) {
    auto last = std::prev(recency_.end());
    auto entry = entries_.find(*last);
    if (entry->second.ledger.use_count() != 1) {
      // Busy: counted as used now, so that the next Add looks at others.
      recency_.splice(recency_.begin(), recency_, last);
      continue;
    }
    entries_.erase(entry);
    recency_.erase(last);
  }
}

void ResidentLedgers::Remove(const std::string& ledger_id) {
  absl::MutexLock lock(&mu_);
  auto it = entries_.find(ledger_id);
  if (it == entries_.end()) return;
  recency_.erase(it->second.recency);
  entries_.erase(it);
}

std::vector<std::shared_ptr<LedgerState>> ResidentLedgers::All() const {
  absl::MutexLock lock(&mu_);
  std::vector<std::shared_ptr<LedgerState>> all;
  all.reserve(entries_.size());
  for (const auto& [id, entry] : entries_) all.push_back(entry.ledger);
  return all;
}

size_t ResidentLedgers::size() const {
  absl::MutexLock lock(&mu_);
  return entries_.size();
}

}  // namespace microledger
