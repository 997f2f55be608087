// The in-memory state of one ledger (ledger_store: shared by the host and the mirror): the
// pending head that appends are validated against, the committed head that
// readers and subscribers see, and the subscribers waiting for a commit.
// Entries live in the LedgerCache, shared (std::shared_ptr) with the appends
// queued to the GroupCommitter and the open CommitWatches.
//
// Thread safety: the members are guarded as annotated. `mu` (the prepare
// mutex) is held across validate + sign of one append, never across an
// append's I/O (only a load from storage, a forget or an equivocation report,
// all rare, read or write under it), and is taken before `commit_mu`. `commit_mu` is held only briefly (to read or
// advance the committed head, register or take waiters), except by a forget,
// which holds it across its one delete batch. `epoch` is atomic.
#ifndef MICROLEDGER_LEDGER_STORE_LEDGER_ENTRY_H_
#define MICROLEDGER_LEDGER_STORE_LEDGER_ENTRY_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "common/chain_validator.h"
#include "common/ed25519.h"
#include "common/merkle.h"

namespace microledger {

// A stored checkpoint with its root hash, kept by an entry so that proofs of
// the latest tree read neither.
struct ServedCheckpoint {
  uint64_t tree_size = 0;
  std::string note;
  MerkleHash root{};
};

struct LedgerEntry {
  // The pending head: the state after every accepted append (committed or
  // queued).
  absl::Mutex mu;
  bool loaded ABSL_GUARDED_BY(mu) = false;
  // The epoch the pending state was loaded in; a failed commit bumps `epoch`,
  // which makes the next prepare reload from storage.
  uint64_t loaded_epoch ABSL_GUARDED_BY(mu) = 0;
  bool exists ABSL_GUARDED_BY(mu) = false;
  // The ledger was forgotten: a tombstone retires its id (never with exists).
  bool forgotten ABSL_GUARDED_BY(mu) = false;
  ChainState state ABSL_GUARDED_BY(mu);
  MerkleFrontier frontier ABSL_GUARDED_BY(mu);
  std::string nonce ABSL_GUARDED_BY(mu);
  std::optional<SigningKey> key ABSL_GUARDED_BY(mu);
  // The id of the first SPEC §11 evidence object kept for the ledger, empty
  // if none: the ledger is frozen (no append is prepared). Loaded with the
  // pending head, set by the report that stores the first evidence; never
  // cleared, as evidence is never deleted.
  std::string frozen_by ABSL_GUARDED_BY(mu);
  std::atomic<uint64_t> epoch{0};

  // The committed head.
  absl::Mutex commit_mu ABSL_ACQUIRED_AFTER(mu);
  // Whether committed_exists and committed_head are known (the entry was
  // loaded once); until then readers go to storage.
  bool committed_known ABSL_GUARDED_BY(commit_mu) = false;
  bool committed_exists ABSL_GUARDED_BY(commit_mu) = false;
  bool committed_forgotten ABSL_GUARDED_BY(commit_mu) = false;
  uint64_t committed_head ABSL_GUARDED_BY(commit_mu) = 0;
  // Bumped when the ledger is forgotten, so readers and subscribers notice.
  uint64_t forget_count ABSL_GUARDED_BY(commit_mu) = 0;
  // See ServedCheckpoint; dropped when the ledger is forgotten.
  std::shared_ptr<const ServedCheckpoint> latest_checkpoint ABSL_GUARDED_BY(commit_mu);
  // Appends accepted and not yet committed or failed.
  uint64_t inflight ABSL_GUARDED_BY(commit_mu) = 0;
  // Subscribers waiting for the committed head to move (see CommitWatch).
  uint64_t next_waiter ABSL_GUARDED_BY(commit_mu) = 0;
  std::vector<std::pair<uint64_t, std::function<void()>>> waiters
      ABSL_GUARDED_BY(commit_mu);

  // Takes the waiters, to run after commit_mu is released.
  std::vector<std::function<void()>> TakeWaitersLocked()
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(commit_mu) {
    std::vector<std::function<void()>> out;
    out.reserve(waiters.size());
    for (auto& [id, wake] : waiters) out.push_back(std::move(wake));
    waiters.clear();
    return out;
  }

  // For commit_mu.Await: no append of this ledger is in flight.
  bool NothingInflightLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(commit_mu) {
    return inflight == 0;
  }
};

}  // namespace microledger

#endif  // MICROLEDGER_LEDGER_STORE_LEDGER_ENTRY_H_
