#include "owner_agent/keystore.h"

#include <dirent.h>
#include <fcntl.h>
#include <sodium.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <pthread.h>
#include <termios.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string_view>
#include <utility>

#include "absl/memory/memory.h"
#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/encoding.h"
#include "common/json.h"
#include "common/timestamp.h"
#include "common/utf8.h"
#include "owner_agent/keystore_files.h"
#include "serving/whole_file.h"

namespace microledger {
namespace {

constexpr absl::string_view kHeaderFileName = "keystore.json";
constexpr absl::string_view kKeysDirName = "keys";
constexpr absl::string_view kKeyFileSuffix = ".key";

constexpr absl::string_view kHeaderFormat = "microledger-keystore-v1";
constexpr absl::string_view kKeyFileFormat = "microledger-owner-key-v1";
constexpr absl::string_view kKdfName = "argon2id13";
// Associated data of the passphrase check, an AEAD tag over no plaintext.
constexpr absl::string_view kPassphraseCheckContext =
    "microledger-keystore-passphrase-check-v1";

constexpr size_t kSaltSize = crypto_pwhash_SALTBYTES;
constexpr size_t kKeyEncryptionKeySize = crypto_aead_xchacha20poly1305_ietf_KEYBYTES;
constexpr size_t kNonceSize = crypto_aead_xchacha20poly1305_ietf_NPUBBYTES;
constexpr size_t kTagSize = crypto_aead_xchacha20poly1305_ietf_ABYTES;
constexpr size_t kSealedSeedSize = kEd25519SeedSize + kTagSize;

static_assert(kDefaultArgon2idOpsLimit == crypto_pwhash_argon2id_OPSLIMIT_INTERACTIVE);
static_assert(kDefaultArgon2idMemLimit == crypto_pwhash_argon2id_MEMLIMIT_INTERACTIVE);

using GuardedBytes = std::unique_ptr<unsigned char, void (*)(void*)>;

const unsigned char* Bytes(absl::string_view data) {
  return reinterpret_cast<const unsigned char*>(data.data());
}

bool IsWellFormedUtf8(absl::string_view text) {
  size_t pos = 0;
  uint32_t code_point;
  while (pos < text.size()) {
    if (!DecodeUtf8(text, &pos, &code_point)) return false;
  }
  return true;
}

absl::Status ValidateLabel(absl::string_view label) {
  if (label.size() > kMaxKeyLabelSize) {
    return absl::InvalidArgumentError(absl::StrCat(
        "key label: at most ", kMaxKeyLabelSize, " bytes, got ", label.size()));
  }
  if (!IsWellFormedUtf8(label)) {
    return absl::InvalidArgumentError("key label: not well-formed UTF-8");
  }
  for (const char c : label) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7F) {
      return absl::InvalidArgumentError("key label: control characters not allowed");
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateKdfLimits(uint64_t opslimit, uint64_t memlimit) {
  if (opslimit < crypto_pwhash_argon2id_OPSLIMIT_MIN ||
      opslimit > crypto_pwhash_argon2id_OPSLIMIT_MAX ||
      memlimit < crypto_pwhash_argon2id_MEMLIMIT_MIN ||
      memlimit > crypto_pwhash_argon2id_MEMLIMIT_MAX) {
    return absl::InvalidArgumentError(absl::StrCat(
        "Argon2id limits out of range: opslimit ", opslimit, " (",
        crypto_pwhash_argon2id_OPSLIMIT_MIN, "..", crypto_pwhash_argon2id_OPSLIMIT_MAX,
        "), memlimit ", memlimit, " (", crypto_pwhash_argon2id_MEMLIMIT_MIN, "..",
        crypto_pwhash_argon2id_MEMLIMIT_MAX, ")"));
  }
  return absl::OkStatus();
}

absl::StatusOr<GuardedBytes> DeriveKeyEncryptionKey(absl::string_view passphrase,
                                                    absl::string_view salt,
                                                    uint64_t opslimit, size_t memlimit) {
  GuardedBytes key(static_cast<unsigned char*>(sodium_malloc(kKeyEncryptionKeySize)),
                   &sodium_free);
  if (key == nullptr) {
    return absl::ResourceExhaustedError("keystore: cannot allocate guarded memory");
  }
  if (crypto_pwhash(key.get(), kKeyEncryptionKeySize, passphrase.data(),
                    passphrase.size(), Bytes(salt), opslimit, memlimit,
                    crypto_pwhash_ALG_ARGON2ID13) != 0) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "keystore: Argon2id could not allocate its memlimit of ", memlimit, " bytes"));
  }
  sodium_mprotect_readonly(key.get());
  return key;
}

