// The host's logic, without gRPC: create ledgers, the append pipeline
// (validate -> countersign -> one atomic KvStore batch -> publish), reads,
// Merkle proofs, subscriptions and forgetting.
//
// The append pipeline (AppendAsync): the calling thread parses the block once,
// then, under the ledger's prepare mutex, validates it against the ledger's
// *pending* head (the head after every accepted but maybe not yet committed
// append), countersigns it (host signature spliced into the owner-signed
// bytes), advances the Merkle frontier in place, signs the checkpoint and
// queues one KvBatch to the committer. The committer thread takes everything
// queued (many ledgers, many blocks of one ledger) and writes it as one KvStore
// batch with one WAL sync (explicit group commit); only then does the ledger's
// *committed* head (what readers and subscribers see) advance and the
// callbacks run, in queue order. So a ledger's next block is validated and
// signed while the previous one's write is in flight, and no thread waits for
// a commit. If a group write fails, every block of it fails, every block of an
// affected ledger queued behind it fails ("an earlier block failed to
// commit"), and the ledger's pending state is reloaded from storage.
//
// Concurrency: appends to one ledger are ordered by its prepare mutex (held
// for validate + sign, never across I/O); different ledgers prepare in
// parallel (the ledger map is sharded, its shard locks held only to find an
// entry). No global lock on the hot path: the committer queue's mutex is held
// only to push or take batches. Reads go to the store, which only ever holds
// committed, complete appends; but a read takes the committed head from the
// ledger's cache entry when it has one, and proofs take Merkle nodes from a
// MerkleNodeCache and the latest checkpoint (with its root) from the entry,
// reading what is missing in one KvStore::MultiGet. All methods are
// thread-safe. Errors: see proto/microledger/v1/host.proto.
#ifndef MICROLEDGER_HOST_SERVICE_LEDGER_HOST_H_
#define MICROLEDGER_HOST_SERVICE_LEDGER_HOST_H_

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/types/span.h"
#include "common/block.h"
#include "common/chain_validator.h"
#include "common/merkle.h"
#include "host_service/host_keys.h"
#include "host_service/kv_store.h"
#include "host_service/merkle_node_cache.h"
#include "host_service/storage_layout.h"

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
};

struct NewLedger {
  std::string ledger_id;
  std::string ledger_token;
};

struct AttachmentInput {
  std::string name;
  std::string data;
};

struct AppendInput {
  std::string block;  // Owner-signed canonical JSON.
  std::vector<AttachmentInput> attachments;
  std::string ledger_token;  // Genesis only.
};

struct AppendResult {
  std::string ledger_id;
  uint64_t number = 0;
  std::string fingerprint;
  BlockSignature host_signature;
  std::string checkpoint;
  std::string complete_block;
};

struct LedgerInfo {
  std::string ledger_id;
  std::string genesis_block;
  ChainState state;
  std::string checkpoint;
};

struct InclusionProofResult {
  uint64_t leaf_index = 0;
  uint64_t tree_size = 0;
  std::vector<MerkleHash> hashes;
  MerkleHash root{};
  std::string checkpoint;
};

struct ConsistencyProofResult {
  uint64_t old_size = 0;
  uint64_t new_size = 0;
  std::vector<MerkleHash> hashes;
  std::string old_checkpoint;
  std::string new_checkpoint;
};

using AppendCallback = std::function<void(absl::StatusOr<AppendResult>)>;

// A ledger's committed head, for asynchronous subscribers (see WatchLedger).
class CommitWatch {
 public:
  virtual ~CommitWatch() = default;
  struct Poll {
    uint64_t head = 0;       // The committed head number.
    bool forgotten = false;  // The ledger was forgotten since the watch opened.
    bool registered = false; // `wake` was registered (see below).
    uint64_t waiter_id = 0;
  };
  // The committed head. If it is <= `seen` and the ledger was not forgotten,
  // registers `wake` to run once, on the committing thread and without host
  // locks held, when either changes (registered = true).
  virtual Poll PollOrWait(uint64_t seen, std::function<void()> wake) = 0;
  // Removes a registered waiter; true if it was still registered (then `wake`
  // will never run).
  virtual bool CancelWait(uint64_t waiter_id) = 0;
  // Block `number` and the checkpoint of that tree size (committed only).
  // NotFound if the ledger was forgotten meanwhile.
  virtual absl::Status Read(uint64_t number, std::string* block,
                            std::string* checkpoint) const = 0;
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
  // AppendAsync and wait.
  absl::StatusOr<AppendResult> Append(const AppendInput& input);

