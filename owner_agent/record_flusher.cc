#include "owner_agent/record_flusher.h"

#include "absl/strings/str_cat.h"

namespace microledger {

absl::Status RecordFlusher::SaveNow(LedgerState& ledger) {
  absl::Status saved = registry_.Save(ledger.record, /*sync=*/true);
  if (!saved.ok()) MarkDirty(ledger.shared_from_this());
  return saved;
}

absl::Status RecordFlusher::SaveHead(const std::shared_ptr<LedgerState>& ledger) {
  if (flush_interval_.count() <= 0) return SaveNow(*ledger);
  {
    // Marked before the log line is written: a line in a log that Flush
    // rotates away always belongs to a ledger its flush saves.
    absl::MutexLock lock(&dirty_mu_);
    dirty_.emplace(ledger.get(), ledger);
  }
  return registry_.AppendHead(ledger->record, /*sync=*/false);
}

void RecordFlusher::MarkDirty(const std::shared_ptr<LedgerState>& ledger) {
  absl::MutexLock lock(&dirty_mu_);
  dirty_.emplace(ledger.get(), ledger);
}

void RecordFlusher::Flush() {
  absl::MutexLock flushing(&flush_mu_);
  absl::StatusOr<uint64_t> rotation = registry_.RotateHeadLog();
  if (!rotation.ok()) {
    warn_(absl::StrCat("cannot rotate the head log: ", rotation.status().message()));
  }
  absl::flat_hash_map<LedgerState*, std::shared_ptr<LedgerState>> dirty;
  {
    absl::MutexLock lock(&dirty_mu_);
    dirty.swap(dirty_);
  }
  bool all_saved = rotation.ok();
  for (auto& [raw, ledger] : dirty) {
    absl::MutexLock lock(&ledger->mu);
    if (absl::Status s = registry_.Save(ledger->record, /*sync=*/true); !s.ok()) {
      warn_(absl::StrCat("cannot sync a ledger record: ", s.message()));
      all_saved = false;
      absl::MutexLock dirty_lock(&dirty_mu_);
      dirty_.emplace(raw, ledger);
    }
  }
  if (all_saved) {
    if (absl::Status s = registry_.DropHeadLogs(*rotation); !s.ok()) {
      warn_(absl::StrCat("cannot drop a head log: ", s.message()));
    }
  }
  if (absl::Status s = journal_.Sync(); !s.ok()) {
    warn_(absl::StrCat("cannot sync the request journal: ", s.message()));
  }
}

}  // namespace microledger
