// The owner agent's keystore (DESIGN §4): the owner Ed25519 keys, encrypted at
// rest, signing without ever handing out a secret.
//
// On disk a keystore is a directory, mode 0700:
//   LOCK            empty; an exclusive flock on it for the Keystore's lifetime
//   keystore.json   Argon2id parameters, a random 16-byte salt and a passphrase
//                   check (an XChaCha20-Poly1305 tag under the derived key)
//   keys/<hex of public key>.key
//                   public key, label, creation time and the 32-byte seed sealed
//                   with XChaCha20-Poly1305 (random 24-byte nonce; associated
//                   data: the canonical JSON of the file's public fields)
// Every file is written mode 0600 through a temporary file, fsync, rename and
// fsync of the directory. Files in keys/ not ending in ".key" (such as a
// temporary file left by a crash) are ignored.
//
// The key-encryption key is derived from the passphrase once, at Open, and kept
// in libsodium guarded memory (mlock'ed, wiped when the Keystore is destroyed);
// each seed is decrypted straight into a SigningKey (guarded memory) and its
// temporary copy wiped. No call returns secret material.
//
// One Keystore per directory: the flock is per open file description, so a
// second Open of the same directory fails whether it comes from another
// process or from this one. All methods are thread-safe.
#ifndef MICROLEDGER_OWNER_AGENT_KEYSTORE_H_
#define MICROLEDGER_OWNER_AGENT_KEYSTORE_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "common/ed25519.h"

namespace microledger {

inline constexpr char kPassphraseEnvVar[] = "ML_PASSPHRASE";
inline constexpr size_t kMaxPassphraseFileSize = 4096;
// LoadPassphrase's name for standard input.
inline constexpr char kPassphraseFromStdin[] = "-";
inline constexpr size_t kMaxKeyLabelSize = 256;

// libsodium's crypto_pwhash_argon2id_{OPS,MEM}LIMIT_INTERACTIVE.
inline constexpr uint64_t kDefaultArgon2idOpsLimit = 2;
inline constexpr size_t kDefaultArgon2idMemLimit = size_t{64} << 20;

struct KeystoreOptions {
  // Argon2id cost for a keystore that Open creates; an existing keystore keeps
  // the cost recorded in its keystore.json. Each must lie within libsodium's
  // crypto_pwhash_argon2id limits (tests use the minimums to stay fast).
  uint64_t argon2id_opslimit = kDefaultArgon2idOpsLimit;
  size_t argon2id_memlimit = kDefaultArgon2idMemLimit;
};

// The public half of a stored key.
struct KeyInfo {
  std::string public_key_text;  // "u" + base64url of the 32-byte public key.
  std::string label;
  int64_t created_unix_millis;
};

class Keystore {
 public:
  // Opens keystore directory `dir`, creating it (mode 0700; its parent must
  // exist) and its keystore.json when absent. Errors:
  //   InvalidArgument     empty `dir` or `passphrase`, options out of range;
  //   FailedPrecondition  "keystore <dir> is in use by another ml-owner process
  //                       (lock <dir>/LOCK)", `dir` accessible by group or
  //                       others, or a file system error;
  //   PermissionDenied    wrong passphrase (detected by the passphrase check
  //                       even when the keystore holds no key yet);
  //   DataLoss            a corrupt or altered file, named in the message.
  // The passphrase is not copied; callers should wipe it (sodium_memzero)
  // once Open returns.
  static absl::StatusOr<std::unique_ptr<Keystore>> Open(
      const std::string& dir, absl::string_view passphrase,
      const KeystoreOptions& options = KeystoreOptions());

  Keystore(const Keystore&) = delete;
  Keystore& operator=(const Keystore&) = delete;
  // Wipes the key-encryption key and every seed, then releases the lock.
  ~Keystore();

  const std::string& dir() const { return dir_; }

  // Generates a key labelled `label` (at most kMaxKeyLabelSize bytes of UTF-8
  // without control characters, may be empty), stores it durably and returns
  // its public key text.
  absl::StatusOr<std::string> CreateKey(absl::string_view label);

  // Every key's public half, sorted by public key text.
  std::vector<KeyInfo> ListKeys() const;

  bool HasKey(absl::string_view public_key_text) const;

  // "u" + base64url of the Ed25519 signature of `message` by the key whose
  // public key text is `public_key_text`; NotFound for a key not in the store.
  absl::StatusOr<std::string> SignText(absl::string_view public_key_text,
                                       absl::string_view message) const;

 private:
  // sodium_malloc memory, wiped and unmapped by sodium_free.
  using GuardedBytes = std::unique_ptr<unsigned char, void (*)(void*)>;

  struct StoredKey {
    KeyInfo info;
    SigningKey signing_key;
  };

  Keystore(std::string dir, int lock_fd);

  const std::string dir_;
  const std::string keys_dir_;
  const int lock_fd_;  // Holds the flock on dir_/LOCK.
  // Set once by Open before the Keystore is shared, read-only afterwards.
  GuardedBytes key_encryption_key_;

  mutable absl::Mutex mu_;
  std::map<std::string, StoredKey, std::less<>> keys_ ABSL_GUARDED_BY(mu_);
};

// Reads the passphrase: from `passphrase_file` when it is not empty, else from
// the ML_PASSPHRASE environment variable (taken verbatim). Never from argv.
// `passphrase_file` "-" is standard input. What is read depends on its type:
//   a regular file: the first line (its "\n" or "\r\n" stripped) of a file of
//     at most kMaxPassphraseFileSize bytes, refused (FailedPrecondition, not a
//     warning: a readable passphrase file undoes the encryption) when group or
//     others may access it;
//   a pipe or FIFO (`<(command)`, `command | ml-owner --passphrase_file=-`) or a
//     character device (/dev/stdin): read once, up to the first newline; no
//     permission check (its contents are gone once read, and who may write to
//     it is the caller's business);
//   a terminal: a prompt on stderr, then one line read with echo off.
// Anything else (a directory, a socket) is InvalidArgument, so is a first line
// that is empty or longer than kMaxPassphraseFileSize. Nothing read is ever
// logged or echoed. Callers should wipe the result (sodium_memzero) after use.
// SIGINT and SIGTERM are unblocked in the calling thread while a file is
// opened and read (their default action ends the program; a terminal gets its
// echo back first), so a stop request never waits for a pipe or a prompt.
absl::StatusOr<std::string> LoadPassphrase(const std::string& passphrase_file);

}  // namespace microledger

#endif  // MICROLEDGER_OWNER_AGENT_KEYSTORE_H_
