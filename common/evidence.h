// Equivocation evidence (SPEC §11): a JCS object proving that a ledger's host
// key signed two histories, checkable with nothing but the ledger id. This
// component builds the three kinds (`checkpoints`, `blocks`, `leaves`) from
// what a party saw, and validates any evidence bytes against every rule of
// §11 (canonical JCS, member set, the `a` < `b` byte order, the 64 KiB limit,
// the per-kind rules). A built object is always valid: the builders validate
// what they produce, and order `a` and `b` themselves.
//
// Thread-safe: all functions are pure.
#ifndef MICROLEDGER_COMMON_EVIDENCE_H_
#define MICROLEDGER_COMMON_EVIDENCE_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/merkle.h"

namespace microledger {

inline constexpr absl::string_view kEvidenceFormat = "microledger-equivocation-v1";
inline constexpr size_t kMaxEvidenceBytes = 65536;

enum class EvidenceKind { kCheckpoints, kBlocks, kLeaves };
// "checkpoints", "blocks" or "leaves".
absl::string_view EvidenceKindName(EvidenceKind kind);

// What a valid evidence object says.
struct EvidenceInfo {
  std::string ledger;  // The ledger id.
  EvidenceKind kind = EvidenceKind::kCheckpoints;
  std::string id;      // The evidence id: §1 digest ("u…") of the JCS bytes.
};

// Validates `bytes` as an evidence object (and evidence file: exactly the JCS
// bytes, no byte-order mark, no trailing newline). InvalidArgument naming the
// first broken rule otherwise; the message never quotes more than ~200 bytes
// of the input.
absl::StatusOr<EvidenceInfo> ValidateEvidence(absl::string_view bytes);

// One side of a `leaves` object: a checkpoint note, a leaf index in its tree,
// the leaf (a block fingerprint, "u…") and its RFC 9162 audit path.
struct LeafClaim {
  std::string checkpoint;
  uint64_t index = 0;
  std::string leaf;
  std::vector<MerkleHash> proof;
};

// The evidence object's JCS bytes. Each builder orders its two inputs as §11
// requires (so the argument order does not matter) and returns
// InvalidArgument if they do not prove equivocation of `ledger_id` (for
// example two equal checkpoints, or a block that does not verify).
absl::StatusOr<std::string> BuildCheckpointsEvidence(absl::string_view ledger_id,
                                                     absl::string_view checkpoint_1,
                                                     absl::string_view checkpoint_2);
// Complete blocks (JCS bytes with the host signature), same number, different
// fingerprints.
absl::StatusOr<std::string> BuildBlocksEvidence(absl::string_view ledger_id,
                                                absl::string_view block_1,
                                                absl::string_view block_2);
absl::StatusOr<std::string> BuildLeavesEvidence(absl::string_view ledger_id,
                                                const LeafClaim& claim_1,
                                                const LeafClaim& claim_2);

// The evidence id of `bytes` (no validation).
std::string EvidenceId(absl::string_view bytes);

}  // namespace microledger

#endif  // MICROLEDGER_COMMON_EVIDENCE_H_
