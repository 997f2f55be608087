// The host's logic, without gRPC: create ledgers, the append pipeline
// (validate -> countersign -> one atomic KvStore batch -> publish), reads,
// Merkle proofs, subscriptions, forgetting and equivocation evidence.
// LedgerHost is the facade over its components (GroupCommitter is internal to
// host_service, the others are ledger_store's, shared with the mirror):
//
//   LedgerCache     ledger_cache.h     the per-ledger state (LedgerEntry), LRU
//   GroupCommitter  group_committer.h  batches of appends, one write each
//   LedgerReader    ledger_reader.h    every read, proofs, commit watches
//   EvidenceStore   evidence_store.h   SPEC §11 evidence kept per ledger
//   ledger_lookup.h                    committed views and NotFound errors
//
// The append pipeline (AppendAsync): the calling thread parses the block once,
// then, under the ledger's prepare mutex, validates it against the ledger's
// *pending* head (the head after every accepted but maybe not yet committed
// append), countersigns it (host signature spliced into the owner-signed
// bytes), advances the Merkle frontier in place, signs the checkpoint and
// queues one KvBatch to the GroupCommitter, which writes everything queued
// with one WAL sync; only then does the ledger's *committed* head (what
// readers and subscribers see) advance and the callbacks run, in queue order.
// So a ledger's next block is validated and signed while the previous one's
// write is in flight, and no thread waits for a commit. A failed group write
// fails every append of it and every append of an affected ledger queued
// behind it, and the ledger's pending state is reloaded from storage.
//
// Concurrency: appends to one ledger are ordered by its prepare mutex (held
// for validate + sign, never across I/O); different ledgers prepare in
// parallel (the ledger cache is sharded, its shard locks held only to find an
// entry). No global lock on the hot path: the committer queue's mutex is held
// only to push or take batches. Reads go to the store, which only ever holds
// committed, complete appends; but a read takes the committed head from the
// ledger's cache entry when it has one. All methods are thread-safe. Errors:
// see proto/microledger/v1/host.proto.
//
// Equivocation (SPEC §11): a ledger with evidence is frozen. Its entry knows
// it (LedgerEntry::frozen_by, loaded with the entry, so it holds across
// restarts and cache eviction) and Prepare refuses every append of it. A
// report takes the ledger's prepare mutex and waits for the ledger's queued
// appends to commit before it stores the evidence and freezes the entry, so
// an append either committed before the report returns or is refused.
#ifndef MICROLEDGER_HOST_SERVICE_LEDGER_HOST_H_
#define MICROLEDGER_HOST_SERVICE_LEDGER_HOST_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/block.h"
#include "common/chain_validator.h"
#include "host_service/append_result.h"
#include "ledger_store/commit_watch.h"
#include "ledger_store/evidence_store.h"
#include "host_service/group_committer.h"
#include "host_service/host_keys.h"
#include "host_service/host_metrics.h"
#include "host_service/witness_submitter.h"
#include "common/locator.h"
#include "serving/locator_announcer.h"
#include "ledger_store/kv_store.h"
#include "ledger_store/ledger_cache.h"
#include "ledger_store/ledger_entry.h"
#include "ledger_store/ledger_lookup.h"
#include "ledger_store/merkle_node_cache.h"
#include "ledger_store/ledger_reader.h"
#include "ledger_store/storage_layout.h"

namespace microledger {

struct HostOptions {
  size_t max_block_bytes = kDefaultMaxBlockBytes;
  size_t max_attachment_bytes = 1 << 20;
  size_t max_attachments = 16;
  int64_t max_clock_skew_millis = kDefaultMaxClockSkewMillis;
  // Ledgers whose state (chain state, frontier, guarded signing key) stays
  // cached; idle ones beyond this are evicted, least recently used first.
  size_t max_cached_ledgers = 10000;
  // Merkle nodes cached for proofs, across ledgers (about 100 bytes each).
  size_t max_cached_merkle_nodes = 1 << 18;
  // The host's clock in Unix milliseconds; NowMillis when unset.
  std::function<int64_t()> clock;
  // Keeps ledgers findable through the DHT (SPEC §13), or null: told of every
  // committed append (Touch), forget and kept evidence. Must outlive the host.
  LocatorAnnouncer* announcer = nullptr;
  // Submits checkpoints to the host's witnesses (SPEC §12), or null: told of
  // every committed append (Touch). Must outlive the host's appends.
  WitnessSubmitter* witnesses = nullptr;
  // Counts appends, commit groups and checkpoint signing, or null. Must
  // outlive the host.
  HostMetrics* metrics = nullptr;
};

struct NewLedger {
  std::string ledger_id;
  std::string ledger_token;
};

struct AttachmentInput {
  std::string name;
  std::string data;
};

// What ReportEquivocation accepted.
struct EvidenceReport {
  std::string ledger_id;
  std::string kind;  // "checkpoints", "blocks" or "leaves".
  std::string evidence_id;
  bool frozen = false;  // Whether the ledger is frozen here now.
};

struct AppendInput {
  std::string block;  // Owner-signed canonical JSON.
  std::vector<AttachmentInput> attachments;
  std::string ledger_token;  // Genesis only.
};

class LedgerHost {
 public:
  LedgerHost(std::unique_ptr<KvStore> store, MasterSecret master, HostOptions options);
  ~LedgerHost();

