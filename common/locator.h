// Locator records and DHT values (SPEC §13): where a ledger is served,
// published in OpenDHT so that only someone who knows the ledger id can find
// or read them. This component derives the DHT key and the record key from a
// ledger key, encrypts and decrypts value data (XChaCha20-Poly1305, libsodium),
// builds and signs locator records, and applies every rule a reader applies to
// the values found under a DHT key: it drops what does not decrypt, is not
// JCS, is not valid evidence of this ledger, or is a locator that breaks a
// rule; keeps the newest record per signer and every valid evidence object;
// and orders the URLs to try. Nothing here does I/O.
//
// Thread-safe: pure functions (EncryptValueData draws a random nonce).
#ifndef MICROLEDGER_COMMON_LOCATOR_H_
#define MICROLEDGER_COMMON_LOCATOR_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/ed25519.h"

namespace microledger {

inline constexpr absl::string_view kLocatorFormat = "microledger-locator-v1";
inline constexpr size_t kMaxValueDataBytes = 4096;
// How long OpenDHT keeps a value, and how often a writer re-puts it (SPEC §13).
inline constexpr int64_t kDhtValueLifetimeMillis = 10 * 60 * 1000;
inline constexpr int64_t kDhtRefreshMillis = 5 * 60 * 1000;
inline constexpr int64_t kMaxLocatorLifetimeMillis = 48LL * 3600 * 1000;
inline constexpr int64_t kLocatorClockSkewMillis = 300 * 1000;

// The 20-byte DHT key of a ledger, as 40 lowercase hex characters (an
// OpenDHT InfoHash). InvalidArgument for a text that is not a ledger id.
absl::StatusOr<std::string> DhtKeyHex(absl::string_view ledger_id);

// Value data (SPEC §13: "MLD1" ‖ nonce ‖ ciphertext ‖ tag) of `plaintext` for
// the ledger, with a fresh random nonce. InvalidArgument if the value data
// would be longer than kMaxValueDataBytes.
absl::StatusOr<std::string> EncryptValueData(absl::string_view ledger_id,
                                             absl::string_view plaintext);
// The plaintext of value data found under the ledger's DHT key;
// InvalidArgument if it is too long or does not decrypt.
absl::StatusOr<std::string> DecryptValueData(absl::string_view ledger_id,
                                             absl::string_view value_data);
// The OpenDHT value id of value data: the first 8 bytes of its SHA-256 as a
// big-endian integer, 1 if that is 0.
uint64_t DhtValueId(absl::string_view value_data);

enum class LocatorRole { kHost, kMirror };

struct LocatorRecord {
  std::string ledger;  // The ledger id.
  LocatorRole role = LocatorRole::kHost;
  std::string key;     // The signer's public key text.
  int64_t seq = 0;     // Milliseconds since 1970.
  std::string expires; // A SPEC §1 time.
  std::vector<std::string> urls;
};

// The JCS plaintext of the record, signed by `signer` (the ledger key for a
// host record, the mirror's own key for a mirror record; `record.key` is set
// from it). InvalidArgument if the record breaks a rule of SPEC §13 (URLs,
// seq, expires, role and key).
absl::StatusOr<std::string> SignLocatorRecord(LocatorRecord record, const SigningKey& signer);

// What a reader makes of the values found under a ledger's DHT key.
struct ResolvedLedger {
  // Records kept (the newest per signer), in the order their URLs are tried.
  std::vector<LocatorRecord> records;
  // The URLs to try, in order, each once.
  std::vector<std::string> urls;
  // Valid SPEC §11 evidence objects of this ledger (JCS bytes), deduplicated.
  std::vector<std::string> evidence;
  // Values dropped, and why (for diagnostics; never logged with the ledger id).
  std::vector<std::string> dropped;
};

// Applies SPEC §13's reader rules to `values` (value data as found) at
// `now_millis`.
ResolvedLedger ResolveLocatorValues(absl::string_view ledger_id,
                                    const std::vector<std::string>& values,
                                    int64_t now_millis);

// The plaintext rules alone, for one decrypted locator plaintext (JCS of the
// object): OK with the record, or InvalidArgument naming the broken rule.
absl::StatusOr<LocatorRecord> VerifyLocatorPlaintext(absl::string_view ledger_id,
                                                     absl::string_view plaintext,
                                                     int64_t now_millis);

}  // namespace microledger

#endif  // MICROLEDGER_COMMON_LOCATOR_H_
