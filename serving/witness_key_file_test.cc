#include "serving/witness_key_file.h"

#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "common/cosignature.h"
#include "common/ed25519.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "serving/whole_file.h"

namespace microledger {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

std::string TempDir(const std::string& name) {
  const char* base = std::getenv("TEST_TMPDIR");
  const std::string dir = std::string(base ? base : "/tmp") + "/" + name;
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

WitnessSigner NewSigner(absl::string_view name) {
  absl::StatusOr<SigningKey> key = SigningKey::Generate();
  EXPECT_TRUE(key.ok());
  absl::StatusOr<WitnessSigner> signer = WitnessSigner::Create(name, *std::move(key));
  EXPECT_TRUE(signer.ok()) << signer.status();
  return *std::move(signer);
}

mode_t ModeOf(const std::string& path) {
  struct stat st {};
  EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
  return st.st_mode & 0777;
}

TEST(WitnessKeyFileTest, WritesMode0600AndLoadsTheSameKey) {
  const std::string path = TempDir("witness_round") + "/witness.key";
  const WitnessSigner signer = NewSigner("witness.example/w1");
  ASSERT_TRUE(WriteWitnessKeyFile(path, signer).ok());
  EXPECT_EQ(ModeOf(path), 0600u);
  EXPECT_EQ(*ReadWholeFile(path), FormatWitnessPrivateKey(signer));

  absl::StatusOr<WitnessSigner> loaded = LoadWitnessKey(path);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ(FormatWitnessVkey(loaded->key()), FormatWitnessVkey(signer.key()));
  const std::string note_text = "jlinx:uAAAA\n1\nroot\n";
  EXPECT_EQ(*loaded->Cosign(note_text, 7), *signer.Cosign(note_text, 7));
}

TEST(WitnessKeyFileTest, NeverOverwrites) {
  const std::string path = TempDir("witness_exists") + "/witness.key";
  const WitnessSigner first = NewSigner("witness.example/w1");
  ASSERT_TRUE(WriteWitnessKeyFile(path, first).ok());
  EXPECT_FALSE(WriteWitnessKeyFile(path, NewSigner("witness.example/w2")).ok());
  EXPECT_EQ(*ReadWholeFile(path), FormatWitnessPrivateKey(first));
}

TEST(WitnessKeyFileTest, RefusesGroupOrOtherAccess) {
  const std::string path = TempDir("witness_mode") + "/witness.key";
  ASSERT_TRUE(WriteWitnessKeyFile(path, NewSigner("witness.example/w1")).ok());
  for (mode_t mode : {0640, 0604, 0620, 0602}) {
    ASSERT_EQ(::chmod(path.c_str(), mode), 0);
    absl::StatusOr<WitnessSigner> loaded = LoadWitnessKey(path);
    ASSERT_FALSE(loaded.ok()) << std::oct << mode;
    EXPECT_EQ(loaded.status().code(), absl::StatusCode::kFailedPrecondition);
    EXPECT_THAT(loaded.status().message(), HasSubstr("chmod 600"));
  }
  ASSERT_EQ(::chmod(path.c_str(), 0400), 0);
  EXPECT_TRUE(LoadWitnessKey(path).ok());
}

TEST(WitnessKeyFileTest, RejectsMissingFileAndBadContentWithoutEchoingIt) {
  const std::string dir = TempDir("witness_bad");
  EXPECT_EQ(LoadWitnessKey(dir + "/absent.key").status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(LoadWitnessKey(dir).status().code(),
            absl::StatusCode::kFailedPrecondition);  // A directory.

  const std::string path = dir + "/witness.key";
  const std::string secret_looking = "PRIVATE+KEY+w+00000000+c2VjcmV0c2VjcmV0\n";
  {
    std::ofstream out(path);
    out << secret_looking;
  }
  ASSERT_EQ(::chmod(path.c_str(), 0600), 0);
  absl::StatusOr<WitnessSigner> loaded = LoadWitnessKey(path);
  ASSERT_FALSE(loaded.ok());
  EXPECT_EQ(loaded.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(loaded.status().message(), Not(HasSubstr("c2VjcmV0c2VjcmV0")));

  {
    std::ofstream out(path, std::ios::trunc);
    out << std::string(kMaxWitnessKeyFileBytes + 1, 'A');
  }
  EXPECT_THAT(LoadWitnessKey(path).status().message(), HasSubstr("too long"));
}

}  // namespace
}  // namespace microledger
