#include "common/cosignature.h"

#include <sodium.h>

#include <algorithm>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/encoding.h"
#include "common/fixed_coding.h"

namespace microledger {
namespace {

constexpr absl::string_view kCosignatureHeader = "cosignature/v1\n";
constexpr absl::string_view kPrivateKeyPrefix = "PRIVATE+KEY+";
constexpr size_t kTimestampSize = 8;
constexpr size_t kCosignaturePayloadSize =
    kCosignatureKeyIdSize + kTimestampSize + kEd25519SignatureSize;
// Hex digits of a key id in text.
constexpr size_t kKeyIdHexSize = 2 * kCosignatureKeyIdSize;

absl::Status CosignatureError(absl::string_view rule) {
  return absl::InvalidArgumentError(rule);
}

bool IsLowercaseHex(absl::string_view text) {
  return std::all_of(text.begin(), text.end(), [](char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
  });
}

// A key's three text fields: name, key id hex and base64 of type || key
// material, split at the first two "+" (the last field may hold more "+").
struct KeyFields {
  absl::string_view name;
  absl::string_view key_id_hex;
  absl::string_view key_base64;
};

absl::StatusOr<KeyFields> SplitKeyFields(absl::string_view text) {
  std::vector<absl::string_view> fields =
      absl::StrSplit(text, absl::MaxSplits('+', 2));
  if (fields.size() != 3) {
    return CosignatureError("is not <name>+<key id>+<key>");
  }
  return KeyFields{fields[0], fields[1], fields[2]};
}

// The name and the key id of `fields` checked against `raw_public_key`.
absl::StatusOr<WitnessKey> CheckKeyFields(const KeyFields& fields,
                                          absl::string_view raw_public_key) {
  if (!IsWitnessKeyName(fields.name)) {
    return CosignatureError("name is not a witness key name");
  }
  if (fields.key_id_hex.size() != kKeyIdHexSize ||
      !IsLowercaseHex(fields.key_id_hex)) {
    return CosignatureError("key id is not 8 lowercase hex digits");
  }
  absl::StatusOr<WitnessKey> key = MakeWitnessKey(fields.name, raw_public_key);
  if (!key.ok()) return key.status();
  if (absl::HexStringToBytes(fields.key_id_hex) != key->key_id) {
    return CosignatureError("key id does not match the name and key");
  }
  return key;
}

}  // namespace

bool IsWitnessKeyName(absl::string_view name) {
  return IsValidNoteKeyName(name) && !absl::StartsWith(name, kLedgerIdPrefix);
}

std::string WitnessKeyId(absl::string_view name,
                         absl::string_view raw_public_key) {
  const std::string hashed = absl::StrCat(
      name, "\n", absl::string_view(&kCosignatureV1Type, 1), raw_public_key);
  return Sha256(hashed).substr(0, kCosignatureKeyIdSize);
}

absl::StatusOr<WitnessKey> MakeWitnessKey(absl::string_view name,
                                          absl::string_view raw_public_key) {
  if (!IsWitnessKeyName(name)) {
    return CosignatureError("name is not a witness key name");
  }
  if (raw_public_key.size() != kEd25519PublicKeySize) {
    return CosignatureError("key is not 32 bytes");
  }
  return WitnessKey{std::string(name), std::string(raw_public_key),
                    WitnessKeyId(name, raw_public_key)};
}

std::string FormatWitnessVkey(const WitnessKey& key) {
  return absl::StrCat(
      key.name, "+", absl::BytesToHexString(key.key_id), "+",
      EncodeBase64Std(absl::StrCat(absl::string_view(&kCosignatureV1Type, 1),
                                   key.public_key)));
}

absl::StatusOr<WitnessKey> ParseWitnessVkey(absl::string_view vkey) {
  absl::StatusOr<KeyFields> fields = SplitKeyFields(vkey);
  if (!fields.ok()) return fields.status();
  absl::StatusOr<std::string> typed_key = DecodeBase64Std(fields->key_base64);
  if (!typed_key.ok()) {
    return CosignatureError("key is not canonical standard base64");
  }
  if (typed_key->size() != 1 + kEd25519PublicKeySize ||
      (*typed_key)[0] != kCosignatureV1Type) {
    return CosignatureError(
        "key is not 0x04 and 32 bytes (an Ed25519 cosignature/v1 key)");
  }
  return CheckKeyFields(*fields, absl::string_view(*typed_key).substr(1));
}

std::string CosignatureMessage(absl::string_view note_text, uint64_t timestamp) {
  return absl::StrCat(kCosignatureHeader, "time ", timestamp, "\n", note_text);
}

absl::StatusOr<WitnessSigner> WitnessSigner::Create(absl::string_view name,
                                                    SigningKey key) {
  absl::StatusOr<WitnessKey> witness = MakeWitnessKey(name, key.public_key());
  if (!witness.ok()) return witness.status();
  return WitnessSigner(*std::move(witness), std::move(key));
}

absl::StatusOr<std::string> WitnessSigner::Cosign(absl::string_view note_text,
                                                  uint64_t timestamp) const {
  if (timestamp < 1 || timestamp > kMaxCosignatureTimestamp) {
    return CosignatureError("timestamp is not in 1..2^63-1");
  }
  std::string payload = key_.key_id;
  PutFixed64BE(payload, timestamp);
  payload += signing_key_.Sign(CosignatureMessage(note_text, timestamp));
  return absl::StrCat("\xE2\x80\x94 ", key_.name, " ", EncodeBase64Std(payload),
                      "\n");
}

std::string FormatWitnessPrivateKey(const WitnessSigner& signer) {
  const absl::Span<const uint8_t> seed = signer.signing_key().seed();
  std::string typed_seed(1, kCosignatureV1Type);
  typed_seed.append(reinterpret_cast<const char*>(seed.data()), seed.size());
  std::string text =
      absl::StrCat(kPrivateKeyPrefix, signer.key().name, "+",
                   absl::BytesToHexString(signer.key().key_id), "+",
                   EncodeBase64Std(typed_seed), "\n");
  sodium_memzero(typed_seed.data(), typed_seed.size());
  return text;
}

absl::StatusOr<WitnessSigner> ParseWitnessPrivateKey(absl::string_view text) {
  if (absl::EndsWith(text, "\n")) text.remove_suffix(1);
  if (!absl::StartsWith(text, kPrivateKeyPrefix)) {
    return CosignatureError(
        "witness key does not start with PRIVATE+KEY+");
  }
  text.remove_prefix(kPrivateKeyPrefix.size());
  absl::StatusOr<KeyFields> fields = SplitKeyFields(text);
  if (!fields.ok()) {
    return CosignatureError("witness key is not PRIVATE+KEY+<name>+<key id>+<key>");
  }
  absl::StatusOr<std::string> typed_seed = DecodeBase64Std(fields->key_base64);
  if (!typed_seed.ok()) {
    return CosignatureError("witness key is not canonical standard base64");
  }
  const bool well_formed = typed_seed->size() == 1 + kEd25519SeedSize &&
                           (*typed_seed)[0] == kCosignatureV1Type;
  absl::StatusOr<SigningKey> key =
      well_formed
          ? SigningKey::FromSeed(absl::Span<const uint8_t>(
                reinterpret_cast<const uint8_t*>(typed_seed->data()) + 1,
                kEd25519SeedSize))
          : absl::InvalidArgumentError(
                "witness key is not 0x04 and a 32-byte seed");
  sodium_memzero(typed_seed->data(), typed_seed->size());
  if (!key.ok()) return key.status();
  absl::StatusOr<WitnessKey> checked = CheckKeyFields(*fields, key->public_key());
  if (!checked.ok()) {
    return CosignatureError(
        absl::StrCat("witness key: ", checked.status().message()));
  }
  return WitnessSigner::Create(checked->name, *std::move(key));
}

absl::StatusOr<Cosignature> ParseCosignature(const NoteSignatureLine& line) {
  FixedReader reader(line.payload);
  Cosignature cosignature;
  absl::string_view key_id;
  absl::string_view signature;
  if (line.payload.size() != kCosignaturePayloadSize ||
      !reader.ReadBytes(kCosignatureKeyIdSize, &key_id) ||
      !reader.ReadFixed64BE(&cosignature.timestamp) ||
      !reader.ReadBytes(kEd25519SignatureSize, &signature)) {
    return CosignatureError(
        "cosignature is not 4 + 8 + 64 bytes (key id, timestamp, Ed25519)");
  }
  if (cosignature.timestamp > kMaxCosignatureTimestamp) {
    return CosignatureError("cosignature timestamp is above 2^63-1");
  }
  cosignature.key_id = std::string(key_id);
  cosignature.signature = std::string(signature);
  return cosignature;
}

absl::StatusOr<uint64_t> VerifyCosignature(const NoteSignatureLine& line,
                                           absl::string_view note_text,
                                           const WitnessKey& witness) {
  if (line.key_name != witness.name ||
      absl::string_view(line.payload).substr(0, kCosignatureKeyIdSize) !=
          witness.key_id) {
    return CosignatureError("line is not by this witness (name or key id)");
  }
  absl::StatusOr<Cosignature> cosignature = ParseCosignature(line);
  if (!cosignature.ok()) return cosignature.status();
  if (!VerifyEd25519(witness.public_key,
                     CosignatureMessage(note_text, cosignature->timestamp),
                     cosignature->signature)) {
    return CosignatureError("cosignature does not verify");
  }
  return cosignature->timestamp;
}

absl::StatusOr<uint64_t> VerifyCosignatureLine(absl::string_view line,
                                               absl::string_view note_text,
                                               const WitnessKey& witness) {
  if (!absl::EndsWith(line, "\n")) {
    return CosignatureError("line does not end with a newline");
  }
  line.remove_suffix(1);
  if (line.find('\n') != absl::string_view::npos) {
    return CosignatureError("is more than one line");
  }
  absl::StatusOr<NoteSignatureLine> parsed = ParseNoteSignatureLine(line);
  if (!parsed.ok()) {
    return CosignatureError(
        absl::StrCat("malformed signature line: ", parsed.status().message()));
  }
  return VerifyCosignature(*parsed, note_text, witness);
}

std::string WitnessCount::Describe() const {
  std::string text = absl::StrCat("witnessed by ", counted, " of ", quorum,
                                  " required witnesses");
  if (too_new > 0) {
    absl::StrAppend(&text, "; ", too_new, " cosignature",
                    too_new == 1 ? "" : "s", " too far in the future");
  }
  if (too_old > 0) {
    absl::StrAppend(&text, "; ", too_old, " cosignature",
                    too_old == 1 ? "" : "s", " too old");
  }
  return text;
}

absl::StatusOr<WitnessPolicy> WitnessPolicy::Create(
    std::vector<WitnessKey> witnesses, size_t quorum,
    std::optional<absl::Duration> max_age, absl::Duration clock_skew) {
  if (witnesses.empty()) {
    return CosignatureError("witness policy: no witnesses");
  }
  absl::flat_hash_set<std::string> names;
  absl::flat_hash_set<std::string> keys;
  for (const WitnessKey& witness : witnesses) {
    if (!names.insert(witness.name).second) {
      return CosignatureError(absl::StrCat(
          "witness policy: two witnesses are named ", witness.name));
    }
    if (!keys.insert(witness.public_key).second) {
      return CosignatureError("witness policy: two witnesses share a key");
    }
  }
  if (quorum < 1 || quorum > witnesses.size()) {
    return CosignatureError(
        absl::StrCat("witness policy: quorum ", quorum, " is not in 1..",
                     witnesses.size()));
  }
  if (max_age.has_value() && *max_age < absl::ZeroDuration()) {
    return CosignatureError("witness policy: maximum age is negative");
  }
  if (clock_skew < absl::ZeroDuration()) {
    return CosignatureError("witness policy: clock skew is negative");
  }
  return WitnessPolicy(std::move(witnesses), quorum, max_age, clock_skew);
}

absl::StatusOr<WitnessCount> WitnessPolicy::Count(
    const VerifiedCheckpointNote& note, absl::Time now) const {
  // Per witness (index into witnesses_): 0 none, else the best state seen.
  enum class Seen { kNone, kTooOld, kTooNew, kCounted };
  std::vector<Seen> seen(witnesses_.size(), Seen::kNone);
  for (const NoteSignatureLine& line : note.signatures) {
    const auto trusted = std::find_if(
        witnesses_.begin(), witnesses_.end(), [&line](const WitnessKey& key) {
          return key.name == line.key_name &&
                 absl::string_view(line.payload).substr(
                     0, kCosignatureKeyIdSize) == key.key_id;
        });
    if (trusted == witnesses_.end()) continue;
    absl::StatusOr<uint64_t> timestamp =
        VerifyCosignature(line, note.note_text, *trusted);
    if (!timestamp.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("checkpoint: witness ", trusted->name, ": ",
                       timestamp.status().message()));
    }
    const absl::Time signed_at =
        absl::FromUnixSeconds(static_cast<int64_t>(*timestamp));
    Seen state = Seen::kCounted;
    if (signed_at > now + clock_skew_) {
      state = Seen::kTooNew;
    } else if (max_age_.has_value() && signed_at < now - *max_age_) {
      state = Seen::kTooOld;
    }
    Seen& best = seen[static_cast<size_t>(trusted - witnesses_.begin())];
    best = std::max(best, state);
  }
  WitnessCount count;
  count.quorum = quorum_;
  for (Seen state : seen) {
    if (state == Seen::kCounted) ++count.counted;
    if (state == Seen::kTooNew) ++count.too_new;
    if (state == Seen::kTooOld) ++count.too_old;
  }
  return count;
}

}  // namespace microledger
