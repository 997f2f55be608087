#include "owner_agent/keystore.h"

#include <dirent.h>
#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/ed25519.h"
#include "common/encoding.h"
#include "common/json.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace microledger {
namespace {

using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::SizeIs;

constexpr absl::string_view kPassphrase = "correct horse battery staple";

KeystoreOptions FastOptions() {
  KeystoreOptions options;
  options.argon2id_opslimit = crypto_pwhash_argon2id_OPSLIMIT_MIN;
  options.argon2id_memlimit = crypto_pwhash_argon2id_MEMLIMIT_MIN;
  return options;
}

// A fresh, empty directory under the test's temporary directory.
std::string NewTempDir() {
  const char* root = std::getenv("TEST_TMPDIR");
  std::string pattern = absl::StrCat(root != nullptr ? root : "/tmp", "/keystore_XXXXXX");
  if (::mkdtemp(pattern.data()) == nullptr) ADD_FAILURE() << "mkdtemp failed";
  return pattern;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream contents;
  contents << in.rdbuf();
  return contents.str();
}

void WriteFile(const std::string& path, absl::string_view contents, mode_t mode) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << contents;
  out.close();
  ASSERT_EQ(::chmod(path.c_str(), mode), 0) << path;
}

mode_t FileMode(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) ADD_FAILURE() << "cannot stat " << path;
  return st.st_mode & 07777;
}

// Every regular file below `dir`.
std::vector<std::string> FilesUnder(const std::string& dir) {
  std::vector<std::string> files;
  DIR* directory = ::opendir(dir.c_str());
  if (directory == nullptr) return files;
  while (const dirent* entry = ::readdir(directory)) {
    const std::string name = entry->d_name;
    if (name == "." || name == "..") continue;
    const std::string path = absl::StrCat(dir, "/", name);
    struct stat st;
    if (::lstat(path.c_str(), &st) != 0) continue;
    if (S_ISDIR(st.st_mode)) {
      for (std::string& file : FilesUnder(path)) files.push_back(std::move(file));
    } else {
      files.push_back(path);
    }
  }
  ::closedir(directory);
  return files;
}

Json ParseJsonFile(const std::string& path) {
  absl::StatusOr<Json> value = ParseJson(ReadFile(path));
  EXPECT_TRUE(value.ok()) << path << ": " << value.status();
  return value.ok() ? *value : Json::object();
}

std::string Bytes(const Json& value) {
  absl::StatusOr<std::string> bytes = DecodeMultibase(value.get<std::string>());
  EXPECT_TRUE(bytes.ok()) << bytes.status();
  return bytes.value_or("");
}

class KeystoreTest : public testing::Test {
 protected:
  void SetUp() override { dir_ = absl::StrCat(NewTempDir(), "/keystore"); }

  absl::StatusOr<std::unique_ptr<Keystore>> OpenStore(
      absl::string_view passphrase = kPassphrase) {
    return Keystore::Open(dir_, passphrase, FastOptions());
  }

  std::unique_ptr<Keystore> OpenOrDie() {
    absl::StatusOr<std::unique_ptr<Keystore>> keystore = OpenStore();
    EXPECT_TRUE(keystore.ok()) << keystore.status();
    return keystore.ok() ? std::move(*keystore) : nullptr;
  }

  // Creates a keystore holding one key labelled "laptop"; returns its public key text.
  std::string CreateStoreWithOneKey() {
    std::unique_ptr<Keystore> keystore = OpenOrDie();
    if (keystore == nullptr) return "";
    absl::StatusOr<std::string> public_key_text = keystore->CreateKey("laptop");
    EXPECT_TRUE(public_key_text.ok()) << public_key_text.status();
    return public_key_text.value_or("");
  }

  std::string KeyFilePath(absl::string_view public_key_text) const {
    absl::StatusOr<std::string> raw = DecodePublicKeyText(public_key_text);
    EXPECT_TRUE(raw.ok()) << raw.status();
    return absl::StrCat(dir_, "/keys/", absl::BytesToHexString(raw.value_or("")), ".key");
  }

