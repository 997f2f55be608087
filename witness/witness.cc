#include "witness/witness.h"

#include <algorithm>
#include <optional>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/checkpoint.h"
#include "common/ed25519.h"
#include "common/encoding.h"
#include "common/evidence.h"
#include "common/merkle.h"
#include "serving/log.h"

namespace microledger {
namespace {

// "— " (U+2014 EM DASH, space) starts every signature line.
constexpr absl::string_view kSignatureLinePrefix = "\xE2\x80\x94 ";
// Signature lines a note may carry (SPEC §7: verifiers accept at least 16).
// Every line of the ledger key is verified, so this bounds the work one
// request can ask for.
constexpr size_t kMaxSignatureLines = 64;

// The number of lines after the first blank line of `note`.
size_t SignatureLineCount(absl::string_view note) {
  const size_t blank = note.find("\n\n");
  if (blank == absl::string_view::npos) return 0;
  const absl::string_view lines = note.substr(blank + 2);
  return static_cast<size_t>(std::count(lines.begin(), lines.end(), '\n'));
}

AddCheckpointAnswer Refuse(AddCheckpointOutcome outcome, std::string reason) {
  AddCheckpointAnswer answer;
  answer.outcome = outcome;
  answer.reason = std::move(reason);
  return answer;
}

// The first signature line of `note` by the ledger key (its name and key
// hash), as text ending in "\n"; empty if there is none.
std::string FirstLedgerKeyLine(const VerifiedCheckpointNote& note,
                               absl::string_view raw_ledger_key) {
  const absl::string_view ledger_id = note.checkpoint.origin;
  const std::string key_hash = SignedNoteKeyHash(ledger_id, raw_ledger_key);
  for (const NoteSignatureLine& line : note.signatures) {
    if (line.key_name == ledger_id &&
        absl::string_view(line.payload).substr(0, kSignedNoteKeyHashSize) == key_hash) {
      return absl::StrCat(kSignatureLinePrefix, line.key_name, " ",
                          EncodeBase64Std(line.payload), "\n");
    }
  }
  return "";
}

// Check 7 of a request whose old size is the stored size: why `checkpoint`
// is not consistent with `stored` (none: the empty tree), or empty if it is.
std::string InconsistencyOf(const AddCheckpointRequest& request, const Checkpoint& checkpoint,
                            const std::optional<CosignedCheckpoint>& stored) {
  if (checkpoint.tree_size == 0 && checkpoint.root_hash != EmptyMerkleRoot()) {
    return "a checkpoint of size 0 must have the empty tree's root";
  }
  if (request.old_size == 0 && !request.proof.empty()) return "old size 0 comes with no proof";
  if (request.old_size == checkpoint.tree_size) {
    const MerkleHash& old_root = stored.has_value() ? stored->root : EmptyMerkleRoot();
    if (!request.proof.empty() || checkpoint.root_hash != old_root) {
      return "same size as the checkpoint cosigned: the proof must be empty and the roots equal";
    }
    return "";
  }
  if (request.old_size == 0) return "";
  const absl::Status consistent = VerifyMerkleConsistency(
      request.old_size, checkpoint.tree_size, stored->root, checkpoint.root_hash, request.proof);
  if (!consistent.ok()) {
    return absl::StrCat("the consistency proof does not verify: ", consistent.message());
  }
  return "";
}

}  // namespace

int HttpStatusOf(AddCheckpointOutcome outcome) {
  switch (outcome) {
    case AddCheckpointOutcome::kCosigned:
      return 200;
    case AddCheckpointOutcome::kMalformed:
    case AddCheckpointOutcome::kOldAboveSize:
      return 400;
    case AddCheckpointOutcome::kBadSignature:
      return 403;
    case AddCheckpointOutcome::kUnknownOrigin:
      return 404;
    case AddCheckpointOutcome::kSizeConflict:
      return 409;
    case AddCheckpointOutcome::kFrozen:
    case AddCheckpointOutcome::kInconsistent:
      return 422;
    case AddCheckpointOutcome::kTooManyNewLedgers:
    case AddCheckpointOutcome::kTooManyRequests:
      return 429;
    case AddCheckpointOutcome::kInternal:
      return 500;
  }
  return 500;
}

Witness::Witness(std::unique_ptr<WitnessStore> store, CheckpointCosigner cosigner,
                 WitnessMetrics* metrics)
    : store_(std::move(store)), cosigner_(std::move(cosigner)), metrics_(metrics) {}

absl::Mutex& Witness::LedgerLock(absl::string_view origin_hash) {
  return ledger_locks_[static_cast<unsigned char>(origin_hash[0]) % kLockStripes];
}

absl::Status Witness::KeepEvidence(absl::string_view origin_hash, const std::string& evidence) {
  const std::string evidence_id = EvidenceId(evidence);
  absl::StatusOr<bool> added = store_->AddEvidence(origin_hash, evidence);
  if (!added.ok()) {
    Log(LogLevel::kError, "evidence_write_failed",
        "could not store equivocation evidence", {LogField("error", added.status().ToString())});
    return added.status();
  }
  if (*added) {
    if (metrics_ != nullptr) metrics_->ledgers_frozen.Increment();
    Log(LogLevel::kWarning, "equivocation",
        "a ledger key signed two checkpoints of one size with different roots; the ledger "
        "is frozen and never cosigned again",
        {LogField("evidence_id", evidence_id),
         LogField("kind", EvidenceKindName(EvidenceKind::kCheckpoints))});
  }
  return absl::OkStatus();
}

AddCheckpointAnswer Witness::AddCheckpoint(const AddCheckpointRequest& request,
                                           const std::function<bool()>& admit_new_ledger) {
  // 2. The origin (the note's first line) is a well-formed ledger id.
  const absl::string_view origin =
      absl::string_view(request.note).substr(0, request.note.find('\n'));
  absl::StatusOr<std::string> key_text = PublicKeyTextFromLedgerId(origin);
  absl::StatusOr<std::string> ledger_key =
      key_text.ok() ? DecodePublicKeyText(*key_text) : key_text.status();
  if (!ledger_key.ok()) {
    return Refuse(AddCheckpointOutcome::kUnknownOrigin, "the origin is not a ledger id");
  }
  // 3. A checkpoint with a valid line by the ledger key and no failing one.
  if (SignatureLineCount(request.note) > kMaxSignatureLines) {
    return Refuse(AddCheckpointOutcome::kBadSignature, "more than 64 signature lines");
  }
  absl::StatusOr<VerifiedCheckpointNote> note = VerifyCheckpointNote(request.note, origin);
  if (!note.ok()) {
    return Refuse(AddCheckpointOutcome::kBadSignature, std::string(note.status().message()));
  }
  const Checkpoint& checkpoint = note->checkpoint;
  const std::string ledger_key_line = FirstLedgerKeyLine(*note, *ledger_key);
  const std::string origin_hash = OriginHash(origin);

  absl::MutexLock lock(&LedgerLock(origin_hash));
  absl::StatusOr<WitnessLedgerState> state = store_->Read(origin_hash);
  if (!state.ok()) {
    Log(LogLevel::kError, "store_read_failed", "could not read a ledger's witness state",
        {LogField("error", state.status().ToString())});
    return Refuse(AddCheckpointOutcome::kInternal, "storage failed");
  }
  const std::optional<CosignedCheckpoint>& stored = state->checkpoint;
  const uint64_t stored_size = stored.has_value() ? stored->tree_size : 0;

  // Same size (at least 1), another root: evidence, whatever the answer.
  if (stored.has_value() && stored_size >= 1 && checkpoint.tree_size == stored_size &&
      checkpoint.root_hash != stored->root && state->frozen_evidence_id.empty()) {
    absl::StatusOr<std::string> evidence = BuildCheckpointsEvidence(
        origin, absl::StrCat(stored->note_text, "\n", stored->ledger_key_line),
        absl::StrCat(note->note_text, "\n", ledger_key_line));
    if (!evidence.ok() || !KeepEvidence(origin_hash, *evidence).ok()) {
      return Refuse(AddCheckpointOutcome::kInternal, "could not keep the evidence");
    }
  }

  // 4. Not frozen (as of before this request).
  if (!state->frozen_evidence_id.empty()) {
    AddCheckpointAnswer answer;
    answer.outcome = AddCheckpointOutcome::kFrozen;
    answer.evidence_id = state->frozen_evidence_id;
    return answer;
  }
  // 5. old <= size.
  if (request.old_size > checkpoint.tree_size) {
    return Refuse(AddCheckpointOutcome::kOldAboveSize,
                  "the old size is larger than the checkpoint's size");
  }
  // 6. old is the size of the latest checkpoint cosigned.
  if (request.old_size != stored_size) {
    AddCheckpointAnswer answer;
    answer.outcome = AddCheckpointOutcome::kSizeConflict;
    answer.latest_size = stored_size;
    return answer;
  }
  // 7. Consistency with the stored checkpoint.
  if (std::string failure = InconsistencyOf(request, checkpoint, stored); !failure.empty()) {
    return Refuse(AddCheckpointOutcome::kInconsistent, std::move(failure));
  }

  if (!stored.has_value() && admit_new_ledger && !admit_new_ledger()) {
    return Refuse(AddCheckpointOutcome::kTooManyNewLedgers,
                  "too many new ledgers from this client; try again later");
  }
  absl::StatusOr<std::string> cosignature = cosigner_(note->note_text);
  if (!cosignature.ok()) {
    Log(LogLevel::kError, "cosign_failed", "could not cosign a checkpoint",
        {LogField("error", cosignature.status().ToString())});
    return Refuse(AddCheckpointOutcome::kInternal, "signing failed");
  }
  CosignedCheckpoint cosigned;
  cosigned.tree_size = checkpoint.tree_size;
  cosigned.root = checkpoint.root_hash;
  cosigned.note_text = note->note_text;
  cosigned.ledger_key_line = ledger_key_line;
  cosigned.cosignature_line = *cosignature;
  if (absl::Status stored_now = store_->PutCheckpoint(origin_hash, cosigned); !stored_now.ok()) {
    Log(LogLevel::kError, "store_write_failed", "could not store a cosigned checkpoint",
        {LogField("error", stored_now.ToString())});
    return Refuse(AddCheckpointOutcome::kInternal, "storage failed");
  }
  if (metrics_ != nullptr) metrics_->cosignatures.Increment();
  AddCheckpointAnswer answer;
  answer.outcome = AddCheckpointOutcome::kCosigned;
  answer.cosignature_line = *std::move(cosignature);
  return answer;
}

absl::StatusOr<std::string> Witness::LatestCheckpoint(absl::string_view origin_hash) const {
  absl::StatusOr<WitnessLedgerState> state = store_->Read(origin_hash);
  if (!state.ok()) return state.status();
  if (!state->checkpoint.has_value()) {
    return absl::NotFoundError("the witness has cosigned no checkpoint of this ledger");
  }
  return state->checkpoint->SignedNote();
}

absl::StatusOr<std::vector<std::string>> Witness::Evidence(absl::string_view origin_hash) const {
  absl::StatusOr<std::vector<std::string>> evidence = store_->Evidence(origin_hash);
  if (!evidence.ok()) return evidence.status();
  if (evidence->empty()) return absl::NotFoundError("the witness holds no evidence of this ledger");
  return evidence;
}

}  // namespace microledger
