// The mirror's ledgers on its KvStore. Verified data is written in the
// host's storage layout (ledger_store/storage_layout.h: blocks, Merkle nodes,
// checkpoints, attachments, head record with chain state and frontier), so
// the host's read side (ledger_store/ledger_reader.h) serves it unchanged;
// the mirror's own per-ledger record (mirror_record.h) sits beside it. Each
// commit is one atomic write, after which the ledger's committed head is
// published to readers and subscribers (LedgerCache entries), exactly as the
// host's committer does: a reader never sees data before it is stored.
//
// Nothing here verifies: callers pass only what mirror/verification.h
// accepted.
//
// Thread safety: thread-safe. Commits of one ledger must come from one thread
// at a time (its follower, or a sparse fetch under the ledger's fetch lock);
// they are ordered by that caller.
#ifndef MICROLEDGER_MIRROR_MIRROR_STORE_H_
#define MICROLEDGER_MIRROR_MIRROR_STORE_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/chain_validator.h"
#include "common/merkle.h"
#include "ledger_store/kv_store.h"
#include "ledger_store/ledger_cache.h"
#include "ledger_store/ledger_reader.h"
#include "ledger_store/merkle_node_cache.h"
#include "ledger_store/storage_layout.h"
#include "mirror/mirror_record.h"
#include "mirror/verification.h"

namespace microledger {

// A seal attachment whose data's digest was checked against its seal.
struct VerifiedAttachment {
  std::string seal_multihash;  // Raw multihash bytes of the seal.
  std::string name;
  std::string data;
};

// A block held outside the chain a follower extends: a tail's genesis and
// first head, a sparse mirror's fetched blocks and its head.
struct HeldBlock {
  uint64_t number = 0;
  std::string bytes;
};

class MirrorStore {
 public:
  MirrorStore(std::unique_ptr<KvStore> store, size_t max_cached_ledgers,
              size_t max_cached_merkle_nodes);

  MirrorStore(const MirrorStore&) = delete;
  MirrorStore& operator=(const MirrorStore&) = delete;

  const LedgerReader& reader() const { return reader_; }
  KvStore& kv() { return *store_; }

  // The mirror record of a ledger (nullopt when there is none).
  absl::StatusOr<std::optional<MirrorRecord>> Record(absl::string_view ledger_id) const;
  // Every mirror record, in key order.
  absl::StatusOr<std::vector<MirrorRecord>> Records() const;
  absl::Status PutRecord(const MirrorRecord& record);

  // The verified head held for a ledger: chain state and frontier (NotFound
  // when the mirror holds none of it).
  absl::StatusOr<HeadRecord> Head(absl::string_view ledger_id) const;

  // Appends verified blocks, each following the previous one (and the first
  // the held head), with their checkpoints, in one write; then publishes the
  // new head.
  absl::Status CommitBlocks(absl::string_view ledger_id,
                            const std::vector<VerifiedBlock>& blocks,
                            const std::vector<VerifiedAttachment>& attachments);

  // Sets the held head without the blocks before it (a tail's start, a sparse
  // mirror's newer checkpoint): `blocks` (at least the head block), the
  // perfect Merkle nodes known, the checkpoint, the chain state and frontier
  // of the head, and the record, in one write; then publishes the head.
  absl::Status CommitHeadAt(absl::string_view ledger_id, const std::vector<HeldBlock>& blocks,
                            const std::vector<std::pair<MerkleNodeId, MerkleHash>>& nodes,
                            const VerifiedCheckpoint& checkpoint, const ChainState& state,
                            const MerkleFrontier& frontier,
                            const std::vector<VerifiedAttachment>& attachments,
                            const MirrorRecord& record);

  // Blocks fetched for readers of a sparse ledger, verified by inclusion, with
  // the nodes of their audit paths, and the record listing them.
  absl::Status StoreFetched(absl::string_view ledger_id, const std::vector<HeldBlock>& blocks,
                            const std::vector<std::pair<MerkleNodeId, MerkleHash>>& nodes,
                            const std::vector<VerifiedAttachment>& attachments,
                            const MirrorRecord& record);

  // Deletes the ledger's data and record. With a tombstone (an owner-signed
  // forget), the id reads as forgotten from then on; without (retention, or
  // unfollow with drop_data), as unknown. Evidence is never deleted.
  absl::Status Delete(absl::string_view ledger_id, const std::optional<Tombstone>& tombstone);

 private:
  // Publishes `head` (with its checkpoint) as the ledger's committed head and
  // wakes its subscribers.
  void Publish(absl::string_view ledger_id, uint64_t head, const VerifiedCheckpoint& checkpoint);

  std::unique_ptr<KvStore> store_;
  LedgerCache cache_;
  MerkleNodeCache node_cache_;
  LedgerReader reader_;
};

}  // namespace microledger

#endif  // MICROLEDGER_MIRROR_MIRROR_STORE_H_
