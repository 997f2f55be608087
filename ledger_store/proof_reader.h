// The Merkle proofs (ledger_store: shared by the host and the mirror): inclusion and
// consistency proofs of a ledger's committed tree, with the signed
// checkpoints they are checked against. Nodes come from a MerkleNodeCache
// where cached, the rest (and the checkpoints) from one KvStore::MultiGet;
// the latest checkpoint and its root are kept in the ledger's LedgerEntry, so
// proofs of the latest tree usually read no checkpoint.
//
// Across a forget: a forget bumps the entry's forget_count and erases the
// ledger's cached nodes under its commit_mu, and nodes or checkpoints read
// before it are cached only if the count is unchanged, so nothing read before
// a forget is served after it.
//
// Thread safety: thread-safe; `store`, `cache` and `node_cache` must outlive
// the reader.
#ifndef MICROLEDGER_LEDGER_STORE_PROOF_READER_H_
#define MICROLEDGER_LEDGER_STORE_PROOF_READER_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "common/merkle.h"
#include "ledger_store/kv_store.h"
#include "ledger_store/ledger_cache.h"
#include "ledger_store/ledger_lookup.h"
#include "ledger_store/merkle_node_cache.h"

namespace microledger {

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

class ProofReader {
 public:
  ProofReader(const KvStore* store, const LedgerCache* cache, MerkleNodeCache* node_cache)
      : store_(store), cache_(cache), node_cache_(node_cache) {}

  // Block `number` in the tree of `tree_size` blocks (0 = the committed head).
  absl::StatusOr<InclusionProofResult> GetInclusionProof(absl::string_view ledger_id,
                                                         uint64_t number,
                                                         uint64_t tree_size) const;
  // From `old_size` to `new_size` blocks (0 = the committed head).
  absl::StatusOr<ConsistencyProofResult> GetConsistencyProof(absl::string_view ledger_id,
                                                             uint64_t old_size,
                                                             uint64_t new_size) const;

 private:
  // The nodes `ids` (repeats allowed) of the ledger's tree, into `nodes`, and
  // its checkpoints of `checkpoint_sizes`: nodes from the node cache where
  // cached, the rest in one KvStore::MultiGet; the nodes read are cached
  // unless the ledger was forgotten meanwhile. NotFound if any is absent
  // (forgotten).
  absl::Status ReadProofInputs(absl::string_view ledger_id, const CommittedView& view,
                               absl::Span<const MerkleNodeId> ids,
                               absl::Span<const uint64_t> checkpoint_sizes,
                               MerkleNodeSet& nodes,
                               std::vector<std::string>& checkpoints) const;
  // Keeps `checkpoint` as the entry's latest served checkpoint if it is of the
  // viewed head and the ledger was not forgotten since the view.
  void RememberCheckpoint(const CommittedView& view,
                          std::shared_ptr<const ServedCheckpoint> checkpoint) const;

  const KvStore* const store_;
  const LedgerCache* const cache_;
  MerkleNodeCache* const node_cache_;
};

}  // namespace microledger

#endif  // MICROLEDGER_LEDGER_STORE_PROOF_READER_H_
