// Ed25519 keys and signatures through libsodium (SPEC §1, §5).
//
// Public keys travel as text ("u" + base64url of 32 bytes); verification is
// libsodium's crypto_sign_verify_detached, which rejects S >= L, non-canonical
// or small-order public keys and small-order R. A SigningKey keeps its secret in
// libsodium guarded memory (mlock'ed, guard pages, wiped when the key is
// destroyed) and never copies it elsewhere. SigningKey is movable, not copyable;
// a const SigningKey may be used from several threads at once.
#ifndef MICROLEDGER_COMMON_ED25519_H_
#define MICROLEDGER_COMMON_ED25519_H_

#include <cstdint>
#include <string>
#include "absl/strings/string_view.h"

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"

namespace microledger {

inline constexpr absl::string_view kEd25519Alg = "Ed25519";
inline constexpr size_t kEd25519PublicKeySize = 32;
inline constexpr size_t kEd25519SeedSize = 32;
inline constexpr size_t kEd25519SignatureSize = 64;

// Initialises libsodium once; safe to call from any thread, any number of times.
void EnsureSodiumInitialized();

// Decodes public key text to its 32 raw bytes (no curve check: SPEC §1 checks
// a key as a point only where a signature by it is verified).
absl::StatusOr<std::string> DecodePublicKeyText(absl::string_view text);
std::string EncodePublicKeyText(absl::string_view raw_public_key);

// True when `raw_signature` is a valid signature of `message` by `raw_public_key`.
bool VerifyEd25519(absl::string_view raw_public_key, absl::string_view message,
                   absl::string_view raw_signature);

// Verifies text-encoded key and signature; InvalidArgument for undecodable
// text, FailedPrecondition (naming `what`) for a signature that does not verify.
absl::Status VerifyEd25519Text(absl::string_view public_key_text,
                               absl::string_view message,
                               absl::string_view signature_text,
                               absl::string_view what);

class SigningKey {
 public:
  static absl::StatusOr<SigningKey> Generate();
  // From a 32-byte seed (RFC 8032 secret key).
  static absl::StatusOr<SigningKey> FromSeed(absl::Span<const uint8_t> seed);

  SigningKey(SigningKey&& other) noexcept;
  SigningKey& operator=(SigningKey&& other) noexcept;
  SigningKey(const SigningKey&) = delete;
  SigningKey& operator=(const SigningKey&) = delete;
  ~SigningKey();

  const std::string& public_key() const { return public_key_; }
  const std::string& public_key_text() const { return public_key_text_; }

  // Raw 64-byte signature of `message`.
  std::string Sign(absl::string_view message) const;
  // "u" + base64url of Sign(message).
  std::string SignText(absl::string_view message) const;

  // The 32-byte seed, a view into guarded memory valid while this key lives.
  // For persisting the key (encrypted); do not copy it to unguarded memory.
  absl::Span<const uint8_t> seed() const;

 private:
  explicit SigningKey(unsigned char* secret);

  unsigned char* secret_;  // crypto_sign_SECRETKEYBYTES in sodium_malloc memory.
  std::string public_key_;
  std::string public_key_text_;
};

}  // namespace microledger

#endif  // MICROLEDGER_COMMON_ED25519_H_
