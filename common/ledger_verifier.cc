#include "common/ledger_verifier.h"

#include <limits>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/checkpoint.h"
#include "common/encoding.h"
#include "common/error_text.h"

namespace microledger {
namespace {

absl::Status CheckpointBroke(absl::string_view detail) {
  return absl::FailedPreconditionError(absl::StrCat("checkpoint: ", detail));
}

absl::Status AttachmentBroke(absl::string_view detail) {
  return absl::FailedPreconditionError(absl::StrCat("attachment: ", detail));
}

absl::Status FingerprintBroke() {
  return absl::InvalidArgumentError(
      "fingerprint: is not the sha2-256 digest of the block body's JCS bytes");
}

}  // namespace

PreparedBlock::PreparedBlock(Block block, std::string leaf,
                             absl::Span<const RawSignature> raw_signatures)
    : block_(std::move(block)),
      leaf_(std::move(leaf)),
      math_(ComputeSignatureMath(block_, SignatureStage::kComplete,
                                 raw_signatures)) {}

absl::StatusOr<PreparedBlock> PreparedBlock::FromJson(Json value,
                                                      absl::string_view body_jcs) {
  BlockBinaries binaries;
  absl::StatusOr<Block> block = BlockFromJson(
      std::move(value), body_jcs, SignatureStage::kComplete, &binaries);
  if (!block.ok()) return block.status();
  return PreparedBlock(*std::move(block), std::move(binaries.leaf),
                       binaries.signatures);
}

absl::StatusOr<PreparedBlock> PreparedBlock::FromBlock(Block block) {
  std::string leaf = Sha256Multihash(CanonicalJson(BlockBodyJson(block)));
  if (EncodeMultibase(leaf) != block.fingerprint) return FingerprintBroke();
  return PreparedBlock(std::move(block), std::move(leaf), {});
}

std::string FailureRule(const absl::Status& status) {
  // The whole message (each input it quotes was bounded when it was made).
  return QuoteForError(status.message(), std::numeric_limits<size_t>::max());
}

LedgerVerifier::LedgerVerifier(std::string ledger_id)
    : state_(ChainState::Empty(ledger_id)) {}

absl::Status LedgerVerifier::Fail(uint64_t block_position, absl::Status status) {
  failure_ = VerifyFailure{block_position, FailureRule(status)};
  failure_status_ = status;
  return status;
}

absl::Status LedgerVerifier::AddBlock(const Block& block) {
  if (failure_.has_value()) return failure_status_;
  // A Block of unknown origin: this is its fingerprint check.
  std::string leaf = Sha256Multihash(CanonicalJson(BlockBodyJson(block)));
  if (EncodeMultibase(leaf) != block.fingerprint) {
    return Fail(block_count() + 1, FingerprintBroke());
  }
  return Append(block, leaf, /*math=*/nullptr);
}

absl::Status LedgerVerifier::AddPreparedBlock(const PreparedBlock& block) {
  if (failure_.has_value()) return failure_status_;
  return Append(block.block(), block.leaf(), &block.signature_math());
}

absl::Status LedgerVerifier::Append(const Block& block, const std::string& leaf,
                                    const SignatureMath* math) {
  const uint64_t position = block_count() + 1;
  absl::Status status =
      math == nullptr
          ? CheckNextBlock(state_, block, SignatureStage::kComplete,
                           BlockRuleOptions())
          : CheckNextBlockWithSignatureMath(state_, block,
                                            SignatureStage::kComplete,
                                            BlockRuleOptions(), *math);
  if (!status.ok()) return Fail(position, std::move(status));
  state_ = AdvanceChain(std::move(state_), block);
  tree_.AppendLeaf(leaf);
  if (block.seals.has_value()) seals_.insert(block.seals->begin(), block.seals->end());
  return absl::OkStatus();
}

void LedgerVerifier::RequireWitnesses(WitnessPolicy policy, absl::Time now) {
  witness_policy_ = std::move(policy);
  witness_time_ = now;
}

absl::Status LedgerVerifier::AddCheckpoint(absl::string_view signed_note) {
  if (failure_.has_value()) return failure_status_;
  absl::StatusOr<VerifiedCheckpointNote> note =
      VerifyCheckpointNote(signed_note, ledger_id());
  if (!note.ok()) return Fail(0, note.status());
  std::optional<WitnessCount> witnesses;
  if (witness_policy_.has_value()) {
    absl::StatusOr<WitnessCount> count = witness_policy_->Count(*note, witness_time_);
    if (!count.ok()) return Fail(0, count.status());
    witnesses = *count;
  }
  const Checkpoint* checkpoint = &note->checkpoint;
  if (checkpoint->tree_size == 0 || checkpoint->tree_size > block_count()) {
    return Fail(0, CheckpointBroke(absl::StrCat(
                       "tree size ", checkpoint->tree_size,
                       " is not from 1 to the ledger's ", block_count(),
                       " block(s)")));
  }
  absl::StatusOr<MerkleHash> root = MerkleRootAt(tree_, checkpoint->tree_size);
  if (!root.ok()) return Fail(0, root.status());
  if (*root != checkpoint->root_hash) {
    return Fail(0, CheckpointBroke(absl::StrCat(
                       "root hash is not the RFC 9162 root of the first ",
                       checkpoint->tree_size, " fingerprint(s)")));
  }
  if (witnesses.has_value() && !witnesses->witnessed()) {
    return Fail(0, CheckpointBroke(witnesses->Describe()));
  }
  ++checkpoints_added_;
  return absl::OkStatus();
}

absl::Status LedgerVerifier::CheckWitnessedCheckpointSeen() const {
  if (!witness_policy_.has_value() || checkpoints_added_ > 0) {
    return absl::OkStatus();
  }
  return CheckpointBroke(
      "none, and the witness policy needs a witnessed checkpoint");
}

absl::Status LedgerVerifier::AddAttachment(absl::string_view seal,
                                           absl::string_view data) {
  if (failure_.has_value()) return failure_status_;
  if (!seals_.contains(seal)) {
    return Fail(0, AttachmentBroke(absl::StrCat(
                       "seal \"", QuoteForError(seal),
                       "\" is not a seal of any block of the ledger")));
  }
  if (DigestText(data) != seal) {
    return Fail(0, AttachmentBroke(absl::StrCat(
                       "data does not match its seal ", QuoteForError(seal))));
  }
  return absl::OkStatus();
}

}  // namespace microledger
