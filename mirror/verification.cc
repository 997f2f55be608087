#include "mirror/verification.h"

#include <algorithm>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/ed25519.h"
#include "common/encoding.h"
#include "common/error_text.h"

namespace microledger {
namespace {

absl::Status AtBlock(uint64_t number, const absl::Status& status) {
  return absl::Status(status.code(), absl::StrCat("block ", number, ": ", status.message()));
}

bool IsPowerOfTwo(uint64_t n) { return n != 0 && (n & (n - 1)) == 0; }

int Log2(uint64_t n) {
  int level = 0;
  while (n > 1) {
    n >>= 1;
    ++level;
  }
  return level;
}

uint64_t LargestPowerOfTwoBelow(uint64_t n) {
  uint64_t k = 1;
  while (k << 1 < n) k <<= 1;
  return k;
}

// The leaf ranges [first, second) of the audit path of leaf m in the tree of
// leaves [lo, hi), lowest first (RFC 9162 §2.1.3.1).
void AuditPathRanges(uint64_t m, uint64_t lo, uint64_t hi,
                     std::vector<std::pair<uint64_t, uint64_t>>& out) {
  const uint64_t n = hi - lo;
  if (n <= 1) return;
  const uint64_t k = LargestPowerOfTwoBelow(n);
  if (m < k) {
    AuditPathRanges(m, lo, lo + k, out);
    out.emplace_back(lo + k, hi);
  } else {
    AuditPathRanges(m - k, lo + k, hi, out);
    out.emplace_back(lo, lo + k);
  }
}

// `note` (verified) cut to its text and its first signature line by the
// ledger key: other lines (witness cosignatures, or padding an upstream
// added) are not kept, so stored notes and evidence built from them stay
// small whatever an upstream sends.
absl::StatusOr<std::string> LedgerSignedNote(absl::string_view ledger_id,
                                             absl::string_view note) {
  const size_t blank = note.find("\n\n");
  absl::StatusOr<std::string> raw_key = PublicKeyTextFromLedgerId(ledger_id);
  if (blank == absl::string_view::npos || !raw_key.ok()) {
    return absl::InvalidArgumentError("checkpoint: not a signed note");
  }
  absl::StatusOr<std::string> key = DecodePublicKeyText(*raw_key);
  if (!key.ok()) return key.status();
  const std::string key_hash = SignedNoteKeyHash(ledger_id, *key);
  const std::string prefix = absl::StrCat("\u2014 ", ledger_id, " ");
  absl::string_view lines = note.substr(blank + 2);
  while (!lines.empty()) {
    const size_t end = lines.find('\n');
    const absl::string_view line = lines.substr(0, end);
    lines = end == absl::string_view::npos ? absl::string_view() : lines.substr(end + 1);
    if (!absl::StartsWith(line, prefix)) continue;
    absl::StatusOr<std::string> payload = DecodeBase64Std(line.substr(prefix.size()));
    if (payload.ok() && payload->size() > kSignedNoteKeyHashSize &&
        payload->substr(0, kSignedNoteKeyHashSize) == key_hash) {
      return absl::StrCat(note.substr(0, blank + 2), line, "\n");
    }
  }
  return absl::InvalidArgumentError("checkpoint: no signature line by the ledger key");
}

}  // namespace

absl::StatusOr<MerkleHash> BlockLeafHash(const Block& block) {
  absl::StatusOr<std::string> leaf = DecodeDigest(block.fingerprint);
  if (!leaf.ok()) return leaf.status();
  return HashMerkleLeaf(*leaf);
}

absl::StatusOr<VerifiedCheckpoint> VerifyCheckpointOf(absl::string_view ledger_id,
                                                      absl::string_view note,
                                                      uint64_t tree_size) {
  absl::StatusOr<Checkpoint> checkpoint = VerifyCheckpoint(note, ledger_id);
  if (!checkpoint.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("checkpoint: ", checkpoint.status().message()));
  }
  if (checkpoint->tree_size == 0 || (tree_size != 0 && checkpoint->tree_size != tree_size)) {
    return absl::InvalidArgumentError(absl::StrCat("checkpoint: tree size ",
                                                   checkpoint->tree_size, ", expected ",
                                                   tree_size == 0 ? 1 : tree_size));
  }
  VerifiedCheckpoint verified;
  absl::StatusOr<std::string> kept = LedgerSignedNote(ledger_id, note);
  if (!kept.ok()) return kept.status();
  verified.note = *std::move(kept);
  verified.tree_size = checkpoint->tree_size;
  verified.root = checkpoint->root_hash;
  return verified;
}