  // Decrypts a key's seed from the files alone, following the documented
  // on-disk format, independently of the keystore's code.
  std::string RecoverSeed(absl::string_view public_key_text) const {
    const Json header = ParseJsonFile(absl::StrCat(dir_, "/keystore.json"));
    const std::string salt = Bytes(header["salt"]);
    unsigned char key_encryption_key[crypto_aead_xchacha20poly1305_ietf_KEYBYTES];
    EXPECT_EQ(crypto_pwhash(key_encryption_key, sizeof key_encryption_key,
                            kPassphrase.data(), kPassphrase.size(),
                            reinterpret_cast<const unsigned char*>(salt.data()),
                            header["opslimit"].get<double>(),
                            header["memlimit"].get<double>(),
                            crypto_pwhash_ALG_ARGON2ID13),
              0);
    Json file = ParseJsonFile(KeyFilePath(public_key_text));
    const std::string nonce = Bytes(file["nonce"]);
    const std::string sealed_seed = Bytes(file["sealed_seed"]);
    file.erase("nonce");
    file.erase("sealed_seed");
    const std::string associated_data = CanonicalJson(file);
    std::string seed(kEd25519SeedSize, '\0');
    EXPECT_EQ(crypto_aead_xchacha20poly1305_ietf_decrypt(
                  reinterpret_cast<unsigned char*>(seed.data()), nullptr, nullptr,
                  reinterpret_cast<const unsigned char*>(sealed_seed.data()),
                  sealed_seed.size(),
                  reinterpret_cast<const unsigned char*>(associated_data.data()),
                  associated_data.size(),
                  reinterpret_cast<const unsigned char*>(nonce.data()),
                  key_encryption_key),
              0);
    return seed;
  }

  // Rewrites one member of the key file of `public_key_text`.
  void EditKeyFile(absl::string_view public_key_text, const char* member,
                   const std::string& value) {
    const std::string path = KeyFilePath(public_key_text);
    Json file = ParseJsonFile(path);
    file[member] = value;
    WriteFile(path, CanonicalJson(file), 0600);
  }

  std::string dir_;
};

TEST_F(KeystoreTest, CreatedKeySignsVerifiably) {
  std::unique_ptr<Keystore> keystore = OpenOrDie();
  ASSERT_NE(keystore, nullptr);
  absl::StatusOr<std::string> public_key_text = keystore->CreateKey("laptop");
  ASSERT_TRUE(public_key_text.ok()) << public_key_text.status();
  absl::StatusOr<std::string> signature = keystore->SignText(*public_key_text, "hello");
  ASSERT_TRUE(signature.ok()) << signature.status();
  EXPECT_TRUE(VerifyEd25519Text(*public_key_text, "hello", *signature, "test").ok());
  EXPECT_FALSE(VerifyEd25519Text(*public_key_text, "hellO", *signature, "test").ok());
}

TEST_F(KeystoreTest, ListKeysGivesPublicHalvesSortedByPublicKey) {
  std::unique_ptr<Keystore> keystore = OpenOrDie();
  ASSERT_NE(keystore, nullptr);
  EXPECT_THAT(keystore->ListKeys(), IsEmpty());
  const int64_t before = absl::ToUnixMillis(absl::Now());
  std::vector<std::string> created;
  for (const char* label : {"one", "two", "three"}) {
    absl::StatusOr<std::string> public_key_text = keystore->CreateKey(label);
    ASSERT_TRUE(public_key_text.ok()) << public_key_text.status();
    created.push_back(*public_key_text);
  }
  const int64_t after = absl::ToUnixMillis(absl::Now());
  const std::vector<KeyInfo> keys = keystore->ListKeys();
  ASSERT_THAT(keys, SizeIs(3));
  for (size_t i = 0; i < keys.size(); ++i) {
    if (i > 0) {
      EXPECT_LT(keys[i - 1].public_key_text, keys[i].public_key_text);
    }
    EXPECT_GE(keys[i].created_unix_millis, before);
    EXPECT_LE(keys[i].created_unix_millis, after);
    const size_t index =
        std::find(created.begin(), created.end(), keys[i].public_key_text) - created.begin();
    ASSERT_LT(index, created.size());
    EXPECT_EQ(keys[i].label, std::vector<std::string>({"one", "two", "three"})[index]);
  }
}

