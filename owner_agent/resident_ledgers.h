// Internal to owner_agent/: the ledgers whose state the agent holds in
// memory. The registry on disk is the whole list; a ledger is made resident
// on its first use (OwnerAgent::FindLedger loads its record) and stays while
// anything uses it. Once more than `capacity` ledgers are resident, the least
// recently used *idle* ones are dropped when another is added, so the agent's
// memory is bounded by the capacity plus the ledgers busy at that moment,
// not by how many ledgers it holds.
//
// Idle means that nothing but this set holds the LedgerState: no call is
// using it, no append is in flight, and its record is not dirty (the
// RecordFlusher holds every dirty ledger until its record is saved), so a
// dropped ledger's saved record is its whole verified state. Since every
// holder got its pointer from this set (under its mutex) or from another
// holder, a use count of one seen under the mutex stays one until the entry
// is dropped.
//
// Thread-safe.
#ifndef MICROLEDGER_OWNER_AGENT_RESIDENT_LEDGERS_H_
#define MICROLEDGER_OWNER_AGENT_RESIDENT_LEDGERS_H_

#include <cstddef>
#include <iterator>
#include <list>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "owner_agent/ledger_state.h"

namespace microledger {

class ResidentLedgers {
 public:
  // At least one ledger is kept.
  explicit ResidentLedgers(size_t capacity) : capacity_(capacity < 1 ? 1 : capacity) {}

  ResidentLedgers(const ResidentLedgers&) = delete;
  ResidentLedgers& operator=(const ResidentLedgers&) = delete;

  // The resident state of `ledger_id` (now the most recently used), or null.
  std::shared_ptr<LedgerState> Find(const std::string& ledger_id) ABSL_LOCKS_EXCLUDED(mu_);
  // Makes `ledger` resident under `ledger_id`; false (nothing changes) when
  // another state of that id is resident. Then drops idle ledgers, least
  // recently used first, until at most `capacity` are resident or
  // `kMaxChecksPerAdd` of them were looked at; a busy one looked at counts
  // as just used (so ledgers held for long, e.g. a record that failed to
  // save, do not stop later Adds from reaching idle ones).
  bool Add(const std::string& ledger_id, std::shared_ptr<LedgerState> ledger)
      ABSL_LOCKS_EXCLUDED(mu_);
  // Forgets the state of `ledger_id` (nothing when none is resident).
  void Remove(const std::string& ledger_id) ABSL_LOCKS_EXCLUDED(mu_);
  // Every resident state.
  std::vector<std::shared_ptr<LedgerState>> All() const ABSL_LOCKS_EXCLUDED(mu_);
  size_t size() const ABSL_LOCKS_EXCLUDED(mu_);

  // How many resident ledgers one Add looks at, at most, for idle ones to
  // drop: busy ones are skipped, and the set may stay over its capacity
  // while they are busy.
  static constexpr size_t kMaxChecksPerAdd = 16;

 private:
  void DropIdleLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  struct Entry {
    std::shared_ptr<LedgerState> ledger;
    std::list<std::string>::iterator recency;
  };
  const size_t capacity_;
  mutable absl::Mutex mu_;
  // Ledger ids, the most recently used first.
  std::list<std::string> recency_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, Entry> entries_ ABSL_GUARDED_BY(mu_);
};

}  // namespace microledger

#endif  // MICROLEDGER_OWNER_AGENT_RESIDENT_LEDGERS_H_
