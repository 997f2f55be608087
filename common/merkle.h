// RFC 9162 §2.1 Merkle tree hashing and proofs (SPEC §7): SHA-256, leaf hash
// H(0x00 || data), node hash H(0x01 || left || right), empty root H("").
//
// Every value is computed from *perfect* subtrees only. Node (level, index) is
// the hash of leaves [index * 2^level, (index + 1) * 2^level); level 0 holds the
// leaf hashes. The hash of any other range is the right-to-left fold of its
// perfect decomposition, so a store that keeps perfect nodes can serve the root
// at any earlier size, and inclusion and consistency proofs, with O(log n) node
// reads. MerkleFrontier is the O(log n) state needed to append: the roots of the
// perfect subtrees that make up the tree, largest first (Trillian's "compact
// range").
//
// Proof generation follows RFC 9162 §2.1.3.1 (PATH) and §2.1.4.1 (PROOF and
// SUBPROOF); verification follows the §2.1.3.2 and §2.1.4.2 algorithms,
// including their checks that the proof is consumed exactly. Every failure is
// InvalidArgument, except that errors of a MerkleNodeReader are passed through.
//
// Thread-safety: the free functions are thread-safe (given a reader whose const
// methods are). MerkleFrontier and MemoryMerkleTree are not: concurrent const
// calls are safe, but a mutation needs exclusive access.
#ifndef MICROLEDGER_COMMON_MERKLE_H_
#define MICROLEDGER_COMMON_MERKLE_H_

#include <array>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"

namespace microledger {

using MerkleHash = std::array<uint8_t, 32>;

// H(0x00 || leaf_data).
MerkleHash HashMerkleLeaf(absl::string_view leaf_data);
// H(0x01 || left || right).
MerkleHash HashMerkleChildren(const MerkleHash& left, const MerkleHash& right);
// H(""), the root of the tree of size 0.
MerkleHash EmptyMerkleRoot();

// A hash as the 32 raw bytes that proofs carry on the wire, and back
// (InvalidArgument unless exactly 32 bytes).
std::string MerkleHashBytes(const MerkleHash& hash);
absl::StatusOr<MerkleHash> MerkleHashFromBytes(absl::string_view bytes);
// Every element of `hashes` (any range of byte strings, such as a proto's
// repeated bytes field) through MerkleHashFromBytes.
template <typename ByteStrings>
absl::StatusOr<std::vector<MerkleHash>> MerkleHashesFromBytes(const ByteStrings& hashes) {
  std::vector<MerkleHash> out;
  for (const auto& bytes : hashes) {
    absl::StatusOr<MerkleHash> hash = MerkleHashFromBytes(bytes);
    if (!hash.ok()) return hash.status();
    out.push_back(*hash);
  }
  return out;
}

// A perfect subtree: the hash of leaves [index * 2^level, (index + 1) * 2^level).
struct MerkleNodeId {
  int level;
  uint64_t index;

  friend bool operator==(const MerkleNodeId& a, const MerkleNodeId& b) {
    return a.level == b.level && a.index == b.index;
  }
  friend bool operator!=(const MerkleNodeId& a, const MerkleNodeId& b) {
    return !(a == b);
  }
};

// Source of stored perfect-subtree hashes. An implementation returns NotFound
// (or OutOfRange) for a node that is not complete yet.
class MerkleNodeReader {
 public:
  virtual ~MerkleNodeReader() = default;
  virtual absl::StatusOr<MerkleHash> ReadNode(int level,
                                              uint64_t index) const = 0;
};

// The roots of the perfect subtrees of a tree of size() leaves, one per set bit
// of size(), largest (leftmost) first. Append and Root cost O(log n) hashes.
class MerkleFrontier {
 public:
  // The empty tree.
  MerkleFrontier() = default;

  uint64_t size() const { return size_; }

  // Appends a leaf hash (see HashMerkleLeaf) and returns the perfect nodes that
  // the append completed, lowest first: the leaf itself at level 0, then each
  // parent that became complete. A store persists exactly these nodes.
  std::vector<std::pair<MerkleNodeId, MerkleHash>> Append(
      const MerkleHash& leaf_hash);

  // The RFC 9162 root of the current tree.
  MerkleHash Root() const;