TEST_F(KeystoreTest, HasKeyOnlyForStoredKeys) {
  std::unique_ptr<Keystore> keystore = OpenOrDie();
  ASSERT_NE(keystore, nullptr);
  absl::StatusOr<std::string> public_key_text = keystore->CreateKey("");
  ASSERT_TRUE(public_key_text.ok()) << public_key_text.status();
  EXPECT_TRUE(keystore->HasKey(*public_key_text));
  absl::StatusOr<SigningKey> other = SigningKey::Generate();
  ASSERT_TRUE(other.ok());
  EXPECT_FALSE(keystore->HasKey(other->public_key_text()));
  EXPECT_FALSE(keystore->HasKey(""));
}

TEST_F(KeystoreTest, SignTextForUnknownKeyIsNotFound) {
  std::unique_ptr<Keystore> keystore = OpenOrDie();
  ASSERT_NE(keystore, nullptr);
  absl::StatusOr<SigningKey> other = SigningKey::Generate();
  ASSERT_TRUE(other.ok());
  absl::StatusOr<std::string> signature = keystore->SignText(other->public_key_text(), "x");
  EXPECT_TRUE(absl::IsNotFound(signature.status())) << signature.status();
  EXPECT_THAT(std::string(signature.status().message()),
              HasSubstr(other->public_key_text()));
}

TEST_F(KeystoreTest, ReopenKeepsKeysAndTheirSignaturesVerify) {
  const std::string public_key_text = CreateStoreWithOneKey();
  std::unique_ptr<Keystore> reopened = OpenOrDie();
  ASSERT_NE(reopened, nullptr);
  const std::vector<KeyInfo> keys = reopened->ListKeys();
  ASSERT_THAT(keys, SizeIs(1));
  EXPECT_EQ(keys[0].public_key_text, public_key_text);
  EXPECT_EQ(keys[0].label, "laptop");
  absl::StatusOr<std::string> signature = reopened->SignText(public_key_text, "again");
  ASSERT_TRUE(signature.ok()) << signature.status();
  EXPECT_TRUE(VerifyEd25519Text(public_key_text, "again", *signature, "test").ok());
}

TEST_F(KeystoreTest, WrongPassphraseIsRefused) {
  CreateStoreWithOneKey();
  absl::StatusOr<std::unique_ptr<Keystore>> keystore = OpenStore("not the passphrase");
  EXPECT_TRUE(absl::IsPermissionDenied(keystore.status())) << keystore.status();
  EXPECT_THAT(std::string(keystore.status().message()), HasSubstr("wrong passphrase"));
  EXPECT_THAT(std::string(keystore.status().message()), HasSubstr(dir_));
}

TEST_F(KeystoreTest, WrongPassphraseIsRefusedForKeystoreWithoutKeys) {
  ASSERT_NE(OpenOrDie(), nullptr);
  absl::StatusOr<std::unique_ptr<Keystore>> keystore = OpenStore("not the passphrase");
  EXPECT_TRUE(absl::IsPermissionDenied(keystore.status())) << keystore.status();
  EXPECT_THAT(std::string(keystore.status().message()), HasSubstr("wrong passphrase"));
}

TEST_F(KeystoreTest, RejectsInvalidOpenArguments) {
  EXPECT_TRUE(absl::IsInvalidArgument(Keystore::Open("", kPassphrase).status()));
  EXPECT_TRUE(absl::IsInvalidArgument(OpenStore("").status()));
  KeystoreOptions too_cheap = FastOptions();
  too_cheap.argon2id_opslimit = 0;
  EXPECT_TRUE(
      absl::IsInvalidArgument(Keystore::Open(dir_, kPassphrase, too_cheap).status()));
  KeystoreOptions too_little_memory = FastOptions();
  too_little_memory.argon2id_memlimit = 1024;
  EXPECT_TRUE(absl::IsInvalidArgument(
      Keystore::Open(dir_, kPassphrase, too_little_memory).status()));
}