std::string PassphraseCheckTag(const unsigned char* key_encryption_key,
                               absl::string_view nonce) {
  std::string tag(kTagSize, '\0');
  const unsigned char no_plaintext[1] = {0};
  crypto_aead_xchacha20poly1305_ietf_encrypt(
      reinterpret_cast<unsigned char*>(tag.data()), nullptr, no_plaintext, 0,
      Bytes(kPassphraseCheckContext), kPassphraseCheckContext.size(), nullptr,
      Bytes(nonce), key_encryption_key);
  return tag;
}

bool PassphraseCheckHolds(const unsigned char* key_encryption_key,
                          absl::string_view nonce, absl::string_view tag) {
  return crypto_aead_xchacha20poly1305_ietf_decrypt(
             nullptr, nullptr, nullptr, Bytes(tag), tag.size(),
             Bytes(kPassphraseCheckContext), kPassphraseCheckContext.size(),
             Bytes(nonce), key_encryption_key) == 0;
}

std::string RandomBytes(size_t size) {
  std::string bytes(size, '\0');
  randombytes_buf(bytes.data(), bytes.size());
  return bytes;
}

// Field readers for the keystore's JSON files; errors are DataLoss naming `path`.
absl::StatusOr<std::string> StringField(const Json& object, const char* name,
                                        absl::string_view path) {
  const auto it = object.find(name);
  if (it == object.end() || !it->is_string()) {
    return Corrupt(path, absl::StrCat("missing string \"", name, "\""));
  }
  return it->get<std::string>();
}

