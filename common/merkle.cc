#include "common/merkle.h"

#include <sodium.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <optional>

#include "absl/numeric/bits.h"
#include "absl/strings/str_cat.h"
#include "common/fixed_coding.h"

namespace microledger {
namespace {

constexpr uint8_t kLeafPrefix = 0x00;
constexpr uint8_t kNodePrefix = 0x01;
constexpr size_t kFrontierSizeBytes = 8;
constexpr uint8_t kFrontierFormatV0 = 0x00;
constexpr uint8_t kFrontierFormatV1 = 0x01;

void EnsureSodiumInitialized() {
  static const bool initialized = sodium_init() >= 0;
  if (!initialized) abort();
}

// The largest power of two strictly less than n; requires n >= 2.
uint64_t LargestPowerOfTwoBelow(uint64_t n) {
  return uint64_t{1} << (absl::bit_width(n - 1) - 1);
}

// Leaves [begin, end) where begin is a multiple of the smallest power of two
// >= end - begin (true of every range in RFC 9162's recursion).
struct LeafRange {
  uint64_t begin;
  uint64_t end;
};

// The perfect decomposition of `range`, largest (leftmost) node first: one
// node per set bit of its width.
void AppendRangeNodeIds(const LeafRange& range,
                        std::vector<MerkleNodeId>& ids) {
  uint64_t offset = range.begin;
  for (uint64_t widths = range.end - range.begin; widths != 0;) {
    const int level = absl::bit_width(widths) - 1;
    ids.push_back(MerkleNodeId{level, offset >> level});
    offset += uint64_t{1} << level;
    widths &= ~(uint64_t{1} << level);
  }
}

// The hash of `range` (never empty): its perfect decomposition folded right
// to left, that is from the smallest node on.
absl::StatusOr<MerkleHash> RangeHash(const MerkleNodeReader& nodes,
                                     const LeafRange& range) {
  std::optional<MerkleHash> hash;
  uint64_t end = range.end;
  for (uint64_t widths = range.end - range.begin; widths != 0;) {
    const int level = absl::countr_zero(widths);
    end -= uint64_t{1} << level;
    absl::StatusOr<MerkleHash> node = nodes.ReadNode(level, end >> level);
    if (!node.ok()) return node.status();
    hash = hash.has_value() ? HashMerkleChildren(*node, *hash) : *node;
    widths &= widths - 1;
  }
  return *hash;
}

// PATH(m, D[n]) unrolled from the top: each step halves [begin, end) at the
// largest power of two and takes the half not holding the leaf. Lowest
// sibling first, as in the proof. Only the first right-hand sibling can be a
// non-perfect range, so the ranges hold O(log n) nodes in all.
std::vector<LeafRange> InclusionProofRanges(uint64_t leaf_index,
                                            uint64_t tree_size) {
  std::vector<LeafRange> ranges;
  uint64_t begin = 0;
  uint64_t end = tree_size;
  while (end - begin > 1) {
    const uint64_t middle = begin + LargestPowerOfTwoBelow(end - begin);
    if (leaf_index < middle) {
      ranges.push_back({middle, end});
      end = middle;
    } else {
      ranges.push_back({begin, middle});
      begin = middle;
    }
  }
  std::reverse(ranges.begin(), ranges.end());
  return ranges;
}

// SUBPROOF(m, D[n], b) unrolled from the top, as InclusionProofRanges;
// `old_tree_complete` is b. Requires 0 < old_size <= new_size.
std::vector<LeafRange> ConsistencyProofRanges(uint64_t old_size,
                                              uint64_t new_size) {
  std::vector<LeafRange> ranges;
  uint64_t begin = 0;
  uint64_t end = new_size;
  bool old_tree_complete = true;
  while (old_size != end) {
    const uint64_t middle = begin + LargestPowerOfTwoBelow(end - begin);
    if (old_size <= middle) {
      ranges.push_back({middle, end});
      end = middle;
    } else {
      ranges.push_back({begin, middle});
      begin = middle;
      old_tree_complete = false;
    }
  }
  if (!old_tree_complete) ranges.push_back({begin, end});
  std::reverse(ranges.begin(), ranges.end());
  return ranges;
}

absl::Status CheckInclusionArguments(uint64_t leaf_index, uint64_t tree_size) {
  if (leaf_index >= tree_size) {
    return absl::InvalidArgumentError(
        absl::StrCat("inclusion proof: leaf index ", leaf_index,
                     " is not below tree size ", tree_size));
  }
  return absl::OkStatus();
}

absl::Status CheckConsistencyArguments(uint64_t old_size, uint64_t new_size) {
  if (old_size == 0) {
    return absl::InvalidArgumentError(
        "consistency proof: old size 0 is not provable");
  }
  if (old_size > new_size) {
    return absl::InvalidArgumentError(
        absl::StrCat("consistency proof: old size ", old_size,
                     " exceeds new size ", new_size));
  }
  return absl::OkStatus();
}

std::vector<MerkleNodeId> RangesNodeIds(const std::vector<LeafRange>& ranges) {
  std::vector<MerkleNodeId> ids;
  for (const LeafRange& range : ranges) AppendRangeNodeIds(range, ids);
  return ids;
}

absl::StatusOr<std::vector<MerkleHash>> RangeHashes(
    const MerkleNodeReader& nodes, const std::vector<LeafRange>& ranges) {
  std::vector<MerkleHash> hashes;
  hashes.reserve(ranges.size());
  for (const LeafRange& range : ranges) {
    absl::StatusOr<MerkleHash> hash = RangeHash(nodes, range);
    if (!hash.ok()) return hash.status();
    hashes.push_back(*hash);
  }
  return hashes;
}

// Shifts fn and sn right together while fn is even and non-zero (the
// "right-shift equally until" steps of RFC 9162 §2.1.3.2 and §2.1.4.2).
void ShiftWhileEvenAndNonZero(uint64_t& fn, uint64_t& sn) {
  while (fn != 0 && (fn & 1) == 0) {
    fn >>= 1;
    sn >>= 1;
  }
}

}  // namespace

MerkleHash HashMerkleLeaf(absl::string_view leaf_data) {
  EnsureSodiumInitialized();
  crypto_hash_sha256_state state;
  crypto_hash_sha256_init(&state);
  crypto_hash_sha256_update(&state, &kLeafPrefix, 1);
  crypto_hash_sha256_update(
      &state, reinterpret_cast<const unsigned char*>(leaf_data.data()),
      leaf_data.size());
  MerkleHash hash;
  crypto_hash_sha256_final(&state, hash.data());
  return hash;
}

MerkleHash HashMerkleChildren(const MerkleHash& left, const MerkleHash& right) {
  EnsureSodiumInitialized();
  unsigned char input[1 + 2 * sizeof(MerkleHash)];
  input[0] = kNodePrefix;
  std::memcpy(input + 1, left.data(), left.size());
  std::memcpy(input + 1 + left.size(), right.data(), right.size());
  MerkleHash hash;
  crypto_hash_sha256(hash.data(), input, sizeof(input));
  return hash;
}

MerkleHash EmptyMerkleRoot() {
  EnsureSodiumInitialized();
  MerkleHash hash;
  crypto_hash_sha256(hash.data(), nullptr, 0);
  return hash;
}

std::string MerkleHashBytes(const MerkleHash& hash) {
  return std::string(reinterpret_cast<const char*>(hash.data()), hash.size());
}

absl::StatusOr<MerkleHash> MerkleHashFromBytes(absl::string_view bytes) {
  MerkleHash hash{};
  if (bytes.size() != hash.size()) {
    return absl::InvalidArgumentError(
        absl::StrCat("a Merkle hash is 32 bytes, not ", bytes.size()));
  }
  std::copy(bytes.begin(), bytes.end(), hash.begin());
  return hash;
}

std::vector<std::pair<MerkleNodeId, MerkleHash>> MerkleFrontier::Append(
    const MerkleHash& leaf_hash) {
  std::vector<std::pair<MerkleNodeId, MerkleHash>> completed;
  completed.push_back({MerkleNodeId{0, size_}, leaf_hash});
  MerkleHash hash = leaf_hash;
  // Each trailing one bit of size_ is a perfect subtree that the new node
  // completes into its parent.
  for (int level = 0; (size_ >> level) & 1; ++level) {
    hash = HashMerkleChildren(subtree_roots_.back(), hash);
    subtree_roots_.pop_back();
    completed.push_back({MerkleNodeId{level + 1, size_ >> (level + 1)}, hash});
  }
  subtree_roots_.push_back(hash);
  ++size_;
  return completed;
}

MerkleHash MerkleFrontier::Root() const {
  if (subtree_roots_.empty()) return EmptyMerkleRoot();
  MerkleHash hash = subtree_roots_.back();
  for (size_t i = subtree_roots_.size() - 1; i-- > 0;) {
    hash = HashMerkleChildren(subtree_roots_[i], hash);
  }
  return hash;
}

std::string MerkleFrontier::Serialize() const {
  std::string bytes;
  bytes.reserve(1 + kFrontierSizeBytes + subtree_roots_.size() * sizeof(MerkleHash));
  PutFixed8(bytes, kFrontierFormatV1);
  PutFixed64BE(bytes, size_);
  for (const MerkleHash& hash : subtree_roots_) {
    bytes.append(reinterpret_cast<const char*>(hash.data()), hash.size());
  }
  return bytes;
}

absl::StatusOr<MerkleFrontier> MerkleFrontier::Deserialize(
    absl::string_view bytes) {
  if (bytes.empty()) {
    return absl::InvalidArgumentError("Merkle frontier is empty");
  }
  // Version 0, the unversioned form, starts with the size's top byte, which
  // is zero for every tree below 2^56 leaves; version 1 starts with 0x01.
  const uint8_t version = static_cast<uint8_t>(bytes[0]);
  if (version != kFrontierFormatV0 && version != kFrontierFormatV1) {
    return absl::InvalidArgumentError(
        absl::StrCat("Merkle frontier has unknown format version ", static_cast<int>(version)));
  }
  FixedReader in(version == kFrontierFormatV0 ? bytes : bytes.substr(1));
  MerkleFrontier frontier;
  if (!in.ReadFixed64BE(&frontier.size_)) {
    return absl::InvalidArgumentError(
        absl::StrCat("Merkle frontier is ", bytes.size(),
                     " bytes, shorter than its version and 8-byte size"));
  }
  const size_t hash_count = absl::popcount(frontier.size_);
  absl::string_view hashes;
  if (in.remaining() != hash_count * sizeof(MerkleHash) ||
      !in.ReadBytes(in.remaining(), &hashes)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "Merkle frontier of size ", frontier.size_, " must hold ", hash_count,
        " hashes (", hash_count * sizeof(MerkleHash), " bytes), got ",
        in.remaining(), " bytes"));
  }
  frontier.subtree_roots_.resize(hash_count);
  for (size_t i = 0; i < hash_count; ++i) {
    std::memcpy(frontier.subtree_roots_[i].data(),
                hashes.data() + i * sizeof(MerkleHash), sizeof(MerkleHash));
  }
  return frontier;
}

