// LoadPassphrase (keystore.h): the passphrase file's first line, its
// permissions and size, and the environment variable.
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "owner_agent/keystore.h"

namespace microledger {
namespace {

using ::testing::HasSubstr;

// A fresh, empty directory under the test's temporary directory.
std::string NewTempDir() {
  const char* root = std::getenv("TEST_TMPDIR");
  std::string pattern = absl::StrCat(root != nullptr ? root : "/tmp", "/passphrase_XXXXXX");
  if (::mkdtemp(pattern.data()) == nullptr) ADD_FAILURE() << "mkdtemp failed";
  return pattern;
}

void WriteFile(const std::string& path, absl::string_view contents, mode_t mode) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << contents;
  out.close();
  ASSERT_EQ(::chmod(path.c_str(), mode), 0) << path;
}

class LoadPassphraseTest : public testing::Test {
 protected:
  void SetUp() override {
    ::unsetenv(kPassphraseEnvVar);
    dir_ = NewTempDir();
  }
  void TearDown() override { ::unsetenv(kPassphraseEnvVar); }

  std::string PassphraseFile(absl::string_view contents, mode_t mode = 0600) {
    const std::string path = absl::StrCat(dir_, "/passphrase");
    WriteFile(path, contents, mode);
    return path;
  }

  std::string dir_;
};

TEST_F(LoadPassphraseTest, ReadsFirstLineOfFile) {
  absl::StatusOr<std::string> passphrase = LoadPassphrase(PassphraseFile("secret words\n"));
  ASSERT_TRUE(passphrase.ok()) << passphrase.status();
  EXPECT_EQ(*passphrase, "secret words");
}

TEST_F(LoadPassphraseTest, FileWithoutTrailingNewline) {
  absl::StatusOr<std::string> passphrase = LoadPassphrase(PassphraseFile("secret"));
  ASSERT_TRUE(passphrase.ok()) << passphrase.status();
  EXPECT_EQ(*passphrase, "secret");
}

TEST_F(LoadPassphraseTest, StripsCarriageReturnAndIgnoresLaterLines) {
  absl::StatusOr<std::string> passphrase =
      LoadPassphrase(PassphraseFile("secret \r\nsecond line\n"));
  ASSERT_TRUE(passphrase.ok()) << passphrase.status();
  EXPECT_EQ(*passphrase, "secret ");
}

TEST_F(LoadPassphraseTest, EmptyFileIsRefused) {
  absl::StatusOr<std::string> passphrase = LoadPassphrase(PassphraseFile(""));
  EXPECT_TRUE(absl::IsInvalidArgument(passphrase.status())) << passphrase.status();
  EXPECT_THAT(std::string(passphrase.status().message()), HasSubstr("empty"));
}

TEST_F(LoadPassphraseTest, EmptyFirstLineIsRefused) {
  EXPECT_TRUE(absl::IsInvalidArgument(LoadPassphrase(PassphraseFile("\nsecret\n")).status()));
}

TEST_F(LoadPassphraseTest, FileOthersCanReadIsRefused) {
  const std::string path = PassphraseFile("secret\n", 0640);
  absl::StatusOr<std::string> passphrase = LoadPassphrase(path);
  EXPECT_TRUE(absl::IsFailedPrecondition(passphrase.status())) << passphrase.status();
  EXPECT_THAT(std::string(passphrase.status().message()), HasSubstr("chmod 600"));
  EXPECT_THAT(std::string(passphrase.status().message()), HasSubstr(path));
}

TEST_F(LoadPassphraseTest, OversizedFileIsRefused) {
  EXPECT_TRUE(absl::IsInvalidArgument(
      LoadPassphrase(PassphraseFile(std::string(kMaxPassphraseFileSize + 1, 'a')))
          .status()));
}

TEST_F(LoadPassphraseTest, MissingFileIsNotFound) {
  absl::StatusOr<std::string> passphrase = LoadPassphrase(absl::StrCat(dir_, "/absent"));
  EXPECT_TRUE(absl::IsNotFound(passphrase.status())) << passphrase.status();
}

TEST_F(LoadPassphraseTest, ReadsEnvironmentVariableWithoutFile) {
  ASSERT_EQ(::setenv(kPassphraseEnvVar, "from env", 1), 0);
  absl::StatusOr<std::string> passphrase = LoadPassphrase("");
  ASSERT_TRUE(passphrase.ok()) << passphrase.status();
  EXPECT_EQ(*passphrase, "from env");
}

TEST_F(LoadPassphraseTest, FileTakesPrecedenceOverEnvironment) {
  ASSERT_EQ(::setenv(kPassphraseEnvVar, "from env", 1), 0);
  absl::StatusOr<std::string> passphrase = LoadPassphrase(PassphraseFile("from file\n"));
  ASSERT_TRUE(passphrase.ok()) << passphrase.status();
  EXPECT_EQ(*passphrase, "from file");
}

TEST_F(LoadPassphraseTest, EmptyEnvironmentVariableIsRefused) {
  ASSERT_EQ(::setenv(kPassphraseEnvVar, "", 1), 0);
  EXPECT_TRUE(absl::IsInvalidArgument(LoadPassphrase("").status()));
}

TEST_F(LoadPassphraseTest, NoSourceIsInvalidArgumentNamingBoth) {
  absl::StatusOr<std::string> passphrase = LoadPassphrase("");
  EXPECT_TRUE(absl::IsInvalidArgument(passphrase.status())) << passphrase.status();
  EXPECT_THAT(std::string(passphrase.status().message()), HasSubstr(kPassphraseEnvVar));
  EXPECT_THAT(std::string(passphrase.status().message()), HasSubstr("passphrase file"));
}

}  // namespace
}  // namespace microledger