absl::Status ExpectField(const Json& object, const char* name,
                         absl::string_view expected, absl::string_view path) {
  absl::StatusOr<std::string> value = StringField(object, name, path);
  if (!value.ok()) return value.status();
  if (*value != expected) {
    return Corrupt(path, absl::StrCat("\"", name, "\" is not \"", expected, "\""));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> BytesField(const Json& object, const char* name,
                                       size_t size, absl::string_view path) {
  absl::StatusOr<std::string> text = StringField(object, name, path);
  if (!text.ok()) return text.status();
  absl::StatusOr<std::string> bytes = DecodeMultibase(*text);
  if (!bytes.ok() || bytes->size() != size) {
    return Corrupt(path, absl::StrCat("\"", name, "\" is not multibase of ", size, " bytes"));
  }
  return bytes;
}

absl::StatusOr<uint64_t> UnsignedField(const Json& object, const char* name,
                                       absl::string_view path) {
  const auto it = object.find(name);
  // ParseJson stores every number as a double; 2^53 bounds the exact integers.
  if (it == object.end() || !it->is_number() || it->get<double>() < 0 ||
      it->get<double>() > 9007199254740992.0 ||
      std::floor(it->get<double>()) != it->get<double>()) {
    return Corrupt(path, absl::StrCat("missing unsigned integer \"", name, "\""));
  }
  return static_cast<uint64_t>(it->get<double>());
}

absl::StatusOr<Json> ParseJsonObject(absl::string_view contents, absl::string_view path) {
  absl::StatusOr<Json> value = ParseJson(contents);
  if (!value.ok()) return Corrupt(path, value.status().message());
  if (!value->is_object()) return Corrupt(path, "not a JSON object");
  return value;
}

// Writes a new keystore.json for `passphrase` and returns its key-encryption key.
absl::StatusOr<GuardedBytes> CreateHeader(const std::string& dir,
                                          absl::string_view passphrase,
                                          const KeystoreOptions& options) {
  const std::string salt = RandomBytes(kSaltSize);
  absl::StatusOr<GuardedBytes> key = DeriveKeyEncryptionKey(
      passphrase, salt, options.argon2id_opslimit, options.argon2id_memlimit);
  if (!key.ok()) return key.status();
  const std::string check_nonce = RandomBytes(kNonceSize);
  Json header = Json::object();
  header["format"] = std::string(kHeaderFormat);
  header["kdf"] = std::string(kKdfName);
  header["opslimit"] = options.argon2id_opslimit;
  header["memlimit"] = options.argon2id_memlimit;
  header["salt"] = EncodeMultibase(salt);
  header["check_nonce"] = EncodeMultibase(check_nonce);
  header["check"] = EncodeMultibase(PassphraseCheckTag(key->get(), check_nonce));
  absl::Status written =
      WriteFileAtomically(dir, kHeaderFileName, absl::StrCat(CanonicalJson(header), "\n"));
  if (!written.ok()) return written;
  return key;
}

// Reads keystore.json and returns the key-encryption key `passphrase` derives,
// PermissionDenied when the passphrase check fails.
absl::StatusOr<GuardedBytes> OpenHeader(const std::string& dir, const std::string& path,
                                        absl::string_view contents,
                                        absl::string_view passphrase) {
  absl::StatusOr<Json> header = ParseJsonObject(contents, path);
  if (!header.ok()) return header.status();
  absl::Status status = ExpectField(*header, "format", kHeaderFormat, path);
  if (status.ok()) status = ExpectField(*header, "kdf", kKdfName, path);
  if (!status.ok()) return status;
  absl::StatusOr<uint64_t> opslimit = UnsignedField(*header, "opslimit", path);
  if (!opslimit.ok()) return opslimit.status();
  absl::StatusOr<uint64_t> memlimit = UnsignedField(*header, "memlimit", path);
  if (!memlimit.ok()) return memlimit.status();
  if (absl::Status limits = ValidateKdfLimits(*opslimit, *memlimit); !limits.ok()) {
    return Corrupt(path, limits.message());
  }
  absl::StatusOr<std::string> salt = BytesField(*header, "salt", kSaltSize, path);
  if (!salt.ok()) return salt.status();
  absl::StatusOr<std::string> check_nonce =
      BytesField(*header, "check_nonce", kNonceSize, path);
  if (!check_nonce.ok()) return check_nonce.status();
  absl::StatusOr<std::string> check = BytesField(*header, "check", kTagSize, path);
  if (!check.ok()) return check.status();

  absl::StatusOr<GuardedBytes> key =
      DeriveKeyEncryptionKey(passphrase, *salt, *opslimit, static_cast<size_t>(*memlimit));
  if (!key.ok()) return key.status();
  if (!PassphraseCheckHolds(key->get(), *check_nonce, *check)) {
    return absl::PermissionDeniedError(absl::StrCat(
        "keystore ", dir, ": wrong passphrase (it fails the passphrase check in ", path,
        ")"));
  }
  return key;
}

// The names of the key files in `keys_dir`, sorted.
absl::StatusOr<std::vector<std::string>> ListKeyFiles(const std::string& keys_dir) {
  DIR* directory = ::opendir(keys_dir.c_str());
  if (directory == nullptr) return PosixError("cannot list", keys_dir);
  std::vector<std::string> names;
  errno = 0;
  while (const dirent* entry = ::readdir(directory)) {
    const absl::string_view name = entry->d_name;
    if (name.size() > kKeyFileSuffix.size() && absl::EndsWith(name, kKeyFileSuffix)) {
      names.emplace_back(name);
    }
    errno = 0;
  }
  absl::Status status = absl::OkStatus();
  if (errno != 0) status = PosixError("cannot list", keys_dir);
  ::closedir(directory);
  if (!status.ok()) return status;
  std::sort(names.begin(), names.end());
  return names;
}

// The key-encryption key `passphrase` derives for the keystore in `dir`,
// creating its keystore.json when absent from a keystore without keys.
absl::StatusOr<GuardedBytes> OpenOrCreateHeader(const std::string& dir,
                                                bool has_key_files,
                                                absl::string_view passphrase,
                                                const KeystoreOptions& options) {
  const std::string path = JoinPath(dir, kHeaderFileName);
  absl::StatusOr<std::string> header = ReadMetadataFile(path);
  if (header.ok()) return OpenHeader(dir, path, *header, passphrase);
  if (!absl::IsNotFound(header.status())) return header.status();
  if (has_key_files) {
    return absl::DataLossError(absl::StrCat("keystore: ", path,
                                            " is missing but the keystore holds keys"));
  }
  return CreateHeader(dir, passphrase, options);
}

std::string KeyFileName(absl::string_view raw_public_key) {
  return absl::StrCat(absl::BytesToHexString(raw_public_key), kKeyFileSuffix);
}

// A key file's public fields; their canonical JSON is the associated data that
// binds them to the sealed seed.
Json PublicFields(const KeyInfo& info) {
  Json fields = Json::object();
  fields["format"] = std::string(kKeyFileFormat);
  fields["public_key"] = info.public_key_text;
  fields["label"] = info.label;
  fields["created"] = FormatTimestampMillis(info.created_unix_millis);
  return fields;
}

std::string SealKeyFile(const KeyInfo& info, const SigningKey& signing_key,
                        const unsigned char* key_encryption_key) {
  Json file = PublicFields(info);
  const std::string associated_data = CanonicalJson(file);
  const std::string nonce = RandomBytes(kNonceSize);
  std::string sealed_seed(kSealedSeedSize, '\0');
  const absl::Span<const uint8_t> seed = signing_key.seed();
  crypto_aead_xchacha20poly1305_ietf_encrypt(
      reinterpret_cast<unsigned char*>(sealed_seed.data()), nullptr, seed.data(),
      seed.size(), Bytes(associated_data), associated_data.size(), nullptr,
      Bytes(nonce), key_encryption_key);
  file["nonce"] = EncodeMultibase(nonce);
  file["sealed_seed"] = EncodeMultibase(sealed_seed);
  return absl::StrCat(CanonicalJson(file), "\n");
}

struct LoadedKey {
  KeyInfo info;
  SigningKey signing_key;
};

absl::StatusOr<LoadedKey> LoadKeyFile(const std::string& keys_dir,
                                      const std::string& name,
                                      const unsigned char* key_encryption_key) {
  const std::string path = JoinPath(keys_dir, name);
  absl::StatusOr<std::string> contents = ReadMetadataFile(path);
  if (!contents.ok()) return contents.status();
  absl::StatusOr<Json> file = ParseJsonObject(*contents, path);
  if (!file.ok()) return file.status();
  if (absl::Status format = ExpectField(*file, "format", kKeyFileFormat, path);
      !format.ok()) {
    return format;
  }
  absl::StatusOr<std::string> public_key_text = StringField(*file, "public_key", path);
  if (!public_key_text.ok()) return public_key_text.status();
  absl::StatusOr<std::string> raw_public_key = DecodePublicKeyText(*public_key_text);
  if (!raw_public_key.ok()) return Corrupt(path, raw_public_key.status().message());
  if (name != KeyFileName(*raw_public_key)) {
    return Corrupt(path, "file name does not match the public key it holds");
  }
  absl::StatusOr<std::string> label = StringField(*file, "label", path);
  if (!label.ok()) return label.status();
  if (absl::Status valid = ValidateLabel(*label); !valid.ok()) {
    return Corrupt(path, valid.message());
  }
  absl::StatusOr<std::string> created = StringField(*file, "created", path);
  if (!created.ok()) return created.status();
  absl::StatusOr<int64_t> created_millis = ParseTimestampMillis(*created);
  if (!created_millis.ok()) return Corrupt(path, created_millis.status().message());
  absl::StatusOr<std::string> nonce = BytesField(*file, "nonce", kNonceSize, path);
  if (!nonce.ok()) return nonce.status();
  absl::StatusOr<std::string> sealed_seed =
      BytesField(*file, "sealed_seed", kSealedSeedSize, path);
  if (!sealed_seed.ok()) return sealed_seed.status();

  KeyInfo info{*public_key_text, *label, *created_millis};
  const std::string associated_data = CanonicalJson(PublicFields(info));
  uint8_t seed[kEd25519SeedSize];
  if (crypto_aead_xchacha20poly1305_ietf_decrypt(
          seed, nullptr, nullptr, Bytes(*sealed_seed), sealed_seed->size(),
          Bytes(associated_data), associated_data.size(), Bytes(*nonce),
          key_encryption_key) != 0) {
    return Corrupt(path,
                   "does not decrypt under this keystore's passphrase (altered, or "
                   "copied from another keystore)");
  }
  absl::StatusOr<SigningKey> signing_key = SigningKey::FromSeed(absl::MakeConstSpan(seed));
  sodium_memzero(seed, sizeof seed);
  if (!signing_key.ok()) return signing_key.status();
  if (signing_key->public_key_text() != info.public_key_text) {
    return Corrupt(path, "the sealed seed does not belong to the public key");
  }
  return LoadedKey{std::move(info), std::move(*signing_key)};
}

}  // namespace

Keystore::Keystore(std::string dir, int lock_fd)
    : dir_(std::move(dir)),
      keys_dir_(JoinPath(dir_, kKeysDirName)),
      lock_fd_(lock_fd),
      key_encryption_key_(nullptr, &sodium_free) {}

Keystore::~Keystore() {
  {
    absl::MutexLock lock(&mu_);
    keys_.clear();
  }
  key_encryption_key_.reset();
  ::close(lock_fd_);
}

absl::StatusOr<std::unique_ptr<Keystore>> Keystore::Open(const std::string& dir,
                                                         absl::string_view passphrase,
                                                         const KeystoreOptions& options) {
  if (dir.empty()) return absl::InvalidArgumentError("keystore: empty directory name");
  if (passphrase.empty()) return absl::InvalidArgumentError("keystore: empty passphrase");
  if (absl::Status limits =
          ValidateKdfLimits(options.argon2id_opslimit, options.argon2id_memlimit);
      !limits.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("keystore: ", limits.message()));
  }
  EnsureSodiumInitialized();

  if (absl::Status created = EnsurePrivateDirectory(dir); !created.ok()) return created;
  absl::StatusOr<int> lock_fd = LockKeystore(dir);
  if (!lock_fd.ok()) return lock_fd.status();
  // From here the Keystore owns the lock and releases it on every error path.
  auto keystore = absl::WrapUnique(new Keystore(dir, *lock_fd));
  if (absl::Status created = EnsurePrivateDirectory(keystore->keys_dir_); !created.ok()) {
    return created;
  }

  absl::StatusOr<std::vector<std::string>> key_files = ListKeyFiles(keystore->keys_dir_);
  if (!key_files.ok()) return key_files.status();
  absl::StatusOr<GuardedBytes> key_encryption_key =
      OpenOrCreateHeader(dir, !key_files->empty(), passphrase, options);
  if (!key_encryption_key.ok()) return key_encryption_key.status();
  keystore->key_encryption_key_ = std::move(*key_encryption_key);

  {
    absl::MutexLock lock(&keystore->mu_);
    for (const std::string& name : *key_files) {
      absl::StatusOr<LoadedKey> loaded =
          LoadKeyFile(keystore->keys_dir_, name, keystore->key_encryption_key_.get());
      if (!loaded.ok()) return loaded.status();
      std::string public_key_text = loaded->info.public_key_text;
      keystore->keys_.emplace(
          std::move(public_key_text),
          StoredKey{std::move(loaded->info), std::move(loaded->signing_key)});
    }
  }
  return keystore;
}