std::vector<MerkleNodeId> MerkleRootNodeIds(uint64_t size) {
  std::vector<MerkleNodeId> ids;
  if (size > 0) AppendRangeNodeIds({0, size}, ids);
  return ids;
}

std::vector<MerkleNodeId> MerkleInclusionProofNodeIds(uint64_t leaf_index,
                                                      uint64_t tree_size) {
  if (!CheckInclusionArguments(leaf_index, tree_size).ok()) return {};
  return RangesNodeIds(InclusionProofRanges(leaf_index, tree_size));
}

std::vector<MerkleNodeId> MerkleConsistencyProofNodeIds(uint64_t old_size,
                                                        uint64_t new_size) {
  if (!CheckConsistencyArguments(old_size, new_size).ok()) return {};
  return RangesNodeIds(ConsistencyProofRanges(old_size, new_size));
}

absl::StatusOr<MerkleHash> MerkleRootAt(const MerkleNodeReader& nodes,
                                        uint64_t size) {
  if (size == 0) return EmptyMerkleRoot();
  return RangeHash(nodes, {0, size});
}

absl::StatusOr<std::vector<MerkleHash>> MerkleInclusionProof(
    const MerkleNodeReader& nodes, uint64_t leaf_index, uint64_t tree_size) {
  if (absl::Status s = CheckInclusionArguments(leaf_index, tree_size);
      !s.ok()) {
    return s;
  }
  return RangeHashes(nodes, InclusionProofRanges(leaf_index, tree_size));
}

