// The mirror's logic, without gRPC: which ledgers it follows (one
// LedgerFollower each), what it holds of each, sparse fetches for readers,
// SPEC §11 evidence (a fork a follower finds, or evidence reported to it:
// either stops following the ledger for good and keeps what was verified),
// owner-signed forgetting (SPEC §10) and retention of idle ledgers.
//
// What a mirror serves: every read of a ledger it holds, from its store with
// the host's read code (reader()); a read of blocks it does not hold is
// fetched first (sparse) or refused with FailedPrecondition naming the held
// ranges (tail: blocks before its start; proofs need leaves and tree sizes
// from the tail start on). Sparse proofs are fetched from the upstream and
// verified against the checkpoints the mirror holds before they are served.
//
// Thread safety: thread-safe. A ledger's mirror record is read-modify-written
// only under its record mutex (shared with its follower).
#ifndef MICROLEDGER_MIRROR_MIRROR_H_
#define MICROLEDGER_MIRROR_MIRROR_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/block.h"
#include "common/evidence.h"
#include "ledger_store/evidence_store.h"
#include "ledger_store/kv_store.h"
#include "ledger_store/ledger_reader.h"
#include "ledger_store/proof_reader.h"
#include "mirror/ledger_follower.h"
#include "mirror/mirror_record.h"
#include "mirror/mirror_store.h"
#include "serving/locator_announcer.h"

namespace microledger {

struct MirrorOptions {
  // Also holds the DHT (follower.dht) that an upstream of "dht" is resolved in.
  FollowerOptions follower;
  // Keeps the ledgers this mirror holds findable (SPEC §13 mirror records
  // signed with the mirror's own key), or null. Must outlive the mirror.
  LocatorAnnouncer* announcer = nullptr;
  // Ledgers not followed and not read for this long are dropped (their
  // evidence stays); zero keeps them for ever.
  absl::Duration retain_idle = absl::ZeroDuration();
  // How often idle ledgers are looked for (default: retain_idle / 4, at
  // most a minute).
  absl::Duration retention_sweep = absl::ZeroDuration();
  size_t max_cached_ledgers = 10000;
  size_t max_cached_merkle_nodes = 1 << 18;
  // Blocks a sparse ledger fetches for one read at most (a read that lacks
  // more is refused with FAILED_PRECONDITION); fetched in one upstream range.
  uint64_t max_fetch_blocks = 256;
  // Unix milliseconds; NowMillis when unset.
  std::function<int64_t()> clock;
};

// What the admin API reports of one ledger.
struct MirroredLedgerView {
  MirrorRecord record;
  FollowerStatus follower;  // state "stopped" when no follower runs.
  uint64_t head = 0;        // The verified head held (0: none).
  std::vector<BlockSpan> held;
  std::string evidence_id;  // First evidence id; non-empty = frozen.
};

class Mirror {
 public:
  Mirror(std::unique_ptr<KvStore> store, MirrorOptions options);
  ~Mirror();

  Mirror(const Mirror&) = delete;
  Mirror& operator=(const Mirror&) = delete;

  // Starts a follower for every followed ledger that is not frozen, and the
  // retention sweeper.
  absl::Status Start();

  // Stops every follower and the retention sweeper, and refuses new follows
  // (idempotent; the destructor calls it). Call it before destroying what
  // they use, such as the announcer.
  void StopFollowers();

  const LedgerReader& reader() const { return store_.reader(); }

  // Ledgers with a running follower (for metrics).
  size_t followed_ledgers() const;

  // Admin. `upstream` is HOST:PORT, unix:PATH, or "dht" (found through the
  // DHT on every connection; needs follower.dht). Follow: InvalidArgument
  // (id, upstream), FailedPrecondition (frozen, forgotten, followed in another
  // mode, or "dht" without a DHT).
  absl::StatusOr<MirroredLedgerView> Follow(absl::string_view ledger_id,
                                            absl::string_view upstream, MirrorMode mode);
  // NotFound if the mirror neither follows nor holds the ledger.
  absl::Status Unfollow(absl::string_view ledger_id, bool drop_data);
  // One ledger (NotFound if unknown here), or every one when empty.
  absl::StatusOr<std::vector<MirroredLedgerView>> Status(absl::string_view ledger_id);

