// Authenticity verification of one ledger (SPEC §8.1) as a streaming state
// machine: blocks in chain order, then any number of checkpoints and
// attachments, each checked as it arrives. Used by the offline bundle verifier
// (bundle.h) and by the owner agent, which feeds what it reads from a host; it
// knows nothing of bundle text.
//
// A LedgerVerifier holds the O(1) chain state (chain_validator.h), the Merkle
// tree of the fingerprints (about 64 bytes per block) and the set of the
// ledger's seals; never the blocks themselves. The first failure is recorded
// with its position (SPEC §8: the block's position in the chain, 1-based, or 0
// for anything that is not a block) and the rule it broke; from then on the
// verifier stays failed and every Add* call returns that first failure.
//
// Not thread-safe: one verifier is fed by one thread (const methods may be
// called concurrently with each other).
#ifndef MICROLEDGER_COMMON_LEDGER_VERIFIER_H_
#define MICROLEDGER_COMMON_LEDGER_VERIFIER_H_

#include <cstdint>
#include <optional>
#include <string>

#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "common/block.h"
#include "common/chain_validator.h"
#include "common/merkle.h"

namespace microledger {

// Where verification failed and why.
struct VerifyFailure {
  // The failing block's position in the chain (1 for the genesis block),
  // whatever number it claims; 0 when the failure is not in a block (a
  // checkpoint, an attachment, a bundle's header or line order).
  uint64_t block_position = 0;
  // The rule's name and detail, "previous: is not the fingerprint of block 2":
  // the failing status's message on one line (see FailureRule).
  std::string rule;
};

// The message of a failing `status` as one line of valid UTF-8 text: control
// characters and bytes that are not UTF-8 are written as \xNN, so that text
// taken from the input cannot break a verdict line.
std::string FailureRule(const absl::Status& status);

class LedgerVerifier {
 public:
  // A verifier of ledger `ledger_id` that has seen no block yet.
  explicit LedgerVerifier(std::string ledger_id);

  // Checks `block` as the next block of the ledger (position block_count()+1):
  // its fingerprint recomputed from its body, then every chain rule of
  // CheckNextBlock with both owner and host signatures, no host limits and no
  // clock. On success appends its fingerprint to the Merkle tree and records
  // its seals. `block` is typically what ParseBlock or BlockFromJson returned.
  absl::Status AddBlock(const Block& block);

  // Checks a signed checkpoint note (SPEC §7/§8): a valid note of this ledger
  // (VerifyCheckpoint), a tree size from 1 to block_count(), and a root hash
  // equal to the RFC 9162 root of the first `size` fingerprints. Checkpoints may
  // come in any order and may repeat. A failure is at position 0.
  absl::Status AddCheckpoint(absl::string_view signed_note);

  // Checks an attachment (SPEC §6/§8): `seal` is a seal of one of the blocks
  // added so far and equals the digest of `data` (the raw bytes). The same
  // attachment may come more than once. A failure is at position 0.
  absl::Status AddAttachment(absl::string_view seal, absl::string_view data);

  const std::string& ledger_id() const { return state_.ledger; }
  // The number of blocks verified so far.
  uint64_t block_count() const { return tree_.size(); }
  // The chain state after the last verified block.
  const ChainState& state() const { return state_; }
  // The first failure, if any.
  std::optional<VerifyFailure> failure() const { return failure_; }

 private:
  // Records the first failure and returns `status`.
  absl::Status Fail(uint64_t block_position, absl::Status status);

  ChainState state_;
  MemoryMerkleTree tree_;
  absl::flat_hash_set<std::string> seals_;
  std::optional<VerifyFailure> failure_;
  absl::Status failure_status_;
};

}  // namespace microledger

#endif  // MICROLEDGER_COMMON_LEDGER_VERIFIER_H_