absl::StatusOr<std::vector<MerkleHash>> MerkleConsistencyProof(
    const MerkleNodeReader& nodes, uint64_t old_size, uint64_t new_size) {
  if (absl::Status s = CheckConsistencyArguments(old_size, new_size); !s.ok()) {
    return s;
  }
  return RangeHashes(nodes, ConsistencyProofRanges(old_size, new_size));
}

absl::Status VerifyMerkleInclusion(const MerkleHash& leaf_hash,
                                   uint64_t leaf_index, uint64_t tree_size,
                                   absl::Span<const MerkleHash> proof,
                                   const MerkleHash& root) {
  if (absl::Status s = CheckInclusionArguments(leaf_index, tree_size);
      !s.ok()) {
    return s;
  }
  uint64_t fn = leaf_index;
  uint64_t sn = tree_size - 1;
  MerkleHash hash = leaf_hash;
  for (const MerkleHash& sibling : proof) {
    if (sn == 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("inclusion proof is too long for leaf ", leaf_index,
                       " in tree size ", tree_size));
    }
    if ((fn & 1) == 1 || fn == sn) {
      hash = HashMerkleChildren(sibling, hash);
      ShiftWhileEvenAndNonZero(fn, sn);
    } else {
      hash = HashMerkleChildren(hash, sibling);
    }
    fn >>= 1;
    sn >>= 1;
  }
  if (sn != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("inclusion proof is too short for leaf ", leaf_index,
                     " in tree size ", tree_size));
  }
  if (hash != root) {
    return absl::InvalidArgumentError("inclusion proof does not match root");
  }
  return absl::OkStatus();
}

