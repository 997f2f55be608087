// Internal to owner_agent/: how the verified head after an ordinary block
// reaches the disk. SaveHead appends the record to the registry's head log
// (one write, no fsync) before the append is reported and marks the ledger
// dirty; Flush, called by the agent's background thread every
// `state_flush_interval` and at shutdown, rotates the head log, saves every
// dirty record with fsync, drops the old logs and fsyncs the request journal.
// With a zero interval SaveHead saves with fsync at once (SaveNow).
//
// Thread-safe. SaveHead needs the ledger's mutex; Flush takes each dirty
// ledger's mutex in turn (so an older copy of a record never overwrites a
// newer one) and must be called without any; it may be called from several
// threads (the background thread, the end of an AppendEvents stream).
#ifndef MICROLEDGER_OWNER_AGENT_RECORD_FLUSHER_H_
#define MICROLEDGER_OWNER_AGENT_RECORD_FLUSHER_H_

#include <chrono>
#include <functional>
#include <memory>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "owner_agent/ledger_registry.h"
#include "owner_agent/ledger_state.h"
#include "owner_agent/request_journal.h"

namespace microledger {

class RecordFlusher {
 public:
  RecordFlusher(LedgerRegistry& registry, RequestJournal& journal,
                std::chrono::milliseconds flush_interval,
                std::function<void(absl::string_view)> warn)
      : registry_(registry),
        journal_(journal),
        flush_interval_(flush_interval),
        warn_(std::move(warn)) {}

  // The ledger's verified head changed by an ordinary block.
  absl::Status SaveHead(const std::shared_ptr<LedgerState>& ledger)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(ledger->mu) ABSL_LOCKS_EXCLUDED(dirty_mu_);
  // Saves the ledger's record with fsync now (genesis, terminal, sync, move
  // and equivocation states). A failed save leaves the ledger dirty: the
  // next Flush tries again, and until a save succeeds the ledger is held, so
  // it is never dropped from memory while its newer state exists nowhere
  // else (resident_ledgers.h).
  absl::Status SaveNow(LedgerState& ledger) ABSL_EXCLUSIVE_LOCKS_REQUIRED(ledger.mu)
      ABSL_LOCKS_EXCLUDED(dirty_mu_);
  // The same for a head that only needs to reach the disk at the next Flush
  // (HeadSave::kAtFlush): marked dirty, nothing written now.
  void MarkDirty(const std::shared_ptr<LedgerState>& ledger) ABSL_LOCKS_EXCLUDED(dirty_mu_);

  // Failures are warned about; records that could not be saved stay dirty
  // and are tried again at the next flush. Flushes run one at a time.
  void Flush() ABSL_LOCKS_EXCLUDED(flush_mu_, dirty_mu_);

 private:
  LedgerRegistry& registry_;
  RequestJournal& journal_;
  const std::chrono::milliseconds flush_interval_;
  const std::function<void(absl::string_view)> warn_;
  // Held by a Flush: a second one must not drop head logs whose ledgers the
  // first has not saved yet.
  absl::Mutex flush_mu_ ABSL_ACQUIRED_BEFORE(dirty_mu_);
  // Ledgers whose verified head is newer than their saved record.
  absl::Mutex dirty_mu_;
  absl::flat_hash_map<LedgerState*, std::shared_ptr<LedgerState>> dirty_
      ABSL_GUARDED_BY(dirty_mu_);
};

}  // namespace microledger

#endif  // MICROLEDGER_OWNER_AGENT_RECORD_FLUSHER_H_