  // Format version 1: the byte 0x01, the 8-byte big-endian size, then the
  // subtree hashes (32 bytes each), largest first. Stored by the host (in its
  // head records) and by the owner agent (in its registry records).
  std::string Serialize() const;
  // Inverse of Serialize. Also reads version 0, the unversioned form written
  // before versions existed (the same without the version byte; its first
  // byte, the size's top byte, is 0 for any tree below 2^56 leaves).
  // InvalidArgument for another version or a length that does not match the
  // size.
  static absl::StatusOr<MerkleFrontier> Deserialize(absl::string_view bytes);

 private:
  uint64_t size_ = 0;
  std::vector<MerkleHash> subtree_roots_;
};

// The nodes that MerkleRootAt, MerkleInclusionProof and MerkleConsistencyProof
// read for the same arguments, each once (none for arguments they reject), so
// that a store can fetch them in one batch and serve them from a
// MerkleNodeSet.
std::vector<MerkleNodeId> MerkleRootNodeIds(uint64_t size);
std::vector<MerkleNodeId> MerkleInclusionProofNodeIds(uint64_t leaf_index,
                                                      uint64_t tree_size);
std::vector<MerkleNodeId> MerkleConsistencyProofNodeIds(uint64_t old_size,
                                                        uint64_t new_size);

// The root of the first `size` leaves; O(log size) node reads.
absl::StatusOr<MerkleHash> MerkleRootAt(const MerkleNodeReader& nodes,
                                        uint64_t size);

// The audit path of leaf `leaf_index` in the tree of the first `tree_size`
// leaves, lowest sibling first; O(log tree_size) node reads.
absl::StatusOr<std::vector<MerkleHash>> MerkleInclusionProof(
    const MerkleNodeReader& nodes, uint64_t leaf_index, uint64_t tree_size);

// The consistency proof from size `old_size` to `new_size`, where
// 0 < old_size <= new_size (empty when the sizes are equal); O(log new_size)
// node reads.
absl::StatusOr<std::vector<MerkleHash>> MerkleConsistencyProof(
    const MerkleNodeReader& nodes, uint64_t old_size, uint64_t new_size);

// OK iff `proof` proves that `leaf_hash` is leaf `leaf_index` of the tree of
// size `tree_size` with root `root`.
absl::Status VerifyMerkleInclusion(const MerkleHash& leaf_hash,
                                   uint64_t leaf_index, uint64_t tree_size,
                                   absl::Span<const MerkleHash> proof,
                                   const MerkleHash& root);

// OK iff `proof` proves that the tree of size `old_size` and root `old_root` is
// a prefix of the tree of size `new_size` and root `new_root`. Requires
// 0 < old_size <= new_size; equal sizes need an empty proof and equal roots.
absl::Status VerifyMerkleConsistency(uint64_t old_size, uint64_t new_size,
                                     const MerkleHash& old_root,
                                     const MerkleHash& new_root,
                                     absl::Span<const MerkleHash> proof);

// A fixed set of nodes, such as those of one proof read in a batch; NotFound
// for any other node. Lookups are linear: meant for a few dozen nodes.
class MerkleNodeSet : public MerkleNodeReader {
 public:
  // Adds the node unless the set already holds it.
  void Add(const MerkleNodeId& id, const MerkleHash& hash);

  absl::StatusOr<MerkleHash> ReadNode(int level,
                                      uint64_t index) const override;

 private:
  std::vector<std::pair<MerkleNodeId, MerkleHash>> nodes_;
};

// Every perfect node in memory, one vector per level (about 64 bytes per leaf),
// for offline verification and tests. AppendLeaf is O(log n).
class MemoryMerkleTree : public MerkleNodeReader {
 public:
  // Appends a leaf given its data; the leaf hash is HashMerkleLeaf(leaf_data).
  void AppendLeaf(absl::string_view leaf_data);

  uint64_t size() const { return frontier_.size(); }
  // The current root, from the frontier: O(log n) hashes, no node reads.
  MerkleHash Root() const { return frontier_.Root(); }
  const MerkleFrontier& frontier() const { return frontier_; }

  // NotFound for a node that is not complete yet (or a negative level).
  absl::StatusOr<MerkleHash> ReadNode(int level,
                                      uint64_t index) const override;

 private:
  MerkleFrontier frontier_;
  std::vector<std::vector<MerkleHash>> levels_;
};

}  // namespace microledger

#endif  // MICROLEDGER_COMMON_MERKLE_H_