absl::Status VerifyMerkleConsistency(uint64_t old_size, uint64_t new_size,
                                     const MerkleHash& old_root,
                                     const MerkleHash& new_root,
                                     absl::Span<const MerkleHash> proof) {
  if (absl::Status s = CheckConsistencyArguments(old_size, new_size); !s.ok()) {
    return s;
  }
  if (old_size == new_size) {
    if (!proof.empty()) {
      return absl::InvalidArgumentError(
          "consistency proof between equal sizes must be empty");
    }
    if (old_root != new_root) {
      return absl::InvalidArgumentError(
          "consistency proof: roots of equal sizes differ");
    }
    return absl::OkStatus();
  }
  if (proof.empty()) {
    return absl::InvalidArgumentError("consistency proof is empty");
  }
  // When old_size is a power of two the old root is itself the first node of
  // the path, and RFC 9162 prepends it instead of sending it.
  const bool old_size_is_power_of_two = absl::has_single_bit(old_size);
  MerkleHash old_hash = old_size_is_power_of_two ? old_root : proof[0];
  MerkleHash new_hash = old_hash;
  uint64_t fn = old_size - 1;
  uint64_t sn = new_size - 1;
  while ((fn & 1) == 1) {
    fn >>= 1;
    sn >>= 1;
  }
  for (size_t i = old_size_is_power_of_two ? 0 : 1; i < proof.size(); ++i) {
    if (sn == 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("consistency proof from ", old_size, " to ", new_size,
                       " is too long"));
    }
    if ((fn & 1) == 1 || fn == sn) {
      old_hash = HashMerkleChildren(proof[i], old_hash);
      new_hash = HashMerkleChildren(proof[i], new_hash);
      ShiftWhileEvenAndNonZero(fn, sn);
    } else {
      new_hash = HashMerkleChildren(new_hash, proof[i]);
    }
    fn >>= 1;
    sn >>= 1;
  }
  if (sn != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("consistency proof from ", old_size, " to ", new_size,
                     " is too short"));
  }
  if (old_hash != old_root) {
    return absl::InvalidArgumentError(
        "consistency proof does not match old root");
  }
  if (new_hash != new_root) {
    return absl::InvalidArgumentError(
        "consistency proof does not match new root");
  }
  return absl::OkStatus();
}

void MemoryMerkleTree::AppendLeaf(absl::string_view leaf_data) {
  for (const auto& [id, hash] : frontier_.Append(HashMerkleLeaf(leaf_data))) {
    if (levels_.size() <= static_cast<size_t>(id.level)) levels_.emplace_back();
    levels_[id.level].push_back(hash);
  }
}

absl::StatusOr<MerkleHash> MemoryMerkleTree::ReadNode(int level,
                                                      uint64_t index) const {
  if (level < 0 || static_cast<size_t>(level) >= levels_.size() ||
      index >= levels_[level].size()) {
    return absl::NotFoundError(absl::StrCat("Merkle node (", level, ", ", index,
                                            ") is not in a tree of size ",
                                            size()));
  }
  return levels_[level][index];
}

void MerkleNodeSet::Add(const MerkleNodeId& id, const MerkleHash& hash) {
  for (const auto& node : nodes_) {
    if (node.first == id) return;
  }
  nodes_.emplace_back(id, hash);
}

absl::StatusOr<MerkleHash> MerkleNodeSet::ReadNode(int level,
                                                   uint64_t index) const {
  for (const auto& [id, hash] : nodes_) {
    if (id.level == level && id.index == index) return hash;
  }
  return absl::NotFoundError(absl::StrCat("Merkle node (", level, ", ", index,
                                          ") is not in the node set"));
}

}  // namespace microledger