  // Reads. Marks the ledger used (retention).
  void Touch(absl::string_view ledger_id);
  // The held block ranges (empty for a ledger not held).
  absl::StatusOr<std::vector<BlockSpan>> Held(absl::string_view ledger_id);
  // Makes sure blocks first..last (0 = the head) are held: fetched and
  // verified for a sparse ledger, else FailedPrecondition naming the held
  // ranges. OK for a ledger not held at all (the read then answers NotFound).
  absl::Status EnsureBlocks(absl::string_view ledger_id, uint64_t first, uint64_t last);
  // Whether proofs and checkpoints of tree size `size` (0: any) and leaves
  // from `leaf_number` (0: any) can be served from the store: always for full
  // ledgers, from the start on for tails, and for sparse ledgers the
  // checkpoints of the heads they verified (their proofs come from
  // SparseInclusionProof and SparseConsistencyProof); FailedPrecondition
  // naming what is held otherwise.
  absl::Status CheckProvable(absl::string_view ledger_id, uint64_t leaf_number,
                             uint64_t size);
  bool IsSparse(absl::string_view ledger_id);
  absl::StatusOr<InclusionProofResult> SparseInclusionProof(absl::string_view ledger_id,
                                                            uint64_t number,
                                                            uint64_t tree_size);
  absl::StatusOr<ConsistencyProofResult> SparseConsistencyProof(absl::string_view ledger_id,
                                                                uint64_t old_size,
                                                                uint64_t new_size);

  // SPEC §11: validates, keeps, stops following. InvalidArgument (not valid
  // evidence), NotFound (a ledger this mirror neither holds nor held).
  absl::StatusOr<EvidenceInfo> ReportEquivocation(absl::string_view evidence);
  // SPEC §10, as the host does it, against the held head and controllers.
  absl::Status Forget(absl::string_view ledger_id, absl::string_view head_fingerprint,
                      const std::vector<BlockSignature>& signatures);
  // Drops unfollowed ledgers idle for retain_idle; returns how many.
  absl::StatusOr<int> DropIdle();

 private:
  int64_t Now() const;
  absl::Mutex& RecordMutex(absl::string_view ledger_id);
  // Starts the ledger's follower; returns the one it replaces (to destroy
  // without locks held: destroying joins it).
  std::unique_ptr<LedgerFollower> StartFollower(const MirrorRecord& record)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Serialises the admin changes of one ledger (never taken by followers).
  absl::Mutex& AdminMutex(absl::string_view ledger_id);
  // Whether the checkpoint of tree size `size` is stored.
  bool HasCheckpoint(absl::string_view ledger_id, uint64_t size) const;
  // Drops the ledger's last-use time (its data is gone).
  void ForgetUse(absl::string_view ledger_id);
  std::unique_ptr<LedgerFollower> TakeFollower(absl::string_view ledger_id);
  // Evidence a follower built: kept, reported upstream (best effort).
  void OnFollowerEvidence(const std::string& upstream, const std::string& evidence);
  absl::StatusOr<bool> Keep(const EvidenceInfo& info, absl::string_view evidence);
  absl::StatusOr<std::string> EvidenceIdOf(absl::string_view ledger_id) const;
  // A stub of `upstream` (HOST:PORT, or the first address the DHT gives for
  // "dht"); Unavailable/NotFound when "dht" resolves to nothing.
  absl::StatusOr<std::unique_ptr<v1::HostService::Stub>> Upstream(
      absl::string_view ledger_id, const std::string& upstream) const;
  absl::Status FetchMissing(const MirrorRecord& record, uint64_t first, uint64_t last,
                            uint64_t head);
  void SweepLoop();

  const MirrorOptions options_;
  MirrorStore store_;
  EvidenceStore evidence_;

  mutable absl::Mutex mu_;
  absl::flat_hash_map<std::string, std::unique_ptr<LedgerFollower>> followers_
      ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, std::unique_ptr<absl::Mutex>> record_mus_
      ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, std::unique_ptr<absl::Mutex>> admin_mus_
      ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, int64_t> last_used_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread sweeper_;
};

}  // namespace microledger

#endif  // MICROLEDGER_MIRROR_MIRROR_H_