absl::StatusOr<std::string> Keystore::CreateKey(absl::string_view label) {
  if (absl::Status valid = ValidateLabel(label); !valid.ok()) return valid;
  absl::StatusOr<SigningKey> signing_key = SigningKey::Generate();
  if (!signing_key.ok()) return signing_key.status();
  KeyInfo info{signing_key->public_key_text(), std::string(label), NowMillis()};
  const std::string contents =
      SealKeyFile(info, *signing_key, key_encryption_key_.get());
  if (absl::Status written = WriteFileAtomically(
          keys_dir_, KeyFileName(signing_key->public_key()), contents);
      !written.ok()) {
    return written;
  }
  std::string public_key_text = info.public_key_text;
  absl::MutexLock lock(&mu_);
  keys_.emplace(public_key_text, StoredKey{std::move(info), std::move(*signing_key)});
  return public_key_text;
}

std::vector<KeyInfo> Keystore::ListKeys() const {
  absl::ReaderMutexLock lock(&mu_);
  std::vector<KeyInfo> infos;
  infos.reserve(keys_.size());
  for (const auto& [public_key_text, stored] : keys_) infos.push_back(stored.info);
  return infos;
}

bool Keystore::HasKey(absl::string_view public_key_text) const {
  absl::ReaderMutexLock lock(&mu_);
  return keys_.find(public_key_text) != keys_.end();
}

