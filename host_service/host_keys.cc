#include "host_service/host_keys.h"

#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>

#include "absl/strings/str_cat.h"
#include "common/encoding.h"
#include "serving/durable_file.h"

namespace microledger {
namespace {

absl::Status Errno(absl::string_view what, const std::string& path, int error = errno) {
  return absl::FailedPreconditionError(
      absl::StrCat("master key: ", what, " ", path, ": ", std::strerror(error)));
}

}  // namespace

absl::StatusOr<MasterSecret> MasterSecret::FromBytes(absl::string_view secret) {
  EnsureSodiumInitialized();
  if (secret.size() != kMasterSecretSize) {
    return absl::InvalidArgumentError(absl::StrCat(
        "master key: must be ", kMasterSecretSize, " bytes, got ", secret.size()));
  }
  auto* buffer = static_cast<unsigned char*>(sodium_malloc(kMasterSecretSize));
  if (buffer == nullptr) return absl::ResourceExhaustedError("master key: sodium_malloc");
  std::memcpy(buffer, secret.data(), kMasterSecretSize);
  sodium_mprotect_readonly(buffer);
  return MasterSecret(buffer);
}

absl::StatusOr<MasterSecret> MasterSecret::Generate() {
  EnsureSodiumInitialized();
  auto* buffer = static_cast<unsigned char*>(sodium_malloc(kMasterSecretSize));
  if (buffer == nullptr) return absl::ResourceExhaustedError("master key: sodium_malloc");
  randombytes_buf(buffer, kMasterSecretSize);
  sodium_mprotect_readonly(buffer);
  return MasterSecret(buffer);
}

absl::StatusOr<MasterSecret> MasterSecret::Load(const std::string& path) {
  EnsureSodiumInitialized();
  if (const char* env = std::getenv(kMasterKeyEnvVar); env != nullptr && *env != 0) {
    absl::StatusOr<std::string> bytes = DecodeBase64Url(env);
    if (!bytes.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(
          kMasterKeyEnvVar, " is not base64url: ", bytes.status().message()));
    }
    absl::StatusOr<MasterSecret> secret = FromBytes(*bytes);
    sodium_memzero(bytes->data(), bytes->size());
    return secret;
  }
  if (path.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("master key: set --master_key_file or ", kMasterKeyEnvVar));
  }
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0 && errno == ENOENT) {
    // First start: create the file with fresh random bytes.
    unsigned char fresh[kMasterSecretSize];
    randombytes_buf(fresh, sizeof fresh);
    // The key of every ledger derives from this secret: it is on disk, file
    // and directory entry, before any ledger can use it. A file that could
    // not be made durable is removed, so the next start creates it again.
    absl::Status written = WriteNewFile(
        path, absl::string_view(reinterpret_cast<const char*>(fresh), sizeof fresh));
    if (!written.ok()) {
      sodium_memzero(fresh, sizeof fresh);
      return absl::FailedPreconditionError(absl::StrCat("master key: ", written.message()));
    }
    absl::StatusOr<MasterSecret> secret =
        FromBytes(absl::string_view(reinterpret_cast<char*>(fresh), sizeof fresh));
    sodium_memzero(fresh, sizeof fresh);
    return secret;
  }
  if (fd < 0) return Errno("cannot open", path);
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    ::close(fd);
    return Errno("cannot stat", path);
  }
  if ((st.st_mode & 077) != 0) {
    ::close(fd);
    return absl::FailedPreconditionError(absl::StrCat(
        "master key: ", path, " is accessible by group or others; chmod 600 it"));
  }
  unsigned char bytes[kMasterSecretSize + 1];
  ssize_t n = ::read(fd, bytes, sizeof bytes);
  ::close(fd);
  if (n != static_cast<ssize_t>(kMasterSecretSize)) {
    sodium_memzero(bytes, sizeof bytes);
    return absl::FailedPreconditionError(absl::StrCat(
        "master key: ", path, " must hold exactly ", kMasterSecretSize, " bytes"));
  }
  absl::StatusOr<MasterSecret> secret =
      FromBytes(absl::string_view(reinterpret_cast<char*>(bytes), kMasterSecretSize));
  sodium_memzero(bytes, sizeof bytes);
  return secret;
}

MasterSecret::MasterSecret(MasterSecret&& other) noexcept : secret_(other.secret_) {
  other.secret_ = nullptr;
}

MasterSecret& MasterSecret::operator=(MasterSecret&& other) noexcept {
  if (this != &other) {
    if (secret_ != nullptr) sodium_free(secret_);
    secret_ = other.secret_;
    other.secret_ = nullptr;
  }
  return *this;
}

MasterSecret::~MasterSecret() {
  if (secret_ != nullptr) sodium_free(secret_);
}

absl::StatusOr<SigningKey> MasterSecret::DeriveLedgerKey(absl::string_view nonce) const {
  if (nonce.size() != kLedgerNonceSize) {
    return absl::InvalidArgumentError(absl::StrCat(
        "ledger token: must be ", kLedgerNonceSize, " bytes, got ", nonce.size()));
  }
  crypto_generichash_state state;
  crypto_generichash_init(&state, secret_, kMasterSecretSize, kEd25519SeedSize);
  crypto_generichash_update(
      &state, reinterpret_cast<const unsigned char*>(kLedgerKeyContext.data()),
      kLedgerKeyContext.size());
  crypto_generichash_update(&state, reinterpret_cast<const unsigned char*>(nonce.data()),
                            nonce.size());
  uint8_t seed[kEd25519SeedSize];
  crypto_generichash_final(&state, seed, sizeof seed);
  sodium_memzero(&state, sizeof state);
  absl::StatusOr<SigningKey> key = SigningKey::FromSeed(absl::MakeConstSpan(seed));
  sodium_memzero(seed, sizeof seed);
  return key;
}

std::string NewLedgerNonce() {
  EnsureSodiumInitialized();
  std::string nonce(kLedgerNonceSize, '\0');
  randombytes_buf(nonce.data(), nonce.size());
  return nonce;
}

}  // namespace microledger