TEST_F(KeystoreTest, DefaultOptionsRecordInteractiveArgon2idCost) {
  absl::StatusOr<std::unique_ptr<Keystore>> keystore = Keystore::Open(dir_, kPassphrase);
  ASSERT_TRUE(keystore.ok()) << keystore.status();
  const Json header = ParseJsonFile(absl::StrCat(dir_, "/keystore.json"));
  EXPECT_EQ(header["kdf"], "argon2id13");
  EXPECT_EQ(header["opslimit"].get<double>(), crypto_pwhash_argon2id_OPSLIMIT_INTERACTIVE);
  EXPECT_EQ(header["memlimit"].get<double>(), crypto_pwhash_argon2id_MEMLIMIT_INTERACTIVE);
  EXPECT_EQ(Bytes(header["salt"]).size(), crypto_pwhash_SALTBYTES);
}

TEST_F(KeystoreTest, ReopenUsesRecordedCostNotOptions) {
  const std::string public_key_text = CreateStoreWithOneKey();
  absl::StatusOr<std::unique_ptr<Keystore>> keystore = Keystore::Open(dir_, kPassphrase);
  ASSERT_TRUE(keystore.ok()) << keystore.status();
  EXPECT_TRUE((*keystore)->HasKey(public_key_text));
}

TEST_F(KeystoreTest, FilesAreOwnerOnly) {
  const std::string public_key_text = CreateStoreWithOneKey();
  EXPECT_EQ(FileMode(dir_), 0700);
  EXPECT_EQ(FileMode(absl::StrCat(dir_, "/keys")), 0700);
  EXPECT_EQ(FileMode(absl::StrCat(dir_, "/LOCK")), 0600);
  EXPECT_EQ(FileMode(absl::StrCat(dir_, "/keystore.json")), 0600);
  EXPECT_EQ(FileMode(KeyFilePath(public_key_text)), 0600);
}

TEST_F(KeystoreTest, RefusesDirectoryOthersCanAccess) {
  ASSERT_EQ(::mkdir(dir_.c_str(), 0755), 0);
  ASSERT_EQ(::chmod(dir_.c_str(), 0755), 0);
  absl::StatusOr<std::unique_ptr<Keystore>> keystore = OpenStore();
  EXPECT_TRUE(absl::IsFailedPrecondition(keystore.status())) << keystore.status();
  EXPECT_THAT(std::string(keystore.status().message()), HasSubstr("chmod 700"));
}

TEST_F(KeystoreTest, SeedIsNeverStoredInClear) {
  const std::string public_key_text = CreateStoreWithOneKey();
  const std::string seed = RecoverSeed(public_key_text);
  // The recovered seed is the key's: it derives the stored public key.
  absl::StatusOr<SigningKey> key = SigningKey::FromSeed(
      absl::MakeConstSpan(reinterpret_cast<const uint8_t*>(seed.data()), seed.size()));
  ASSERT_TRUE(key.ok()) << key.status();
  ASSERT_EQ(key->public_key_text(), public_key_text);

  const std::vector<std::string> encodings = {
      seed,
      EncodeBase64Url(seed),
      EncodeBase64Std(seed),
      absl::BytesToHexString(seed),
      absl::AsciiStrToUpper(absl::BytesToHexString(seed)),
  };
  const std::vector<std::string> files = FilesUnder(dir_);
  ASSERT_THAT(files, SizeIs(3));  // LOCK, keystore.json and one key file.
  for (const std::string& file : files) {
    const std::string contents = ReadFile(file);
    for (const std::string& encoding : encodings) {
      EXPECT_FALSE(absl::StrContains(contents, encoding)) << file;
    }
  }
}

