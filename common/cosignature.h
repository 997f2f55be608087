// Witness cosignatures of ledger checkpoints (SPEC §12; C2SP tlog-cosignature
// cosignature/v1 with Ed25519): witness keys and their C2SP vkey text form,
// the witness's private key text, making and verifying one cosignature line,
// and a reader's witness policy (which witnesses it trusts, how many of them
// must have cosigned, how old a cosignature may be).
//
// A cosignature line, appended to a checkpoint's signature lines (§7), is
//
//   — <witness name> <base64 std(key id[4] || timestamp u64 BE[8] || sig[64])>\n
//
// where sig is an Ed25519 signature of
//
//   cosignature/v1\n
//   time <timestamp, decimal>\n
//   <the checkpoint's note text: origin, tree size, root hash lines>
//
// Every function and every const method is thread-safe; a WitnessPolicy and a
// WitnessSigner may be shared by threads once made.
#ifndef MICROLEDGER_COMMON_COSIGNATURE_H_
#define MICROLEDGER_COMMON_COSIGNATURE_H_

#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/checkpoint.h"
#include "common/ed25519.h"

namespace microledger {

// C2SP signature type of an Ed25519 cosignature/v1 key, hashed into its key id
// and leading the key bytes of its vkey.
inline constexpr char kCosignatureV1Type = 0x04;
inline constexpr size_t kCosignatureKeyIdSize = 4;
// The largest timestamp a witness signs and a verifier accepts (2^63 − 1).
inline constexpr uint64_t kMaxCosignatureTimestamp =
    static_cast<uint64_t>(std::numeric_limits<int64_t>::max());

// A witness key name (SPEC §12): a §7 key name that does not start with
// "jlinx:" (so that it can never be taken for a ledger's).
bool IsWitnessKeyName(absl::string_view name);

// The 4-byte key id: the first 4 bytes of SHA-256(name || 0x0A || 0x04 ||
// raw_public_key).
std::string WitnessKeyId(absl::string_view name, absl::string_view raw_public_key);

// A witness's public identity: what a reader trusts.
struct WitnessKey {
  std::string name;
  std::string public_key;  // 32 raw bytes.
  std::string key_id;      // WitnessKeyId(name, public_key), 4 raw bytes.
};

// A WitnessKey of `name` and a 32-byte `raw_public_key`. InvalidArgument for a
// name that is not a witness key name or a key of another length.
absl::StatusOr<WitnessKey> MakeWitnessKey(absl::string_view name,
                                          absl::string_view raw_public_key);

// The C2SP vkey text: name "+" 8 lowercase hex digits of the key id "+"
// canonical standard base64 of 0x04 || the 32-byte key.
std::string FormatWitnessVkey(const WitnessKey& key);

// Parses a vkey (split at the first two "+"): InvalidArgument for a bad name,
// a key id that is not 8 lowercase hex digits or not the key's, key bytes that
// are not canonical standard base64 of 0x04 and 32 bytes.
absl::StatusOr<WitnessKey> ParseWitnessVkey(absl::string_view vkey);

// The bytes a cosignature signs: "cosignature/v1\n", "time <timestamp>\n",
// then `note_text` (the checkpoint's three lines, each ending in "\n").
std::string CosignatureMessage(absl::string_view note_text, uint64_t timestamp);

// A witness: its name and signing key. Movable, not copyable (the key's secret
// stays in guarded memory).
class WitnessSigner {
 public:
  // InvalidArgument when `name` is not a witness key name.
  static absl::StatusOr<WitnessSigner> Create(absl::string_view name,
                                              SigningKey key);

  const WitnessKey& key() const { return key_; }
  const SigningKey& signing_key() const { return signing_key_; }

  // The cosignature line (ending in "\n") of the checkpoint whose note text is
  // `note_text`, at `timestamp` (POSIX seconds). InvalidArgument unless
  // 1 <= timestamp <= 2^63 − 1. The caller has verified the checkpoint.
  absl::StatusOr<std::string> Cosign(absl::string_view note_text,
                                     uint64_t timestamp) const;

 private:
  WitnessSigner(WitnessKey key, SigningKey signing_key)
      : key_(std::move(key)), signing_key_(std::move(signing_key)) {}

