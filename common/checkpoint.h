// Ledger checkpoints (SPEC §7): a C2SP tlog-checkpoint (origin, tree size, RFC
// 9162 root hash) signed as a C2SP signed-note by the ledger's host key.
//
// A signed checkpoint is, byte for byte:
//
//   <origin = ledger id>\n
//   <tree size, decimal>\n
//   <root hash, padded standard base64>\n
//   \n
//   — <key name = ledger id> <base64(key hash[4] || Ed25519 signature[64])>\n
//
// and possibly further signature lines (witness cosignatures). The signature
// covers the note text, the first three lines. v1 checkpoints have no extension
// lines. VerifyCheckpoint accepts exactly what SPEC §7 allows and rejects
// everything else with InvalidArgument naming the broken rule; it never repairs
// its input.
//
// All functions are thread-safe.
#ifndef MICROLEDGER_COMMON_CHECKPOINT_H_
#define MICROLEDGER_COMMON_CHECKPOINT_H_

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/ed25519.h"

namespace microledger {

// Size of a signed-note key hash, the first bytes of a signature line's payload.
inline constexpr size_t kSignedNoteKeyHashSize = 4;

struct Checkpoint {
  std::string origin;  // The ledger id.
  uint64_t tree_size = 0;
  std::array<uint8_t, 32> root_hash{};  // RFC 9162 root of the first tree_size leaves.
};

// The note text: origin, tree size and root hash lines, each ending in "\n".
std::string CheckpointNoteText(const Checkpoint& checkpoint);

// One well-formed signature line of a note.
struct NoteSignatureLine {
  std::string key_name;
  std::string payload;  // Key hash (4 bytes), then the signature (1 or more).
};

// A C2SP signed-note key name (SPEC §7): non-empty UTF-8 without '+', without
// a character below U+0020 and without a Unicode White_Space character.
bool IsValidNoteKeyName(absl::string_view name);

// Parses one signature line, "— <key name> <base64 std payload>" without its
// "\n", checking its form only (SPEC §7): the key name, canonical standard
// base64, a payload of at least 5 bytes. InvalidArgument otherwise.
absl::StatusOr<NoteSignatureLine> ParseNoteSignatureLine(absl::string_view line);

// The 4-byte C2SP signed-note key hash of an Ed25519 key: the first 4 bytes of
// SHA-256(key_name || 0x0A || 0x01 || raw_public_key).
std::string SignedNoteKeyHash(absl::string_view key_name,
                              absl::string_view raw_public_key);

// The signed note: the note text, a blank line and one signature line by
// `host_key` under the key name `checkpoint.origin`. The caller makes sure that
// the origin is the ledger id of `host_key`
// (LedgerIdFromPublicKeyText(host_key.public_key_text())); otherwise no
// verifier accepts the result.
std::string SignCheckpoint(const Checkpoint& checkpoint,
                           const SigningKey& host_key);

// Parses `signed_note` and verifies it as a checkpoint of ledger `ledger_id`
// (SPEC §7): origin equal to `ledger_id`, canonical tree size and root hash, no
// extension lines, well-formed signature lines, at least one by the ledger key
// (name `ledger_id`, key hash of the key inside `ledger_id`) and every one of
// those verifying. Signature lines of other keys are checked for form only and
// otherwise ignored.
//
// The tree size is not range-checked: a size of 0 parses, although a checkpoint
// that a verifier is given must have 1 <= size <= blocks (SPEC §8). The caller
// checks the size against the ledger and the root hash against its tree.
absl::StatusOr<Checkpoint> VerifyCheckpoint(absl::string_view signed_note,
                                            absl::string_view ledger_id);

// A checkpoint note that VerifyCheckpoint accepts, with what a verifier of
// other keys' lines (witness cosignatures, SPEC §12) needs.
struct VerifiedCheckpointNote {
  Checkpoint checkpoint;
  // The three lines the signatures cover, each ending in "\n".
  std::string note_text;
  // Every signature line in note order, the ledger key's included.
  std::vector<NoteSignatureLine> signatures;
};

// VerifyCheckpoint, also returning the note text and the signature lines.
absl::StatusOr<VerifiedCheckpointNote> VerifyCheckpointNote(
    absl::string_view signed_note, absl::string_view ledger_id);

}  // namespace microledger

#endif  // MICROLEDGER_COMMON_CHECKPOINT_H_
