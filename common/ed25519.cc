#include "common/ed25519.h"

#include <sodium.h>

#include <utility>

#include "absl/strings/str_cat.h"
#include "common/encoding.h"
#include "common/error_text.h"

namespace microledger {
namespace {

absl::StatusOr<unsigned char*> AllocateSecret() {
  EnsureSodiumInitialized();
  auto* secret =
      static_cast<unsigned char*>(sodium_malloc(crypto_sign_SECRETKEYBYTES));
  if (secret == nullptr) {
    return absl::ResourceExhaustedError("cannot allocate guarded key memory");
  }
  return secret;
}

}  // namespace

void EnsureSodiumInitialized() {
  static const bool initialized = sodium_init() >= 0;
  if (!initialized) abort();
}

absl::StatusOr<std::string> DecodePublicKeyText(absl::string_view text) {
  absl::StatusOr<std::string> raw = DecodeMultibase(text);
  if (!raw.ok() || raw->size() != kEd25519PublicKeySize) {
    return absl::InvalidArgumentError(
        absl::StrCat("not an Ed25519 public key (\"u\" + base64url of 32 "
                     "bytes): \"",
                     QuoteForError(text), "\""));
  }
  return raw;
}

std::string EncodePublicKeyText(absl::string_view raw_public_key) {
  return EncodeMultibase(raw_public_key);
}

bool VerifyEd25519(absl::string_view raw_public_key, absl::string_view message,
                   absl::string_view raw_signature) {
  EnsureSodiumInitialized();
  if (raw_public_key.size() != crypto_sign_PUBLICKEYBYTES ||
      raw_signature.size() != crypto_sign_BYTES) {
    return false;
  }
  return crypto_sign_verify_detached(
             reinterpret_cast<const unsigned char*>(raw_signature.data()),
             reinterpret_cast<const unsigned char*>(message.data()),
             message.size(),
             reinterpret_cast<const unsigned char*>(raw_public_key.data())) ==
         0;
}

absl::Status VerifyEd25519Text(absl::string_view public_key_text,
                               absl::string_view message,
                               absl::string_view signature_text,
                               absl::string_view what) {
  absl::StatusOr<std::string> key = DecodePublicKeyText(public_key_text);
  if (!key.ok()) return key.status();
  absl::StatusOr<std::string> signature = DecodeMultibase(signature_text);
  if (!signature.ok() || signature->size() != kEd25519SignatureSize) {
    return absl::InvalidArgumentError(absl::StrCat(
        what, ": not an Ed25519 signature (\"u\" + base64url of 64 bytes)"));
  }
  if (!VerifyEd25519(*key, message, *signature)) {
    return absl::FailedPreconditionError(
        absl::StrCat(what, ": signature does not verify"));
  }
  return absl::OkStatus();
}

absl::StatusOr<SigningKey> SigningKey::Generate() {
  absl::StatusOr<unsigned char*> secret = AllocateSecret();
  if (!secret.ok()) return secret.status();
  unsigned char public_key[crypto_sign_PUBLICKEYBYTES];
  crypto_sign_keypair(public_key, *secret);
  return SigningKey(*secret);
}

absl::StatusOr<SigningKey> SigningKey::FromSeed(absl::Span<const uint8_t> seed) {
  if (seed.size() != kEd25519SeedSize) {
    return absl::InvalidArgumentError("an Ed25519 seed is 32 bytes");
  }
  absl::StatusOr<unsigned char*> secret = AllocateSecret();
  if (!secret.ok()) return secret.status();
  unsigned char public_key[crypto_sign_PUBLICKEYBYTES];
  crypto_sign_seed_keypair(public_key, *secret, seed.data());
  return SigningKey(*secret);
}

SigningKey::SigningKey(unsigned char* secret) : secret_(secret) {
  // libsodium's secret key is seed || public key.
  public_key_.assign(reinterpret_cast<const char*>(secret_) + kEd25519SeedSize,
                     kEd25519PublicKeySize);
  public_key_text_ = EncodePublicKeyText(public_key_);
  sodium_mprotect_readonly(secret_);
}

SigningKey::SigningKey(SigningKey&& other) noexcept
    : secret_(std::exchange(other.secret_, nullptr)),
      public_key_(std::move(other.public_key_)),
      public_key_text_(std::move(other.public_key_text_)) {}

SigningKey& SigningKey::operator=(SigningKey&& other) noexcept {
  if (this != &other) {
    if (secret_ != nullptr) sodium_free(secret_);
    secret_ = std::exchange(other.secret_, nullptr);
    public_key_ = std::move(other.public_key_);
    public_key_text_ = std::move(other.public_key_text_);
  }
  return *this;
}

SigningKey::~SigningKey() {
  if (secret_ != nullptr) sodium_free(secret_);  // Wipes before unmapping.
}

std::string SigningKey::Sign(absl::string_view message) const {
  std::string signature(crypto_sign_BYTES, '\0');
  crypto_sign_detached(reinterpret_cast<unsigned char*>(signature.data()),
                       nullptr,
                       reinterpret_cast<const unsigned char*>(message.data()),
                       message.size(), secret_);
  return signature;
}

std::string SigningKey::SignText(absl::string_view message) const {
  return EncodeMultibase(Sign(message));
}

absl::Span<const uint8_t> SigningKey::seed() const {
  return absl::Span<const uint8_t>(secret_, kEd25519SeedSize);
}

}  // namespace microledger
