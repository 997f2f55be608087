// The read side of a stored ledger, shared by the host and the mirror: the
// ledger's summary, checkpoints, block ranges, Merkle proofs, attachments,
// kept evidence and watches of its committed head, all answered from a
// KvStore in the storage_layout.h form and the committed heads of a
// LedgerCache. Whoever writes the store (the host's GroupCommitter, the
// mirror's follower) advances an entry's committed head only after the write,
// so a read never sees an uncommitted block.
//
// Errors: see proto/microledger/v1/host.proto (the texts are part of the API).
//
// Thread safety: thread-safe; `store`, `cache` and `node_cache` must outlive
// the reader.
#ifndef MICROLEDGER_LEDGER_STORE_LEDGER_READER_H_
#define MICROLEDGER_LEDGER_STORE_LEDGER_READER_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/chain_validator.h"
#include "common/tile_path.h"
#include "ledger_store/commit_watch.h"
#include "ledger_store/evidence_store.h"
#include "ledger_store/kv_store.h"
#include "ledger_store/ledger_cache.h"
#include "ledger_store/ledger_entry.h"
#include "ledger_store/merkle_node_cache.h"
#include "ledger_store/proof_reader.h"
#include "ledger_store/storage_layout.h"

namespace microledger {

struct LedgerInfo {
  std::string ledger_id;
  std::string genesis_block;
  ChainState state;
  std::string checkpoint;
  // The id of the first SPEC §11 evidence object kept for the ledger (it is
  // frozen); empty if there is none.
  std::string evidence_id;
};

class LedgerReader {
 public:
  LedgerReader(const KvStore* store, LedgerCache* cache, MerkleNodeCache* node_cache)
      : store_(store), cache_(cache), proofs_(store, cache, node_cache) {}

  LedgerReader(const LedgerReader&) = delete;
  LedgerReader& operator=(const LedgerReader&) = delete;

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
  absl::StatusOr<std::shared_ptr<CommitWatch>> WatchLedger(
      absl::string_view ledger_id) const;

  absl::StatusOr<LedgerInfo> GetLedger(absl::string_view ledger_id) const;
  // The committed head (block number = tree size); NotFound if the ledger is
  // unknown or forgotten. No I/O when the ledger is cached.
  absl::StatusOr<uint64_t> CommittedHead(absl::string_view ledger_id) const;
  // tree_size 0 = the latest.
  absl::StatusOr<std::string> GetCheckpoint(absl::string_view ledger_id,
                                            uint64_t tree_size) const;
  // The newest checkpoint that a quorum of the host's witnesses cosigned
  // (SPEC §12; witness_cosignatures.h keeps it): the stored note with their
  // cosignature lines appended. FailedPrecondition when no checkpoint of the
  // ledger is witnessed (yet; a mirror never has one).
  absl::StatusOr<std::string> GetWitnessedCheckpoint(absl::string_view ledger_id) const;
  absl::StatusOr<InclusionProofResult> GetInclusionProof(absl::string_view ledger_id,
                                                         uint64_t number,
                                                         uint64_t tree_size) const {
    return proofs_.GetInclusionProof(ledger_id, number, tree_size);
  }
  absl::StatusOr<ConsistencyProofResult> GetConsistencyProof(absl::string_view ledger_id,
                                                             uint64_t old_size,
                                                             uint64_t new_size) const {
    return proofs_.GetConsistencyProof(ledger_id, old_size, new_size);
  }
  // Tile `tile` of tile level `level` (C2SP tlog-tiles, common/tile_path.h):
  // the concatenated 32-byte hashes of the tree nodes of height level*8 with
  // indices tile.index*256 .. tile.index*256 + tile.width - 1. OutOfRange
  // when the committed tree does not hold it (yet).
  absl::StatusOr<std::string> ReadTile(absl::string_view ledger_id, int level,
                                       const TileIndex& tile) const;
  absl::StatusOr<StoredAttachment> GetAttachment(absl::string_view ledger_id,
                                                 absl::string_view seal) const;
  // The evidence objects kept for the ledger (evidence_store.h), first
  // received first, possibly none. NotFound only for a ledger this store
  // neither holds nor held: no head record, no tombstone and no evidence.
  absl::StatusOr<std::vector<std::string>> GetLedgerEvidence(
      absl::string_view ledger_id) const;

  const KvStore& store() const { return *store_; }

 private:
  // Loads the entry's committed head from storage unless it is known.
  absl::Status LoadCommitted(LedgerEntry& entry, absl::string_view ledger_key) const;

  const KvStore* const store_;
  LedgerCache* const cache_;
  const ProofReader proofs_;
};

}  // namespace microledger

#endif  // MICROLEDGER_LEDGER_STORE_LEDGER_READER_H_
