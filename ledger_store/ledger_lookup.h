// How the read paths find a ledger (ledger_store: shared by the host and the mirror): the raw
// key inside a ledger id, the committed view a read is answered from, and the
// NotFound errors for unknown and forgotten ledgers (their text is part of
// the API: proto/microledger/v1/host.proto).
//
// Thread safety: thread-safe (pure functions and reads through thread-safe
// KvStore and LedgerCache).
#ifndef MICROLEDGER_LEDGER_STORE_LEDGER_LOOKUP_H_
#define MICROLEDGER_LEDGER_STORE_LEDGER_LOOKUP_H_

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "ledger_store/kv_store.h"
#include "ledger_store/ledger_cache.h"
#include "ledger_store/ledger_entry.h"

namespace microledger {

// The raw 32-byte host public key inside a ledger id (InvalidArgument if none).
absl::StatusOr<std::string> LedgerKeyFromId(absl::string_view ledger_id);

// NotFound: "ledger: <id> is unknown to this host".
absl::Status UnknownLedger(absl::string_view ledger_id);
// NotFound: "ledger: <id> was forgotten (its data is deleted and its id retired)".
absl::Status ForgottenLedger(absl::string_view ledger_id);

// Whether the ledger has a tombstone (was forgotten).
absl::StatusOr<bool> HasTombstone(const KvStore& store, absl::string_view ledger_key);
// NotFound for a ledger without a head record: ForgottenLedger if it has a
// tombstone, else UnknownLedger.
absl::Status MissingLedger(const KvStore& store, absl::string_view ledger_key,
                           absl::string_view ledger_id);

// What a read sees of a ledger: its committed head, from the cache entry when
// that is loaded (no I/O), else from the head record; and the entry (null
// when not cached) with its forget count and latest served checkpoint (maybe
// null or older than the head) at that time.
struct CommittedView {
  std::string ledger_key;
  uint64_t head = 0;
  std::shared_ptr<LedgerEntry> entry;
  uint64_t forget_count = 0;
  std::shared_ptr<const ServedCheckpoint> latest;
};
// NotFound if the ledger is unknown or forgotten.
absl::StatusOr<CommittedView> ViewCommitted(const KvStore& store, const LedgerCache& cache,
                                            absl::string_view ledger_id);

}  // namespace microledger

#endif  // MICROLEDGER_LEDGER_STORE_LEDGER_LOOKUP_H_
