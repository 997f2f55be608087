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
// Blocks come in two ways. AddBlock takes a Block of any origin (hand-built
// too) and does all the work on the calling thread: it recomputes the
// fingerprint from the body, verifies the signatures and applies the chain
// rules. AddPreparedBlock takes a PreparedBlock, made ahead, on any thread,
// by PreparedBlock::FromJson or PreparedBlock::FromBlock, which do the work
// that does not depend on the chain (the fingerprint check, once, and the
// Ed25519 math); it then applies the chain rules only. Both give the same
// result for the same block; a verifier may mix them.
//
// With a witness policy (RequireWitnesses), every checkpoint must also be
// witnessed (SPEC §12): a note with a failing line of a trusted witness is
// rejected, one cosigned by fewer than the quorum fails with "checkpoint:
// witnessed by 1 of 2 required witnesses", and CheckWitnessedCheckpointSeen
// fails until one checkpoint has been added.
//
// Not thread-safe: one verifier is fed by one thread (const methods may be
// called concurrently with each other). PreparedBlock is a plain value.
#ifndef MICROLEDGER_COMMON_LEDGER_VERIFIER_H_
#define MICROLEDGER_COMMON_LEDGER_VERIFIER_H_

#include <cstdint>
#include <optional>
#include <string>

#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "common/block.h"
#include "absl/time/time.h"
#include "common/chain_validator.h"
#include "common/cosignature.h"
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

// A complete block (SignatureStage::kComplete) with the checks that need no
// chain done: its fingerprint equals the digest of its body (checked exactly
// once, by whichever factory made it) and the Ed25519 outcome of each of its
// signatures (ComputeSignatureMath). Only these factories make one, so a
// PreparedBlock's fingerprint has always been checked.
class PreparedBlock {
 public:
  // A block's JSON value (a bundle line's inner object, canonical form checked
  // by the caller) and the JCS of its body, BlockJcs(value).without:
  // BlockFromJson, whose fingerprint check is the only one. Errors are
  // BlockFromJson's.
  static absl::StatusOr<PreparedBlock> FromJson(Json value,
                                                absl::string_view body_jcs);
  // A Block of any origin: recomputes its fingerprint from its body, then does
  // the signature math. InvalidArgument "fingerprint: …" when they differ.
  static absl::StatusOr<PreparedBlock> FromBlock(Block block);

  const Block& block() const { return block_; }
  const SignatureMath& signature_math() const { return math_; }
  // The raw multihash of the fingerprint: the block's Merkle leaf.
  const std::string& leaf() const { return leaf_; }

 private:
  PreparedBlock(Block block, std::string leaf,
                absl::Span<const RawSignature> raw_signatures);

  Block block_;
  std::string leaf_;
  SignatureMath math_;
};

class LedgerVerifier {
 public:
  // A verifier of ledger `ledger_id` that has seen no block yet.
  explicit LedgerVerifier(std::string ledger_id);

  // Checks `block` as the next block of the ledger (position block_count()+1):
  // its fingerprint recomputed from its body, then every chain rule of
  // CheckNextBlock with both owner and host signatures, no host limits and no
  // clock. On success appends its fingerprint to the Merkle tree and records
  // its seals. `block` may come from anywhere (a hand-built block is checked
  // in full); for blocks from ParseBlock or BlockFromJson, PreparedBlock and
  // AddPreparedBlock avoid checking the fingerprint twice.
  absl::Status AddBlock(const Block& block);

  // The same result as AddBlock(block.block()), but the fingerprint and the
  // Ed25519 math are taken from `block` (prepared ahead, possibly on another
  // thread): only the chain rules (CheckNextBlockWithSignatureMath) run here.
  absl::Status AddPreparedBlock(const PreparedBlock& block);

  // From now on, checkpoints must be witnessed under `policy` at time `now`
  // (the cosignatures' age and the clock skew are judged against it).
  void RequireWitnesses(WitnessPolicy policy, absl::Time now);

  // Checks a signed checkpoint note (SPEC §7/§8): a valid note of this ledger
  // (VerifyCheckpoint) with no failing line of a trusted witness, a tree size
  // from 1 to block_count(), a root hash equal to the RFC 9162 root of the
  // first `size` fingerprints and, with a witness policy, a quorum of counted
  // cosignatures. Checkpoints may come in any order and may repeat. A failure
  // is at position 0.
  absl::Status AddCheckpoint(absl::string_view signed_note);

  // With a witness policy: InvalidArgument "checkpoint: none, ..." unless a
  // checkpoint has been added (and so witnessed); nothing is recorded, so the
  // caller decides when the ledger is complete. OK without a policy.
  absl::Status CheckWitnessedCheckpointSeen() const;

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
  // Applies the chain rules to the next block, whose leaf is `leaf`, with the
  // Ed25519 outcomes of `math` (computed here when null).
  absl::Status Append(const Block& block, const std::string& leaf,
                      const SignatureMath* math);
  // Records the first failure and returns `status`.
  absl::Status Fail(uint64_t block_position, absl::Status status);

  ChainState state_;
  MemoryMerkleTree tree_;
  absl::flat_hash_set<std::string> seals_;
  std::optional<WitnessPolicy> witness_policy_;
  absl::Time witness_time_;
  uint64_t checkpoints_added_ = 0;
  std::optional<VerifyFailure> failure_;
  absl::Status failure_status_;
};

}  // namespace microledger

#endif  // MICROLEDGER_COMMON_LEDGER_VERIFIER_H_
