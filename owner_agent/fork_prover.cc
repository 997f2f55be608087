#include "owner_agent/fork_prover.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/block.h"
#include "common/checkpoint.h"
#include "common/evidence.h"
#include "owner_agent/status_prefix.h"

namespace microledger {

absl::StatusOr<std::vector<MerkleHash>> LastLeafAuditPath(absl::string_view previous_frontier,
                                                          uint64_t size) {
  absl::StatusOr<MerkleFrontier> frontier = MerkleFrontier::Deserialize(previous_frontier);
  if (!frontier.ok()) return frontier.status();
  if (size == 0 || frontier->size() != size - 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("the frontier is of size ", frontier->size(), ", not ", size - 1));
  }
  // Version 1 form: 0x01, the 8-byte size, then the roots, largest first.
  const std::string bytes = frontier->Serialize();
  constexpr size_t kHeader = 9;
  std::vector<MerkleHash> path;
  for (size_t at = kHeader; at + 32 <= bytes.size(); at += 32) {
    absl::StatusOr<MerkleHash> hash = MerkleHashFromBytes(bytes.substr(at, 32));
    if (!hash.ok()) return hash.status();
    path.push_back(*hash);
  }
  // RFC 9162 PATH(n - 1, D[0:n]) = PATH of the rest : MTH(D[0:k]) at every
  // level: the frontier of n - 1 leaves read from its smallest root.
  std::reverse(path.begin(), path.end());
  return path;
}

absl::StatusOr<std::string> ProveFork(const HeldTree& held, HostClient& server,
                                      const std::string& served) {
  const std::string& id = held.ledger_id;
  absl::StatusOr<Checkpoint> mine = VerifyCheckpoint(held.checkpoint, id);
  absl::StatusOr<Checkpoint> theirs = VerifyCheckpoint(served, id);
  if (!mine.ok() || !theirs.ok()) {
    return absl::NotFoundError("a checkpoint does not verify by the ledger key");
  }
  const uint64_t n = mine->tree_size;
  if (theirs->tree_size == n) {
    return BuildCheckpointsEvidence(id, held.checkpoint, served);
  }
  if (theirs->tree_size < n || n == 0) {
    return absl::NotFoundError("a smaller tree proves lost blocks, not two histories");
  }
  absl::StatusOr<std::string> their_block = server.GetBlock(id, n);
  if (!their_block.ok()) return Prefix(their_block.status(), "the served block: ");
  absl::StatusOr<Block> parsed = ParseBlock(*their_block, SignatureStage::kComplete);
  if (!parsed.ok() || parsed->number != n) {
    return absl::NotFoundError(absl::StrCat("the server's block ", n, " is not a block ", n));
  }
  if (parsed->fingerprint == held.head_fingerprint) {
    return absl::NotFoundError(absl::StrCat(
        "the server's block ", n, " is the agent's: the histories part before it, where "
        "the agent keeps no leaf to compare"));
  }
  if (!held.head_block.empty()) {
    absl::StatusOr<std::string> blocks = BuildBlocksEvidence(id, held.head_block, *their_block);
    if (blocks.ok()) return blocks;
  }
  absl::StatusOr<std::vector<MerkleHash>> my_path =
      LastLeafAuditPath(held.previous_frontier, n);
  if (!my_path.ok()) {
    return absl::NotFoundError(absl::StrCat("the agent's audit path of its head block: ",
                                            my_path.status().message()));
  }
  absl::StatusOr<v1::GetInclusionProofResponse> proof =
      server.GetInclusionProof(id, n, theirs->tree_size);
  if (!proof.ok()) return Prefix(proof.status(), "inclusion proof: ");
  absl::StatusOr<std::vector<MerkleHash>> their_path = MerkleHashesFromBytes(proof->hashes());
  if (!their_path.ok()) return Prefix(their_path.status(), "inclusion proof: ");
  LeafClaim my_claim{held.checkpoint, n - 1, held.head_fingerprint, *std::move(my_path)};
  LeafClaim their_claim{proof->checkpoint(), n - 1, parsed->fingerprint,
                        *std::move(their_path)};
  absl::StatusOr<std::string> leaves = BuildLeavesEvidence(id, my_claim, their_claim);
  if (!leaves.ok()) return absl::NotFoundError(leaves.status().message());
  return leaves;
}

}  // namespace microledger