absl::StatusOr<std::string> Keystore::SignText(absl::string_view public_key_text,
                                               absl::string_view message) const {
  absl::ReaderMutexLock lock(&mu_);
  const auto it = keys_.find(public_key_text);
  if (it == keys_.end()) {
    return absl::NotFoundError(absl::StrCat("keystore ", dir_, ": no key \"",
                                            public_key_text.substr(0, 64), "\""));
  }
  return it->second.signing_key.SignText(message);
}

namespace {

constexpr char kPassphrasePrompt[] = "keystore passphrase: ";

// The first line of what was read from `name`, as the passphrase; `contents`
// is wiped.
absl::StatusOr<std::string> FirstLineAsPassphrase(std::string& contents,
                                                  absl::string_view name) {
  const absl::string_view line = FirstLine(contents);
  absl::StatusOr<std::string> passphrase;
  if (line.size() > kMaxPassphraseFileSize) {
    passphrase = absl::InvalidArgumentError(absl::StrCat(
        "passphrase from ", name, ": the first line is longer than ", kMaxPassphraseFileSize,
        " bytes"));
  } else if (line.empty()) {
    passphrase = absl::InvalidArgumentError(
        absl::StrCat("passphrase file ", name, ": the first line is empty"));
  } else {
    passphrase = std::string(line);
  }
  sodium_memzero(contents.data(), contents.size());
  return passphrase;
}

// Reads a stream once: up to the first "\n", its end or kMaxPassphraseFileSize
// + 1 bytes, whichever comes first, so a writer that keeps its end of a pipe
// open after the line does not block the agent, and a terminal (one line per
// read in canonical mode) is read up to Enter. The buffer is sized once so no
// reallocation leaves a stray copy behind.
absl::StatusOr<std::string> ReadUpToFirstNewline(int fd, absl::string_view name) {
  std::string contents(kMaxPassphraseFileSize + 1, '\0');
  size_t total = 0;
  while (total < contents.size()) {
    const ssize_t n = ::read(fd, contents.data() + total, contents.size() - total);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      absl::Status error = PosixError("cannot read passphrase from", name);
      sodium_memzero(contents.data(), contents.size());
      return error;
    }
    if (n == 0) break;
    const bool line_complete =
        std::memchr(contents.data() + total, '\n', static_cast<size_t>(n)) != nullptr;
    total += static_cast<size_t>(n);
    if (line_complete) break;
  }
  contents.resize(total);
  return contents;
}