  // A fresh ledger id and its token; stores nothing.
  absl::StatusOr<NewLedger> CreateLedger();

  // Validates, countersigns and queues the append; `done` runs exactly once:
  // inline (on this thread) when the block is rejected, or on the committer
  // thread after the commit (or its failure). Blocks of one ledger submitted
  // one after another from one thread are applied in that order.
  void AppendAsync(AppendInput input, AppendCallback done);

  // Ledgers whose state is cached now (for metrics).
  size_t cached_ledgers() const { return cache_.size(); }

  // Counts an append refused before it reached AppendAsync (an admission
  // limit at the API edge) like the ones AppendAsync refuses.
  void CountRefusedAppend(const absl::Status& refusal) const {
    if (options_.metrics != nullptr) options_.metrics->AppendRejected(refusal);
  }

  // Every read of the host's ledgers (shared with the mirror).
  const LedgerReader& reader() const { return reader_; }

  // SPEC §10 signed forget request; deletes all of the ledger's data and
  // leaves a tombstone (storage_layout.h) in the same write: the id is retired
  // (a genesis block for it is refused with FailedPrecondition, even with its
  // creation token), and reads answer NotFound saying it was forgotten.
  absl::Status Forget(absl::string_view ledger_id, absl::string_view head_fingerprint,
                      const std::vector<BlockSignature>& signatures);

  // SPEC §11 evidence (its exact bytes): validated (InvalidArgument saying
  // why not), refused with NotFound unless this host holds or held the
  // ledger (a head record or a tombstone), kept durably (EvidenceStore), and
  // the ledger frozen: from then on every append of it is FailedPrecondition
  // "ledger: frozen by equivocation evidence <first evidence id>"; reads go
  // on. The first evidence of a ledger is logged on stderr (without the
  // ledger id). Evidence already kept, or more evidence for a frozen ledger,
  // is OK; only what is kept changes.
  absl::StatusOr<EvidenceReport> ReportEquivocation(absl::string_view evidence);

  // A SPEC §13 host locator record of the ledger, signed with its key (the
  // announcer's signer). NotFound for a ledger this host does not hold.
  absl::StatusOr<std::string> SignLocator(const std::string& ledger_id,
                                          LocatorRecord record) const;
  // Calls `visit` with every ledger this host holds and its head block's time
  // (Unix ms), in key order: one storage scan, for the announcer at start.
  // A head record that does not decode is skipped.
  absl::Status ForEachLedger(
      const std::function<void(const std::string& ledger_id, int64_t head_time_millis)>&
          visit) const;

 private:
  // Loads the entry's pending (and, the first time, committed) head from
  // storage unless it is loaded for the current epoch.
  absl::Status LoadLocked(LedgerEntry& entry, absl::string_view ledger_key)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(entry.mu);
  // Sets entry.frozen_by from the evidence kept, unless it is set already.
  absl::Status LoadFrozenLocked(LedgerEntry& entry, absl::string_view ledger_key)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(entry.mu);
  int64_t Now() const;
  // Prepares an append under the entry's prepare mutex and queues it.
  absl::Status Prepare(AppendInput& input, AppendCallback& done);
  absl::Status CheckLimits(const AppendInput& input) const;

  std::unique_ptr<KvStore> store_;
  MasterSecret master_;
  HostOptions options_;
  EvidenceStore evidence_;
  LedgerCache cache_;
  // Mutable: filled by the const proof functions.
  mutable MerkleNodeCache node_cache_;
  LedgerReader reader_;
  // Last: destroyed first, committing what is queued while the rest lives.
  GroupCommitter committer_;
};

}  // namespace microledger

#endif  // MICROLEDGER_HOST_SERVICE_LEDGER_HOST_H_