TEST_F(KeystoreTest, SecondOpenInSameProcessFailsWhileFirstIsOpen) {
  std::unique_ptr<Keystore> first = OpenOrDie();
  ASSERT_NE(first, nullptr);
  absl::StatusOr<std::unique_ptr<Keystore>> second = OpenStore();
  EXPECT_TRUE(absl::IsFailedPrecondition(second.status())) << second.status();
  EXPECT_EQ(second.status().message(),
            absl::StrCat("keystore ", dir_, " is in use by another ml-owner process (lock ",
                         dir_, "/LOCK)"));
  first.reset();
  EXPECT_TRUE(OpenStore().ok());
}

TEST_F(KeystoreTest, SecondOpenInAnotherProcessFails) {
  std::unique_ptr<Keystore> first = OpenOrDie();
  ASSERT_NE(first, nullptr);
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    absl::StatusOr<std::unique_ptr<Keystore>> second = OpenStore();
    const bool in_use = absl::IsFailedPrecondition(second.status()) &&
                        absl::StrContains(second.status().message(), "is in use");
    ::_exit(in_use ? 0 : 1);
  }
  int wait_status = 0;
  ASSERT_EQ(::waitpid(child, &wait_status, 0), child);
  ASSERT_TRUE(WIFEXITED(wait_status));
  EXPECT_EQ(WEXITSTATUS(wait_status), 0);
}

TEST_F(KeystoreTest, AlteredSealedSeedIsDataLossNamingFile) {
  const std::string public_key_text = CreateStoreWithOneKey();
  const std::string path = KeyFilePath(public_key_text);
  std::string sealed_seed = Bytes(ParseJsonFile(path)["sealed_seed"]);
  sealed_seed[3] ^= 1;
  EditKeyFile(public_key_text, "sealed_seed", EncodeMultibase(sealed_seed));
  absl::StatusOr<std::unique_ptr<Keystore>> keystore = OpenStore();
  EXPECT_TRUE(absl::IsDataLoss(keystore.status())) << keystore.status();
  EXPECT_THAT(std::string(keystore.status().message()), HasSubstr(path));
}

TEST_F(KeystoreTest, AlteredLabelIsDataLoss) {
  const std::string public_key_text = CreateStoreWithOneKey();
  EditKeyFile(public_key_text, "label", "phone");
  absl::StatusOr<std::unique_ptr<Keystore>> keystore = OpenStore();
  EXPECT_TRUE(absl::IsDataLoss(keystore.status())) << keystore.status();
  EXPECT_THAT(std::string(keystore.status().message()),
              HasSubstr(KeyFilePath(public_key_text)));
}

TEST_F(KeystoreTest, AlteredPublicKeyIsDataLoss) {
  const std::string public_key_text = CreateStoreWithOneKey();
  absl::StatusOr<SigningKey> other = SigningKey::Generate();
  ASSERT_TRUE(other.ok());
  EditKeyFile(public_key_text, "public_key", other->public_key_text());
  absl::StatusOr<std::unique_ptr<Keystore>> keystore = OpenStore();
  EXPECT_TRUE(absl::IsDataLoss(keystore.status())) << keystore.status();
  EXPECT_THAT(std::string(keystore.status().message()),
              HasSubstr(KeyFilePath(public_key_text)));
}

TEST_F(KeystoreTest, TruncatedKeyFileIsDataLoss) {
  const std::string public_key_text = CreateStoreWithOneKey();
  const std::string path = KeyFilePath(public_key_text);
  const std::string contents = ReadFile(path);
  WriteFile(path, contents.substr(0, contents.size() / 2), 0600);
  absl::StatusOr<std::unique_ptr<Keystore>> keystore = OpenStore();
  EXPECT_TRUE(absl::IsDataLoss(keystore.status())) << keystore.status();
  EXPECT_THAT(std::string(keystore.status().message()), HasSubstr(path));
}

TEST_F(KeystoreTest, EmptyKeyFileIsDataLoss) {
  const std::string public_key_text = CreateStoreWithOneKey();
  WriteFile(KeyFilePath(public_key_text), "", 0600);
  EXPECT_TRUE(absl::IsDataLoss(OpenStore().status()));
}