absl::StatusOr<VerifiedBlock> VerifyNextBlock(const ChainState& state,
                                              const MerkleFrontier& frontier,
                                              absl::string_view block_bytes,
                                              absl::string_view checkpoint_note) {
  const uint64_t number = state.head_number + 1;
  absl::StatusOr<Block> block = ParseBlock(block_bytes, SignatureStage::kComplete);
  if (!block.ok()) return AtBlock(number, block.status());
  if (block->number != number) {
    return AtBlock(number, absl::InvalidArgumentError(absl::StrCat(
                               "number: the upstream sent block ", block->number)));
  }
  if (absl::Status s =
          CheckNextBlock(state, *block, SignatureStage::kComplete, BlockRuleOptions());
      !s.ok()) {
    return AtBlock(number, s);
  }
  absl::StatusOr<MerkleHash> leaf = BlockLeafHash(*block);
  if (!leaf.ok()) return AtBlock(number, leaf.status());
  VerifiedBlock verified;
  verified.frontier = frontier;
  verified.nodes = verified.frontier.Append(*leaf);
  absl::StatusOr<VerifiedCheckpoint> checkpoint =
      VerifyCheckpointOf(state.ledger, checkpoint_note, number);
  if (!checkpoint.ok()) return AtBlock(number, checkpoint.status());
  if (checkpoint->root != verified.frontier.Root()) {
    return AtBlock(number, absl::InvalidArgumentError(
                               "checkpoint: its root is not the root of the blocks"));
  }
  verified.leaf_hash = *leaf;
  verified.bytes = std::string(block_bytes);
  verified.state = AdvanceChain(state, *block);
  verified.block = *std::move(block);
  verified.checkpoint = *std::move(checkpoint);
  return verified;
}

absl::StatusOr<Block> VerifyHostSignedBlock(absl::string_view ledger_id,
                                            absl::string_view block_bytes) {
  absl::StatusOr<Block> block = ParseBlock(block_bytes, SignatureStage::kComplete);
  if (!block.ok()) return block.status();
  if (block->ledger != ledger_id) {
    return AtBlock(block->number,
                   absl::InvalidArgumentError(absl::StrCat(
                       "ledger: the block belongs to ", QuoteForError(block->ledger))));
  }
  absl::StatusOr<std::string> host_key = PublicKeyTextFromLedgerId(ledger_id);
  if (!host_key.ok()) return host_key.status();
  const BlockSignature& host = block->signatures.back();
  if (host.role != kHostRole || host.key != *host_key) {
    return AtBlock(block->number, absl::InvalidArgumentError(
                                      "host signature: the last signature is not by "
                                      "the ledger key"));
  }
  if (absl::Status s = VerifyEd25519Text(host.key, BlockSignedMessage(block->fingerprint),
                                         host.sig, "host signature");
      !s.ok()) {
    return AtBlock(block->number, absl::InvalidArgumentError(s.message()));
  }
  return block;
}

absl::StatusOr<Block> VerifyIncludedBlock(absl::string_view ledger_id, uint64_t number,
                                          absl::string_view block_bytes,
                                          absl::Span<const MerkleHash> audit_path,
                                          const VerifiedCheckpoint& checkpoint) {
  absl::StatusOr<Block> block = VerifyHostSignedBlock(ledger_id, block_bytes);
  if (!block.ok()) return block.status();
  if (block->number != number || number > checkpoint.tree_size) {
    return AtBlock(number, absl::InvalidArgumentError(absl::StrCat(
                               "number: the upstream sent block ", block->number,
                               " for a tree of ", checkpoint.tree_size)));
  }
  absl::StatusOr<MerkleHash> leaf = BlockLeafHash(*block);
  if (!leaf.ok()) return AtBlock(number, leaf.status());
  if (absl::Status s = VerifyMerkleInclusion(*leaf, number - 1, checkpoint.tree_size,
                                             audit_path, checkpoint.root);
      !s.ok()) {
    return AtBlock(number, absl::InvalidArgumentError(absl::StrCat(
                               "inclusion: ", s.message())));
  }
  return block;
}

