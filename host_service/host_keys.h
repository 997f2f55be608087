// Host key derivation (DESIGN §4): one 32-byte master secret, and per ledger a
// random nonce (the "ledger token"); the ledger's Ed25519 seed is
//   BLAKE2b-256 keyed with the master secret of
//   "microledger-ledger-key-v1" || nonce
// (libsodium crypto_generichash), so no per-ledger private key is stored.
//
// The master secret lives in libsodium guarded memory. It comes from the
// environment variable ML_HOST_MASTER_KEY (base64url, for Kubernetes secrets)
// or from a file of 32 raw bytes, mode 0600, created on first start if absent.
// MasterSecret is movable, not copyable; a const one may be shared by threads.
#ifndef MICROLEDGER_HOST_SERVICE_HOST_KEYS_H_
#define MICROLEDGER_HOST_SERVICE_HOST_KEYS_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/ed25519.h"

namespace microledger {

inline constexpr size_t kMasterSecretSize = 32;
inline constexpr size_t kLedgerNonceSize = 32;
inline constexpr absl::string_view kLedgerKeyContext = "microledger-ledger-key-v1";
inline constexpr char kMasterKeyEnvVar[] = "ML_HOST_MASTER_KEY";

class MasterSecret {
 public:
  static absl::StatusOr<MasterSecret> FromBytes(absl::string_view secret);
  static absl::StatusOr<MasterSecret> Generate();
  // ML_HOST_MASTER_KEY when set (base64url of 32 bytes), else the file at
  // `path` (created with 32 random bytes, mode 0600, when absent; an existing
  // file must be 32 bytes and not readable by group or others).
  static absl::StatusOr<MasterSecret> Load(const std::string& path);

  MasterSecret(MasterSecret&& other) noexcept;
  MasterSecret& operator=(MasterSecret&& other) noexcept;
  MasterSecret(const MasterSecret&) = delete;
  MasterSecret& operator=(const MasterSecret&) = delete;
  ~MasterSecret();

  // The ledger's signing key for `nonce` (kLedgerNonceSize bytes).
  absl::StatusOr<SigningKey> DeriveLedgerKey(absl::string_view nonce) const;

 private:
  explicit MasterSecret(unsigned char* secret) : secret_(secret) {}
  unsigned char* secret_;  // kMasterSecretSize bytes of sodium_malloc memory.
};

// kLedgerNonceSize random bytes.
std::string NewLedgerNonce();

}  // namespace microledger

#endif  // MICROLEDGER_HOST_SERVICE_HOST_KEYS_H_