// The terminal whose echo is off while the prompt waits, for the handler below.
int prompt_terminal_fd = -1;
struct termios prompt_terminal_settings;

// Ctrl-C (or SIGTERM) at the prompt ends the program as usual, with the
// terminal's echo back on: restores the settings, then lets the signal's
// default action run once the handler returns.
extern "C" void RestoreTerminalAndDie(int signal_number) {
  ::tcsetattr(prompt_terminal_fd, TCSANOW, &prompt_terminal_settings);
  ::signal(signal_number, SIG_DFL);
  ::raise(signal_number);
}

// Prompts on stderr and reads one line from the terminal `fd` with echo off
// (only the final newline is echoed); the terminal's settings are restored,
// also when SIGINT or SIGTERM ends the program at the prompt.
absl::StatusOr<std::string> ReadFromTerminal(int fd, absl::string_view name) {
  struct termios saved;
  if (::tcgetattr(fd, &saved) != 0) return PosixError("cannot read the settings of", name);
  struct termios quiet = saved;
  quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
  quiet.c_lflag |= ECHONL;
  prompt_terminal_fd = fd;
  prompt_terminal_settings = saved;
  struct sigaction restore_and_die {};
  restore_and_die.sa_handler = RestoreTerminalAndDie;
  sigemptyset(&restore_and_die.sa_mask);
  struct sigaction previous_int, previous_term;
  ::sigaction(SIGINT, &restore_and_die, &previous_int);
  ::sigaction(SIGTERM, &restore_and_die, &previous_term);
  if (::tcsetattr(fd, TCSAFLUSH, &quiet) != 0) {
    ::sigaction(SIGINT, &previous_int, nullptr);
    ::sigaction(SIGTERM, &previous_term, nullptr);
    return PosixError("cannot turn off echo on", name);
  }
  std::fputs(kPassphrasePrompt, stderr);
  std::fflush(stderr);
  absl::StatusOr<std::string> contents = ReadUpToFirstNewline(fd, name);
  ::tcsetattr(fd, TCSAFLUSH, &saved);
  ::sigaction(SIGINT, &previous_int, nullptr);
  ::sigaction(SIGTERM, &previous_term, nullptr);
  return contents;
}