  // Blocks from..to (0 = head) of a ledger, resolved against the committed
  // head; ReadBlocks reads them a chunk at a time. For pull-style streaming.
  struct BlockRange {
    std::string ledger_key;
    uint64_t first = 0;
    uint64_t last = 0;
  };
  absl::StatusOr<BlockRange> ResolveBlockRange(absl::string_view ledger_id,
                                               uint64_t from, uint64_t to) const;
  // Blocks first..min(first + max_count - 1, range.last), in order, read with
  // one storage scan. NotFound if the ledger was forgotten meanwhile.
  absl::StatusOr<std::vector<std::string>> ReadBlocks(absl::string_view ledger_id,
                                                      const BlockRange& range,
                                                      uint64_t first,
                                                      size_t max_count) const;

  // A watch of the committed head of an existing ledger (NotFound if unknown).
  absl::StatusOr<std::shared_ptr<CommitWatch>> WatchLedger(absl::string_view ledger_id);

  absl::StatusOr<LedgerInfo> GetLedger(absl::string_view ledger_id) const;
  // tree_size 0 = the latest.
  absl::StatusOr<std::string> GetCheckpoint(absl::string_view ledger_id,
                                            uint64_t tree_size) const;
  // Calls `sink` for blocks from..to (to 0 = head) until it returns false.
  absl::Status GetBlocks(absl::string_view ledger_id, uint64_t from, uint64_t to,
                         const std::function<bool(uint64_t, const std::string&)>& sink) const;
  absl::StatusOr<InclusionProofResult> GetInclusionProof(absl::string_view ledger_id,
                                                         uint64_t number,
                                                         uint64_t tree_size) const;
  absl::StatusOr<ConsistencyProofResult> GetConsistencyProof(absl::string_view ledger_id,
                                                             uint64_t old_size,
                                                             uint64_t new_size) const;
  absl::StatusOr<StoredAttachment> GetAttachment(absl::string_view ledger_id,
                                                 absl::string_view seal) const;

  // Delivers every block from `from` on (stored first, then new commits) to
  // `sink` (number, complete block, checkpoint of that size) until `sink`
  // returns false or `cancelled` returns true (polled at least every
  // `poll_millis`); then returns OK. NotFound if the ledger is unknown or is
  // forgotten meanwhile.
  absl::Status Subscribe(
      absl::string_view ledger_id, uint64_t from,
      const std::function<bool(uint64_t, const std::string&, const std::string&)>& sink,
      const std::function<bool()>& cancelled, int poll_millis = 200);

  // SPEC §10 signed forget request; deletes all of the ledger's data and
  // leaves a tombstone (storage_layout.h) in the same write: the id is retired
  // (a genesis block for it is refused with FailedPrecondition, even with its
  // creation token), and reads answer NotFound saying it was forgotten.
  absl::Status Forget(absl::string_view ledger_id, absl::string_view head_fingerprint,
                      const std::vector<BlockSignature>& signatures);

 private:
  struct Entry;
  struct Pending;
  class Watch;
  struct CachedEntry {
    std::shared_ptr<Entry> entry;
    uint64_t last_used = 0;
  };
  struct Shard {
    absl::Mutex mu;
    absl::flat_hash_map<std::string, CachedEntry> entries ABSL_GUARDED_BY(mu);
    uint64_t clock ABSL_GUARDED_BY(mu) = 0;
  };
  static constexpr int kShards = 64;