absl::StatusOr<MerkleFrontier> FrontierFromLastLeaf(const MerkleHash& last_leaf_hash,
                                                    absl::Span<const MerkleHash> audit_path,
                                                    const VerifiedCheckpoint& checkpoint) {
  const uint64_t size = checkpoint.tree_size;
  if (absl::Status s = VerifyMerkleInclusion(last_leaf_hash, size - 1, size, audit_path,
                                             checkpoint.root);
      !s.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("inclusion: ", s.message()));
  }
  // The path of the last leaf: first the left siblings inside the lowest
  // perfect subtree of the decomposition of `size` (2^b leaves, b its lowest
  // set bit), then the other perfect subtrees from the lowest up.
  int lowest_bit = 0;
  while (((size >> lowest_bit) & 1) == 0) ++lowest_bit;
  MerkleHash lowest = last_leaf_hash;
  size_t i = 0;
  for (; i < static_cast<size_t>(lowest_bit); ++i) {
    lowest = HashMerkleChildren(audit_path[i], lowest);
  }
  std::vector<MerkleHash> largest_first(audit_path.begin() + i, audit_path.end());
  std::reverse(largest_first.begin(), largest_first.end());
  largest_first.push_back(lowest);
  std::string serialized;
  serialized.push_back('\x01');
  for (int shift = 56; shift >= 0; shift -= 8) {
    serialized.push_back(static_cast<char>((size >> shift) & 0xff));
  }
  for (const MerkleHash& hash : largest_first) serialized += MerkleHashBytes(hash);
  absl::StatusOr<MerkleFrontier> frontier = MerkleFrontier::Deserialize(serialized);
  if (!frontier.ok()) return frontier.status();
  if (frontier->Root() != checkpoint.root) {
    return absl::InvalidArgumentError("inclusion: the frontier does not give the root");
  }
  return frontier;
}

std::vector<std::pair<MerkleNodeId, MerkleHash>> AuditPathNodes(
    uint64_t leaf_index, uint64_t tree_size, absl::Span<const MerkleHash> audit_path) {
  std::vector<std::pair<uint64_t, uint64_t>> ranges;
  if (leaf_index < tree_size) AuditPathRanges(leaf_index, 0, tree_size, ranges);
  std::vector<std::pair<MerkleNodeId, MerkleHash>> nodes;
  for (size_t i = 0; i < ranges.size() && i < audit_path.size(); ++i) {
    const uint64_t width = ranges[i].second - ranges[i].first;
    if (!IsPowerOfTwo(width) || ranges[i].first % width != 0) continue;
    nodes.push_back({MerkleNodeId{Log2(width), ranges[i].first / width}, audit_path[i]});
  }
  return nodes;
}

std::vector<std::pair<MerkleNodeId, MerkleHash>> ProofNodes(
    uint64_t leaf_index, uint64_t tree_size, const MerkleHash& leaf_hash,
    absl::Span<const MerkleHash> audit_path) {
  std::vector<std::pair<uint64_t, uint64_t>> ranges;
  if (leaf_index < tree_size) AuditPathRanges(leaf_index, 0, tree_size, ranges);
  std::vector<std::pair<MerkleNodeId, MerkleHash>> nodes;
  auto keep = [&nodes](uint64_t first, uint64_t end, const MerkleHash& hash) {
    const uint64_t width = end - first;
    if (IsPowerOfTwo(width) && first % width == 0) {
      nodes.push_back({MerkleNodeId{Log2(width), first / width}, hash});
    }
  };
  uint64_t first = leaf_index;
  uint64_t end = leaf_index + 1;
  MerkleHash hash = leaf_hash;
  keep(first, end, hash);
  for (size_t i = 0; i < ranges.size() && i < audit_path.size(); ++i) {
    keep(ranges[i].first, ranges[i].second, audit_path[i]);
    if (ranges[i].first < first) {
      hash = HashMerkleChildren(audit_path[i], hash);
      first = ranges[i].first;
    } else {
      hash = HashMerkleChildren(hash, audit_path[i]);
      end = ranges[i].second;
    }
    keep(first, end, hash);
  }
  return nodes;
}

}  // namespace microledger