TEST_F(KeystoreTest, KeyFileMissingMemberIsDataLoss) {
  const std::string public_key_text = CreateStoreWithOneKey();
  const std::string path = KeyFilePath(public_key_text);
  Json file = ParseJsonFile(path);
  file.erase("nonce");
  WriteFile(path, CanonicalJson(file), 0600);
  absl::StatusOr<std::unique_ptr<Keystore>> keystore = OpenStore();
  EXPECT_TRUE(absl::IsDataLoss(keystore.status())) << keystore.status();
  EXPECT_THAT(std::string(keystore.status().message()), HasSubstr("nonce"));
}

TEST_F(KeystoreTest, RenamedKeyFileIsDataLoss) {
  const std::string public_key_text = CreateStoreWithOneKey();
  const std::string renamed = absl::StrCat(dir_, "/keys/", std::string(64, '0'), ".key");
  ASSERT_EQ(::rename(KeyFilePath(public_key_text).c_str(), renamed.c_str()), 0);
  absl::StatusOr<std::unique_ptr<Keystore>> keystore = OpenStore();
  EXPECT_TRUE(absl::IsDataLoss(keystore.status())) << keystore.status();
  EXPECT_THAT(std::string(keystore.status().message()), HasSubstr(renamed));
}

TEST_F(KeystoreTest, KeyFileFromAnotherKeystoreIsDataLoss) {
  const std::string public_key_text = CreateStoreWithOneKey();
  const std::string key_file = ReadFile(KeyFilePath(public_key_text));
  dir_ = absl::StrCat(NewTempDir(), "/keystore");
  ASSERT_NE(OpenOrDie(), nullptr);
  WriteFile(KeyFilePath(public_key_text), key_file, 0600);
  absl::StatusOr<std::unique_ptr<Keystore>> keystore = OpenStore();
  EXPECT_TRUE(absl::IsDataLoss(keystore.status())) << keystore.status();
}

TEST_F(KeystoreTest, MissingHeaderWithKeysIsDataLoss) {
  CreateStoreWithOneKey();
  ASSERT_EQ(::unlink(absl::StrCat(dir_, "/keystore.json").c_str()), 0);
  absl::StatusOr<std::unique_ptr<Keystore>> keystore = OpenStore();
  EXPECT_TRUE(absl::IsDataLoss(keystore.status())) << keystore.status();
  EXPECT_THAT(std::string(keystore.status().message()), HasSubstr("keystore.json"));
}

TEST_F(KeystoreTest, CorruptHeaderIsDataLossNamingIt) {
  ASSERT_NE(OpenOrDie(), nullptr);
  const std::string path = absl::StrCat(dir_, "/keystore.json");
  Json header = ParseJsonFile(path);
  header["salt"] = "uAAAA";
  WriteFile(path, CanonicalJson(header), 0600);
  absl::StatusOr<std::unique_ptr<Keystore>> keystore = OpenStore();
  EXPECT_TRUE(absl::IsDataLoss(keystore.status())) << keystore.status();
  EXPECT_THAT(std::string(keystore.status().message()), HasSubstr(path));
}

TEST_F(KeystoreTest, HeaderWithUnknownKdfIsDataLoss) {
  ASSERT_NE(OpenOrDie(), nullptr);
  const std::string path = absl::StrCat(dir_, "/keystore.json");
  Json header = ParseJsonFile(path);
  header["kdf"] = "scrypt";
  WriteFile(path, CanonicalJson(header), 0600);
  EXPECT_TRUE(absl::IsDataLoss(OpenStore().status()));
}

TEST_F(KeystoreTest, HeaderWithOutOfRangeCostIsDataLoss) {
  ASSERT_NE(OpenOrDie(), nullptr);
  const std::string path = absl::StrCat(dir_, "/keystore.json");
  Json header = ParseJsonFile(path);
  header["opslimit"] = 0;
  WriteFile(path, CanonicalJson(header), 0600);
  EXPECT_TRUE(absl::IsDataLoss(OpenStore().status()));
}

