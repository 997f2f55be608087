#include "host_service/host_keys.h"

#include <sys/stat.h>

#include <cstdlib>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "common/encoding.h"
#include "gtest/gtest.h"

namespace microledger {
namespace {

std::string TempPath(absl::string_view name) {
  const char* base = std::getenv("TEST_TMPDIR");
  return absl::StrCat(base ? base : "/tmp", "/", name, "_", getpid());
}

TEST(HostKeysTest, DerivationIsDeterministicPerNonce) {
  MasterSecret master = *MasterSecret::FromBytes(std::string(32, 'm'));
  std::string nonce = NewLedgerNonce();
  EXPECT_EQ(master.DeriveLedgerKey(nonce)->public_key_text(),
            master.DeriveLedgerKey(nonce)->public_key_text());
  EXPECT_NE(master.DeriveLedgerKey(nonce)->public_key_text(),
            master.DeriveLedgerKey(NewLedgerNonce())->public_key_text());
  MasterSecret other = *MasterSecret::FromBytes(std::string(32, 'o'));
  EXPECT_NE(master.DeriveLedgerKey(nonce)->public_key_text(),
            other.DeriveLedgerKey(nonce)->public_key_text());
  EXPECT_FALSE(master.DeriveLedgerKey("short").ok());
}

TEST(HostKeysTest, FileIsCreatedWithMode0600AndReloaded) {
  unsetenv(kMasterKeyEnvVar);
  const std::string path = TempPath("master.key");
  std::remove(path.c_str());
  absl::StatusOr<MasterSecret> first = MasterSecret::Load(path);
  ASSERT_TRUE(first.ok()) << first.status();
  struct stat st;
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(st.st_size, 32);
  absl::StatusOr<MasterSecret> second = MasterSecret::Load(path);
  ASSERT_TRUE(second.ok());
  std::string nonce = NewLedgerNonce();
  EXPECT_EQ(first->DeriveLedgerKey(nonce)->public_key_text(),
            second->DeriveLedgerKey(nonce)->public_key_text());
  chmod(path.c_str(), 0644);
  EXPECT_EQ(MasterSecret::Load(path).status().code(), absl::StatusCode::kFailedPrecondition);
}

TEST(HostKeysTest, EnvironmentVariableWins) {
  const std::string secret(32, 'e');
  setenv(kMasterKeyEnvVar, EncodeBase64Url(secret).c_str(), 1);
  absl::StatusOr<MasterSecret> loaded = MasterSecret::Load("/nonexistent/dir/key");
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  std::string nonce = NewLedgerNonce();
  EXPECT_EQ(loaded->DeriveLedgerKey(nonce)->public_key_text(),
            MasterSecret::FromBytes(secret)->DeriveLedgerKey(nonce)->public_key_text());
  setenv(kMasterKeyEnvVar, "not base64!", 1);
  EXPECT_FALSE(MasterSecret::Load("").ok());
  unsetenv(kMasterKeyEnvVar);
}

}  // namespace
}  // namespace microledger
