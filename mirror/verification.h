// What the mirror checks before it stores anything it received from an
// upstream (a host or another mirror), as pure functions over the format
// library: nothing here does I/O or trusts the upstream.
//
//   VerifyNextBlock   a streamed block and the checkpoint of its tree size,
//                     against the chain state and Merkle frontier held: every
//                     SPEC §8 rule (bytes, fingerprint, chain, events,
//                     authority, owner and host signatures), the checkpoint's
//                     signature by the ledger key, and its root equal to the
//                     root of the held tree with this block appended.
//   VerifyCheckpointOf  a checkpoint note of a ledger and a given tree size.
//   VerifyHostSignedBlock  one block on its own, without its chain: bytes,
//                     fingerprint, and the host signature by the ledger key
//                     (what a tail or sparse mirror can check of a block
//                     whose predecessors it does not hold; the host signs
//                     only blocks that passed every rule).
//   VerifyIncludedBlock  such a block and its RFC 9162 audit path under a
//                     verified checkpoint root.
//   FrontierFromLastLeaf  the Merkle frontier of a tree of size n, derived
//                     from its last leaf and that leaf's audit path (so a tail
//                     mirror can extend a tree whose older leaves it never
//                     saw), checked against the root.
//   AuditPathNodes    which entries of an audit path are perfect subtrees,
//                     with their node ids (a mirror stores them as nodes).
//
// Thread-safe: pure functions.
#ifndef MICROLEDGER_MIRROR_VERIFICATION_H_
#define MICROLEDGER_MIRROR_VERIFICATION_H_

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "common/block.h"
#include "common/chain_validator.h"
#include "common/checkpoint.h"
#include "common/merkle.h"

namespace microledger {

struct VerifiedCheckpoint {
  std::string note;
  uint64_t tree_size = 0;
  MerkleHash root{};
};

// A checkpoint note of `ledger_id` (SPEC §7) for exactly `tree_size` leaves
// (any size when `tree_size` is 0, but at least 1). The verified note keeps
// only the note text and the ledger key's signature line: other lines
// (witness cosignatures, or padding) are dropped, so what a mirror stores and
// builds evidence from stays small whatever the upstream sends.
absl::StatusOr<VerifiedCheckpoint> VerifyCheckpointOf(absl::string_view ledger_id,
                                                      absl::string_view note,
                                                      uint64_t tree_size);

struct VerifiedBlock {
  std::string bytes;  // As received (canonical).
  Block block;
  MerkleHash leaf_hash{};
  // The chain state and frontier with the block appended, and the perfect
  // nodes the append completed (to store).
  ChainState state;
  MerkleFrontier frontier;
  std::vector<std::pair<MerkleNodeId, MerkleHash>> nodes;
  VerifiedCheckpoint checkpoint;
};

// `block_bytes` as block state.head_number + 1 of `state.ledger`, with
// `checkpoint_note` as the checkpoint of its tree size. Errors name the rule
// and the block number. Offline rules: block times are not compared with
// this machine's clock, and host limits do not apply.
absl::StatusOr<VerifiedBlock> VerifyNextBlock(const ChainState& state,
                                              const MerkleFrontier& frontier,
                                              absl::string_view block_bytes,
                                              absl::string_view checkpoint_note);

// A complete block of `ledger_id` on its own: canonical bytes, fingerprint,
// form, and exactly one host signature, last, by the ledger key, verifying.
absl::StatusOr<Block> VerifyHostSignedBlock(absl::string_view ledger_id,
                                            absl::string_view block_bytes);

// VerifyHostSignedBlock, plus: its number is `number` and `audit_path` proves
// its leaf at index number - 1 under `checkpoint` (whose size is >= number).
absl::StatusOr<Block> VerifyIncludedBlock(absl::string_view ledger_id, uint64_t number,
                                          absl::string_view block_bytes,
                                          absl::Span<const MerkleHash> audit_path,
                                          const VerifiedCheckpoint& checkpoint);

// The frontier of the tree of checkpoint.tree_size leaves, whose last leaf
// hash is `last_leaf_hash` and `audit_path` that leaf's audit path; fails
// unless they give checkpoint.root.
absl::StatusOr<MerkleFrontier> FrontierFromLastLeaf(const MerkleHash& last_leaf_hash,
                                                    absl::Span<const MerkleHash> audit_path,
                                                    const VerifiedCheckpoint& checkpoint);

// The perfect subtrees among the entries of the audit path of `leaf_index`
// in a tree of `tree_size` leaves (RFC 9162 order), with their ids; entries
// that are not perfect subtrees (the tree's right edge) are left out.
std::vector<std::pair<MerkleNodeId, MerkleHash>> AuditPathNodes(
    uint64_t leaf_index, uint64_t tree_size, absl::Span<const MerkleHash> audit_path);

// Every perfect subtree that the audit path of `leaf_index` (leaf hash
// `leaf_hash`) in a tree of `tree_size` leaves gives: the leaf, the perfect
// siblings, and the perfect nodes on the leaf's own path up to the root. The
// path must have been verified.
std::vector<std::pair<MerkleNodeId, MerkleHash>> ProofNodes(
    uint64_t leaf_index, uint64_t tree_size, const MerkleHash& leaf_hash,
    absl::Span<const MerkleHash> audit_path);

// The leaf hash of a block (SPEC §7: the raw multihash of its fingerprint).
absl::StatusOr<MerkleHash> BlockLeafHash(const Block& block);

}  // namespace microledger

#endif  // MICROLEDGER_MIRROR_VERIFICATION_H_
