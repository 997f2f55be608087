#include "tools/witness_commands.h"

#include <sys/stat.h>

#include <cstdlib>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/bundle.h"
#include "common/cosignature.h"
#include "common/ed25519.h"
#include "common/test_chain.h"
#include "gtest/gtest.h"
#include "serving/witness_key_file.h"
#include "tools/offline_commands.h"

namespace microledger {
namespace {

std::string TempPath(const std::string& name) {
  return std::string(std::getenv("TEST_TMPDIR")) + "/" + name;
}

std::string ReadFile(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  std::stringstream text;
  text << file.rdbuf();
  return text.str();
}

TEST(WitnessKeygenCommandTest, WritesKeyFileAndPrintsItsVkey) {
  const std::string path = TempPath("w1.key");
  std::ostringstream out, err;
  ASSERT_EQ(RunWitnessKeygen("witness.example/w1", path, out, err), kExitOk) << err.str();
  struct stat info;
  ASSERT_EQ(stat(path.c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0600);
  absl::StatusOr<WitnessSigner> loaded = LoadWitnessKey(path);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ(out.str(), FormatWitnessVkey(loaded->key()) + "\n");
  EXPECT_TRUE(absl::StartsWith(ReadFile(path), "PRIVATE+KEY+witness.example/w1+"));
}

TEST(WitnessKeygenCommandTest, NeverOverwritesAndRefusesBadNames) {
  const std::string path = TempPath("w2.key");
  std::ostringstream out, err;
  ASSERT_EQ(RunWitnessKeygen("witness.example/w2", path, out, err), kExitOk);
  const std::string first = ReadFile(path);
  std::ostringstream out2, err2;
  EXPECT_EQ(RunWitnessKeygen("witness.example/w2", path, out2, err2), kExitUsageOrInput);
  EXPECT_EQ(ReadFile(path), first);
  EXPECT_EQ(out2.str(), "");

  for (const std::string name : {"", "jlinx:uX", "a b", "a+b"}) {
    const std::string bad_path = TempPath("bad.key");
    std::ostringstream bad_out, bad_err;
    EXPECT_EQ(RunWitnessKeygen(name, bad_path, bad_out, bad_err), kExitUsageOrInput)
        << name;
    struct stat info;
    EXPECT_NE(stat(bad_path.c_str(), &info), 0) << name;
  }
}

WitnessSigner NewSigner(const std::string& name) {
  absl::StatusOr<SigningKey> key = SigningKey::Generate();
  EXPECT_TRUE(key.ok());
  absl::StatusOr<WitnessSigner> signer = WitnessSigner::Create(name, *std::move(key));
  EXPECT_TRUE(signer.ok()) << signer.status();
  return *std::move(signer);
}

TEST(WitnessPolicyFlagsTest, NoWitnessIsNoPolicy) {
  absl::StatusOr<std::shared_ptr<const WitnessPolicy>> policy =
      WitnessPolicyFromFlags({}, 0, absl::ZeroDuration());
  ASSERT_TRUE(policy.ok());
  EXPECT_EQ(*policy, nullptr);
  EXPECT_FALSE(WitnessPolicyFromFlags({}, 1, absl::ZeroDuration()).ok());
  EXPECT_FALSE(WitnessPolicyFromFlags({}, 0, absl::Hours(1)).ok());
}

TEST(WitnessPolicyFlagsTest, QuorumDefaultsToAllAndIsChecked) {
  const std::vector<std::string> vkeys = {FormatWitnessVkey(NewSigner("a.example/w").key()),
                                          FormatWitnessVkey(NewSigner("b.example/w").key())};
  absl::StatusOr<std::shared_ptr<const WitnessPolicy>> all =
      WitnessPolicyFromFlags(vkeys, 0, absl::ZeroDuration());
  ASSERT_TRUE(all.ok()) << all.status();
  EXPECT_EQ((*all)->quorum(), 2u);
  EXPECT_EQ((*WitnessPolicyFromFlags(vkeys, 1, absl::ZeroDuration()))->quorum(), 1u);
  EXPECT_FALSE(WitnessPolicyFromFlags(vkeys, 3, absl::ZeroDuration()).ok());
  EXPECT_FALSE(WitnessPolicyFromFlags(vkeys, -1, absl::ZeroDuration()).ok());
  EXPECT_FALSE(WitnessPolicyFromFlags(vkeys, 1, absl::Seconds(-1)).ok());
  EXPECT_FALSE(WitnessPolicyFromFlags({vkeys[0], vkeys[0]}, 1, absl::ZeroDuration()).ok());
  absl::StatusOr<std::shared_ptr<const WitnessPolicy>> bad =
      WitnessPolicyFromFlags({"not-a-vkey"}, 1, absl::ZeroDuration());
  ASSERT_FALSE(bad.ok());
  EXPECT_TRUE(absl::StrContains(bad.status().message(), "--witness=not-a-vkey"));
}

// A bundle whose checkpoint carries cosignatures made here: `verify FILE
// --witness` as readers run it.
class VerifyWithWitnessesTest : public testing::Test {
 protected:
  VerifyWithWitnessesTest()
      : alice_(NewSigner("alice.example/w")),
        bob_(NewSigner("bob.example/w")),
        carol_(NewSigner("carol.example/w")),
        stranger_(NewSigner("stranger.example/w")) {
    chain_.AppendEvents(3);
  }

  // The head checkpoint with `lines` appended.
  std::string Checkpoint(const std::vector<std::string>& lines) const {
    std::string note = chain_.SignedCheckpoint();
    for (const std::string& line : lines) note += line;
    return note;
  }

  std::string NoteText() const {
    const std::string note = chain_.SignedCheckpoint();
    return note.substr(0, note.find("\n\n") + 1);
  }

  // A cosignature line of `signer` made `age` ago.
  std::string Line(const WitnessSigner& signer,
                   absl::Duration age = absl::ZeroDuration()) const {
    absl::StatusOr<std::string> line = signer.Cosign(
        NoteText(), static_cast<uint64_t>(absl::ToUnixSeconds(absl::Now() - age)));
    EXPECT_TRUE(line.ok()) << line.status();
    return *line;
  }

  std::string WriteBundle(const std::string& name,
                          const std::vector<std::string>& checkpoints) const {
    const std::string path = TempPath(name);
    std::ofstream file(path, std::ios::binary | std::ios::trunc);
    BundleWriter writer(file);
    EXPECT_TRUE(writer.WriteHeader(chain_.ledger_id()).ok());
    for (const Block& block : chain_.blocks()) EXPECT_TRUE(writer.WriteBlock(block).ok());
    for (const std::string& note : checkpoints) {
      EXPECT_TRUE(writer.WriteCheckpoint(note).ok());
    }
    return path;
  }

  // The verdict line of `verify FILE --witness=alice,bob,carol
  // --witness_quorum=quorum [--witness_max_age=max_age]`.
  std::string Verify(const std::string& path, int64_t quorum, int expected_exit,
                     absl::Duration max_age = absl::ZeroDuration()) const {
    absl::StatusOr<std::shared_ptr<const WitnessPolicy>> policy = WitnessPolicyFromFlags(
        {FormatWitnessVkey(alice_.key()), FormatWitnessVkey(bob_.key()),
         FormatWitnessVkey(carol_.key())},
        quorum, max_age);
    EXPECT_TRUE(policy.ok()) << policy.status();
    std::ostringstream out, err;
    EXPECT_EQ(RunVerify(path, false, out, err, kDefaultMaxBundleLineBytes, *policy),
              expected_exit)
        << out.str() << err.str();
    return out.str();
  }

  std::string OkLine() const {
    return absl::StrCat("OK ", chain_.ledger_id(), " ", chain_.blocks().size(),
                        " blocks\n");
  }

  TestChain chain_;
  const WitnessSigner alice_;
  const WitnessSigner bob_;
  const WitnessSigner carol_;
  const WitnessSigner stranger_;
};

TEST_F(VerifyWithWitnessesTest, QuorumMetIsOk) {
  const std::string path =
      WriteBundle("met.jsonl", {Checkpoint({Line(alice_), Line(carol_)})});
  EXPECT_EQ(Verify(path, 2, kExitOk), OkLine());
}

TEST_F(VerifyWithWitnessesTest, QuorumNotMetFailsSayingHowFar) {
  const std::string path =
      WriteBundle("unmet.jsonl", {Checkpoint({Line(alice_), Line(alice_)})});
  // Header, four blocks, then the checkpoint on line 6.
  EXPECT_EQ(Verify(path, 2, kExitVerifyFailed),
            "FAIL block 0: checkpoint: witnessed by 1 of 2 required witnesses (line 6)\n");
  // Without a policy the same bundle is fine.
  std::ostringstream out, err;
  EXPECT_EQ(RunVerify(path, false, out, err), kExitOk);
}

TEST_F(VerifyWithWitnessesTest, EveryCheckpointMustBeWitnessed) {
  const std::string path = WriteBundle(
      "second_unwitnessed.jsonl",
      {Checkpoint({Line(alice_), Line(bob_)}), chain_.SignedCheckpoint(2)});
  EXPECT_EQ(Verify(path, 1, kExitVerifyFailed),
            "FAIL block 0: checkpoint: witnessed by 0 of 1 required witnesses (line 7)\n");
}

TEST_F(VerifyWithWitnessesTest, TamperedTrustedLineFails) {
  std::string line = Line(bob_);
  // The last base64 character before "==" holds signature bits only.
  const size_t pad = line.rfind("==\n");
  ASSERT_NE(pad, std::string::npos);
  line[pad - 1] = line[pad - 1] == 'A' ? 'Q' : 'A';
  const std::string path =
      WriteBundle("tampered.jsonl", {Checkpoint({Line(alice_), Line(carol_), line})});
  EXPECT_EQ(Verify(path, 1, kExitVerifyFailed),
            "FAIL block 0: checkpoint: witness bob.example/w: cosignature does not "
            "verify (line 6)\n");
}

TEST_F(VerifyWithWitnessesTest, UnknownWitnessLinesAreIgnored) {
  std::string tampered_stranger = Line(stranger_);
  const size_t pad = tampered_stranger.rfind("==\n");
  tampered_stranger[pad - 1] = tampered_stranger[pad - 1] == 'A' ? 'Q' : 'A';
  const std::string path = WriteBundle(
      "strangers.jsonl", {Checkpoint({Line(stranger_), tampered_stranger, Line(bob_)})});
  EXPECT_EQ(Verify(path, 1, kExitOk), OkLine());
  EXPECT_EQ(Verify(path, 2, kExitVerifyFailed),
            "FAIL block 0: checkpoint: witnessed by 1 of 2 required witnesses (line 6)\n");
}

TEST_F(VerifyWithWitnessesTest, TooOldCosignaturesDoNotCount) {
  const std::string path = WriteBundle(
      "old.jsonl", {Checkpoint({Line(alice_, absl::Hours(48)), Line(bob_)})});
  EXPECT_EQ(Verify(path, 2, kExitOk), OkLine());
  EXPECT_EQ(Verify(path, 2, kExitVerifyFailed, absl::Hours(24)),
            "FAIL block 0: checkpoint: witnessed by 1 of 2 required witnesses; 1 "
            "cosignature too old (line 6)\n");
}

TEST_F(VerifyWithWitnessesTest, NoCheckpointFails) {
  const std::string path = WriteBundle("none.jsonl", {});
  EXPECT_EQ(Verify(path, 1, kExitVerifyFailed),
            "FAIL block 0: checkpoint: none, and the witness policy needs a witnessed "
            "checkpoint\n");
}

}  // namespace
}  // namespace microledger
