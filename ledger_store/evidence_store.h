// The SPEC §11 equivocation evidence a server keeps per ledger (ledger_store:
// shared by the host and the mirror), in the evidence table of the KvStore
// (storage_layout.h): durable, never deleted (forgetting a ledger leaves it),
// listed in the order received, deduplicated by evidence id. The store keeps
// bytes; it does not judge them: callers validate (common/evidence.h) before
// Add, and decide what a ledger with evidence means to them (a host freezes
// it, a mirror stops following it).
//
// Thread safety: thread-safe. EvidenceStore serialises its own Adds (one
// mutex, held across the read and the write of an Add; evidence is rare), so
// one EvidenceStore per KvStore must be the only writer of the evidence
// table. The read functions need no EvidenceStore (a reader holding only a
// const KvStore, such as LedgerReader, uses them) and see every Add whose
// Write returned.
#ifndef MICROLEDGER_LEDGER_STORE_EVIDENCE_STORE_H_
#define MICROLEDGER_LEDGER_STORE_EVIDENCE_STORE_H_

#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "ledger_store/kv_store.h"

namespace microledger {

class EvidenceStore {
 public:
  // `store` must outlive the EvidenceStore.
  explicit EvidenceStore(KvStore* store) : store_(store) {}

  EvidenceStore(const EvidenceStore&) = delete;
  EvidenceStore& operator=(const EvidenceStore&) = delete;

  // Keeps `evidence` (the JCS bytes of a valid evidence object, validated by
  // the caller) for the ledger whose 32-byte raw key is `ledger_key`, after
  // the ones kept before, in one atomic write. True if it was stored; false
  // if an object with its evidence id is kept already (nothing is written).
  absl::StatusOr<bool> Add(absl::string_view ledger_key, absl::string_view evidence);

 private:
  KvStore* const store_;
  absl::Mutex mu_;
};

// The evidence objects kept for a ledger, first received first (possibly
// none).
absl::StatusOr<std::vector<std::string>> ListEvidence(const KvStore& store,
                                                      absl::string_view ledger_key);
// The evidence id of the first evidence object kept for a ledger; empty if
// there is none (known from the count, without a range read).
absl::StatusOr<std::string> FirstEvidenceId(const KvStore& store,
                                            absl::string_view ledger_key);

}  // namespace microledger

#endif  // MICROLEDGER_LEDGER_STORE_EVIDENCE_STORE_H_