  Shard& ShardOf(absl::string_view ledger_id) const;
  // The ledger's cache entry, created (unloaded) if absent. An entry is only
  // evicted while nobody holds it, so one ledger never has two entries.
  std::shared_ptr<Entry> GetEntry(const std::string& ledger_id);
  // The ledger's cache entry if there is one (else null), never creating one;
  // refreshes its LRU position.
  std::shared_ptr<Entry> FindEntry(absl::string_view ledger_id) const;
  void EvictIdleLocked(Shard& shard) ABSL_EXCLUSIVE_LOCKS_REQUIRED(shard.mu);
  absl::Status LoadLocked(Entry& entry, absl::string_view ledger_key);
  // Whether the ledger has a tombstone (was forgotten).
  absl::StatusOr<bool> HasTombstone(absl::string_view ledger_key) const;
  // NotFound for a ledger without a head record: "was forgotten" if it has a
  // tombstone, else "unknown".
  absl::Status MissingLedger(absl::string_view ledger_key,
                             absl::string_view ledger_id) const;
  absl::StatusOr<HeadRecord> ReadHead(absl::string_view ledger_id,
                                      std::string* ledger_key) const;
  // A stored checkpoint with its root hash, kept by a cache entry so that
  // proofs of the latest tree read neither.
  struct ServedCheckpoint {
    uint64_t tree_size = 0;
    std::string note;
    MerkleHash root{};
  };
  // What a read sees of a ledger: its committed head, from the cache entry
  // when that is loaded (no I/O), else from the head record; and the entry
  // (null when not cached) with its generation and latest served checkpoint
  // (maybe null or older than the head) at that time.
  struct CommittedView {
    std::string ledger_key;
    uint64_t head = 0;
    std::shared_ptr<Entry> entry;
    uint64_t generation = 0;
    std::shared_ptr<const ServedCheckpoint> latest;
  };
  // NotFound if the ledger is unknown.
  absl::StatusOr<CommittedView> ViewCommitted(absl::string_view ledger_id) const;
  // The nodes `ids` (repeats allowed) of the ledger's tree, into `nodes`, and
  // its checkpoints of `checkpoint_sizes`: nodes from node_cache_ where cached,
  // the rest in one KvStore::MultiGet; the nodes read are cached unless the
  // ledger was forgotten meanwhile. NotFound if any is absent (forgotten).
  absl::Status ReadProofInputs(absl::string_view ledger_id, const CommittedView& view,
                               absl::Span<const MerkleNodeId> ids,
                               absl::Span<const uint64_t> checkpoint_sizes,
                               MerkleNodeSet& nodes,
                               std::vector<std::string>& checkpoints) const;
  // Keeps `checkpoint` as the entry's latest served checkpoint if it is of the
  // viewed head and the ledger was not forgotten since the view.
  void RememberCheckpoint(const CommittedView& view,
                          std::shared_ptr<const ServedCheckpoint> checkpoint) const;
  int64_t Now() const;

  // Prepares an append under the entry's prepare mutex and queues it.
  absl::Status Prepare(AppendInput& input, AppendCallback& done);
  void CommitterLoop();
  void FinishGroup(std::vector<std::unique_ptr<Pending>>& group);

  std::unique_ptr<KvStore> store_;
  MasterSecret master_;
  HostOptions options_;
  // Mutable: lookups by the const read functions refresh the LRU order.
  mutable std::array<Shard, kShards> shards_;
  // Mutable: filled by the const proof functions.
  mutable MerkleNodeCache node_cache_;

  // The committer's queue: batches in prepare order.
  absl::Mutex queue_mu_;
  std::vector<std::unique_ptr<Pending>> queue_ ABSL_GUARDED_BY(queue_mu_);
  bool stopping_ ABSL_GUARDED_BY(queue_mu_) = false;
  std::thread committer_;
};

// The raw 32-byte host public key inside a ledger id (InvalidArgument if none).
absl::StatusOr<std::string> LedgerKeyFromId(absl::string_view ledger_id);

}  // namespace microledger

#endif  // MICROLEDGER_HOST_SERVICE_LEDGER_HOST_H_