// While the passphrase is read — which may wait for a pipe's or a FIFO's
// writer or for a person at a prompt — SIGINT and SIGTERM, which the servers
// block in every thread (serving/grpc_server.h), are unblocked in this thread,
// so that Ctrl-C, systemd or the kubelet can stop the program meanwhile.
class StopSignalsUnblocked {
 public:
  StopSignalsUnblocked() {
    sigset_t stop_signals;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGINT);
    sigaddset(&stop_signals, SIGTERM);
    ::pthread_sigmask(SIG_UNBLOCK, &stop_signals, &previous_mask_);
  }
  ~StopSignalsUnblocked() { ::pthread_sigmask(SIG_SETMASK, &previous_mask_, nullptr); }
  StopSignalsUnblocked(const StopSignalsUnblocked&) = delete;
  StopSignalsUnblocked& operator=(const StopSignalsUnblocked&) = delete;

 private:
  sigset_t previous_mask_;
};

// Reads the passphrase from the open `fd` according to what it is: a regular
// file (private to its owner, at most kMaxPassphraseFileSize bytes), or a
// pipe, FIFO or character device, read once (a terminal with a prompt).
absl::StatusOr<std::string> ReadPassphraseFrom(int fd, absl::string_view name) {
  struct stat st;
  if (::fstat(fd, &st) != 0) return PosixError("cannot stat passphrase file", name);
  absl::StatusOr<std::string> contents;
  if (S_ISREG(st.st_mode)) {
    if ((st.st_mode & 077) != 0) {
      return absl::FailedPreconditionError(absl::StrCat(
          "passphrase file ", name, " is accessible by group or others; chmod 600 ", name));
    }
    contents = ReadAll(fd, kMaxPassphraseFileSize, name);
    if (contents.ok() && contents->size() > kMaxPassphraseFileSize) {
      sodium_memzero(contents->data(), contents->size());
      return absl::InvalidArgumentError(absl::StrCat(
          "passphrase file ", name, " is larger than ", kMaxPassphraseFileSize, " bytes"));
    }
  } else if (S_ISFIFO(st.st_mode) || S_ISCHR(st.st_mode)) {
    contents = ::isatty(fd) == 1 ? ReadFromTerminal(fd, name) : ReadUpToFirstNewline(fd, name);
  } else {
    return absl::InvalidArgumentError(absl::StrCat(
        "passphrase file ", name, " is not a regular file, a pipe or a character device"));
  }
  if (!contents.ok()) return contents.status();
  return FirstLineAsPassphrase(*contents, name);
}

}  // namespace

absl::StatusOr<std::string> LoadPassphrase(const std::string& passphrase_file) {
  if (passphrase_file.empty()) {
    const char* from_environment = std::getenv(kPassphraseEnvVar);
    if (from_environment == nullptr) {
      return absl::InvalidArgumentError(absl::StrCat(
          "no passphrase: give a passphrase file or set ", kPassphraseEnvVar));
    }
    if (*from_environment == '\0') {
      return absl::InvalidArgumentError(absl::StrCat(kPassphraseEnvVar, " is empty"));
    }
    return std::string(from_environment);
  }
  const StopSignalsUnblocked stoppable;
  if (passphrase_file == kPassphraseFromStdin) {
    return ReadPassphraseFrom(STDIN_FILENO, "standard input");
  }
  // Opening a FIFO waits for its writer.
  const int fd = ::open(passphrase_file.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) return PosixError("cannot open passphrase file", passphrase_file);
  absl::StatusOr<std::string> passphrase = ReadPassphraseFrom(fd, passphrase_file);
  ::close(fd);
  return passphrase;
}

}  // namespace microledger