TEST_F(KeystoreTest, LeftoverTemporaryFileIsIgnored) {
  const std::string public_key_text = CreateStoreWithOneKey();
  WriteFile(absl::StrCat(KeyFilePath(public_key_text), ".tmp"), "half written", 0600);
  std::unique_ptr<Keystore> keystore = OpenOrDie();
  ASSERT_NE(keystore, nullptr);
  EXPECT_THAT(keystore->ListKeys(), SizeIs(1));
}

TEST_F(KeystoreTest, CreateKeyValidatesLabel) {
  std::unique_ptr<Keystore> keystore = OpenOrDie();
  ASSERT_NE(keystore, nullptr);
  EXPECT_TRUE(absl::IsInvalidArgument(
      keystore->CreateKey(std::string(kMaxKeyLabelSize + 1, 'a')).status()));
  EXPECT_TRUE(absl::IsInvalidArgument(keystore->CreateKey("line\nbreak").status()));
  EXPECT_TRUE(absl::IsInvalidArgument(keystore->CreateKey("\xC0\xAF").status()));
  EXPECT_TRUE(absl::IsInvalidArgument(keystore->CreateKey("\xED\xA0\x80").status()));
  EXPECT_THAT(keystore->ListKeys(), IsEmpty());
  EXPECT_TRUE(keystore->CreateKey(std::string(kMaxKeyLabelSize, 'a')).ok());
  EXPECT_TRUE(keystore->CreateKey("Zoë's laptop 🔑").ok());
}

TEST_F(KeystoreTest, UnicodeLabelSurvivesReopen) {
  {
    std::unique_ptr<Keystore> keystore = OpenOrDie();
    ASSERT_NE(keystore, nullptr);
    ASSERT_TRUE(keystore->CreateKey("Zoë's laptop 🔑").ok());
  }
  std::unique_ptr<Keystore> keystore = OpenOrDie();
  ASSERT_NE(keystore, nullptr);
  ASSERT_THAT(keystore->ListKeys(), SizeIs(1));
  EXPECT_EQ(keystore->ListKeys()[0].label, "Zoë's laptop 🔑");
}

TEST_F(KeystoreTest, ConcurrentSigningAndCreationAreSafe) {
  std::unique_ptr<Keystore> keystore = OpenOrDie();
  ASSERT_NE(keystore, nullptr);
  std::vector<std::string> public_keys;
  for (int i = 0; i < 3; ++i) {
    absl::StatusOr<std::string> public_key_text = keystore->CreateKey(absl::StrCat("k", i));
    ASSERT_TRUE(public_key_text.ok());
    public_keys.push_back(*public_key_text);
  }
  constexpr int kThreads = 8;
  constexpr int kSignaturesPerThread = 50;
  std::vector<std::vector<std::string>> signatures(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kSignaturesPerThread; ++i) {
        absl::StatusOr<std::string> signature = keystore->SignText(
            public_keys[(t + i) % public_keys.size()], absl::StrCat("message ", t, " ", i));
        signatures[t].push_back(signature.value_or(""));
      }
    });
  }
  threads.emplace_back([&] {
    for (int i = 0; i < 3; ++i) {
      EXPECT_TRUE(keystore->CreateKey("concurrent").ok());
      EXPECT_FALSE(keystore->ListKeys().empty());
    }
  });
  for (std::thread& thread : threads) thread.join();

  for (int t = 0; t < kThreads; ++t) {
    ASSERT_THAT(signatures[t], SizeIs(kSignaturesPerThread));
    for (int i = 0; i < kSignaturesPerThread; ++i) {
      EXPECT_TRUE(VerifyEd25519Text(public_keys[(t + i) % public_keys.size()],
                                    absl::StrCat("message ", t, " ", i), signatures[t][i],
                                    "test")
                      .ok());
    }
  }
  EXPECT_THAT(keystore->ListKeys(), SizeIs(6));
}

}  // namespace
}  // namespace microledger