  WitnessKey key_;
  SigningKey signing_key_;
};

// The witness private key text, one line ending in "\n" (the form of Go's
// signed-note signer keys, with the cosignature type):
//
//   PRIVATE+KEY+<name>+<key id, 8 lowercase hex>+<base64 std(0x04 || seed[32])>
//
// It holds the secret: the caller wipes it (sodium_memzero) after use.
std::string FormatWitnessPrivateKey(const WitnessSigner& signer);

// Parses that text (one line, the final "\n" optional). InvalidArgument for
// any other form, a bad name, or a key id that is not the key's. The error
// never contains the secret.
absl::StatusOr<WitnessSigner> ParseWitnessPrivateKey(absl::string_view text);

// The parts of a cosignature line's payload.
struct Cosignature {
  std::string key_id;     // 4 bytes.
  uint64_t timestamp = 0;  // At most 2^63 − 1.
  std::string signature;  // 64 bytes, Ed25519.
};

// Splits a line's payload: InvalidArgument unless it is 4 + 8 + 64 bytes with
// a timestamp of at most 2^63 − 1. Checks no signature.
absl::StatusOr<Cosignature> ParseCosignature(const NoteSignatureLine& line);

// Verifies one cosignature line by `witness` on the checkpoint whose note text
// is `note_text`: the line's key name and key id are the witness's (the
// caller matched them), its payload is 4 + 8 + 64 bytes, its timestamp at
// most 2^63 − 1 and its signature valid. Returns the timestamp, or
// InvalidArgument saying what failed.
absl::StatusOr<uint64_t> VerifyCosignature(const NoteSignatureLine& line,
                                           absl::string_view note_text,
                                           const WitnessKey& witness);

// The same for a line as text, "— <name> <base64>\n" (as Cosign makes it and
// a witness answers it), which must carry `witness`'s name and key id.
absl::StatusOr<uint64_t> VerifyCosignatureLine(absl::string_view line,
                                               absl::string_view note_text,
                                               const WitnessKey& witness);

// How a checkpoint fared against a witness policy.
struct WitnessCount {
  // Distinct trusted witnesses with a valid line that counts (not too far in
  // the future, not too old).
  size_t counted = 0;
  // Distinct trusted witnesses with a valid line that does not count.
  size_t too_new = 0;
  size_t too_old = 0;
  size_t quorum = 0;

  bool witnessed() const { return counted >= quorum; }
  // "witnessed by 1 of 2 required witnesses" and, when some valid lines did
  // not count, why ("; 1 cosignature too old").
  std::string Describe() const;
};

// A reader's witness policy (SPEC §12). Immutable once made.
class WitnessPolicy {
 public:
  // InvalidArgument when `witnesses` is empty or two of them share a name or a
  // key, or unless 1 <= quorum <= witnesses.size(), or when `max_age` or
  // `clock_skew` is negative.
  static absl::StatusOr<WitnessPolicy> Create(
      std::vector<WitnessKey> witnesses, size_t quorum,
      std::optional<absl::Duration> max_age, absl::Duration clock_skew);

  // Counts the cosignatures on `note` (a checkpoint already verified by its
  // ledger key) at time `now`. Lines of keys it does not trust (another name,
  // or a trusted name with another key id) are ignored; a witness counts once
  // however many valid lines it has. InvalidArgument "checkpoint: …" when any
  // line of a trusted witness fails to verify: the note is rejected (§7).
  absl::StatusOr<WitnessCount> Count(const VerifiedCheckpointNote& note,
                                     absl::Time now) const;

  const std::vector<WitnessKey>& witnesses() const { return witnesses_; }
  size_t quorum() const { return quorum_; }

 private:
  WitnessPolicy(std::vector<WitnessKey> witnesses, size_t quorum,
                std::optional<absl::Duration> max_age, absl::Duration clock_skew)
      : witnesses_(std::move(witnesses)),
        quorum_(quorum),
        max_age_(max_age),
        clock_skew_(clock_skew) {}

  std::vector<WitnessKey> witnesses_;
  size_t quorum_;
  std::optional<absl::Duration> max_age_;
  absl::Duration clock_skew_;
};

}  // namespace microledger

#endif  // MICROLEDGER_COMMON_COSIGNATURE_H_
