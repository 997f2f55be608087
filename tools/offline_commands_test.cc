#include "tools/offline_commands.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/bundle.h"
#include "common/ed25519.h"
#include "common/encoding.h"
#include "common/test_chain.h"
#include "gtest/gtest.h"

namespace microledger {
namespace {

std::string TempPath(const std::string& name) {
  return std::string(getenv("TEST_TMPDIR")) + "/" + name;
}

std::string ReadFile(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  std::stringstream text;
  text << file.rdbuf();
  return text.str();
}

void WriteFile(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << text;
}

TEST(CanonicalizeCommandTest, WritesJcsBytes) {
  std::istringstream in(R"({ "b": [1.0, 2e1], "a": "\u00e9" })");
  std::ostringstream out, err;
  EXPECT_EQ(RunCanonicalize(in, out, err), kExitOk);
  EXPECT_EQ(out.str(), "{\"a\":\"\xc3\xa9\",\"b\":[1,20]}");
  EXPECT_EQ(err.str(), "");
}

TEST(CanonicalizeCommandTest, BadInputIsOneLineAndExitTwo) {
  std::istringstream in(R"({"a":1,"a":2})");
  std::ostringstream out, err;
  EXPECT_EQ(RunCanonicalize(in, out, err), kExitUsageOrInput);
  EXPECT_EQ(out.str(), "");
  const std::string message = err.str();
  EXPECT_TRUE(absl::StrContains(message, "duplicate member name")) << message;
  EXPECT_EQ(std::count(message.begin(), message.end(), '\n'), 1);
}

TEST(KeygenCommandTest, WritesSecretWithMode0600AndPrintsPublicKey) {
  const std::string path = TempPath("owner.key");
  std::ostringstream out, err;
  ASSERT_EQ(RunKeygen(path, out, err), kExitOk) << err.str();
  struct stat info;
  ASSERT_EQ(stat(path.c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0600);

  std::string secret = ReadFile(path);
  ASSERT_EQ(secret.back(), '\n');
  secret.pop_back();
  absl::StatusOr<std::string> seed = DecodeMultibase(secret);
  ASSERT_TRUE(seed.ok()) << seed.status();
  absl::StatusOr<SigningKey> key = SigningKey::FromSeed(absl::MakeConstSpan(
      reinterpret_cast<const uint8_t*>(seed->data()), seed->size()));
  ASSERT_TRUE(key.ok());
  EXPECT_EQ(out.str(), key->public_key_text() + "\n");
}

TEST(KeygenCommandTest, NeverOverwritesAnExistingFile) {
  const std::string path = TempPath("existing.key");
  WriteFile(path, "keep me\n");
  std::ostringstream out, err;
  EXPECT_EQ(RunKeygen(path, out, err), kExitUsageOrInput);
  EXPECT_EQ(ReadFile(path), "keep me\n");
  EXPECT_EQ(out.str(), "");
  EXPECT_FALSE(err.str().empty());
}

class SampleAndVerifyTest : public testing::Test {
 protected:
  int Sample(uint64_t blocks, const std::string& path) {
    std::ostringstream out, err;
    const int code = RunSample(blocks, path, out, err);
    sample_err_ = err.str();
    return code;
  }

  int Verify(const std::string& path) {
    std::ostringstream out, err;
    const int code = RunVerify(path, false, out, err);
    verify_out_ = out.str();
    verify_err_ = err.str();
    return code;
  }

  std::string sample_err_, verify_out_, verify_err_;
};

TEST_F(SampleAndVerifyTest, SampleVerifies) {
  const std::string path = TempPath("sample.jsonl");
  ASSERT_EQ(Sample(50, path), kExitOk);
  EXPECT_TRUE(absl::StrContains(sample_err_, "NOT the two-machine mode"));
  EXPECT_EQ(Verify(path), kExitOk) << verify_out_;
  EXPECT_TRUE(absl::StartsWith(verify_out_, "OK jlinx:u")) << verify_out_;
  EXPECT_TRUE(absl::EndsWith(verify_out_, " 50 blocks\n")) << verify_out_;
  EXPECT_EQ(verify_err_, "");
}

TEST_F(SampleAndVerifyTest, SampleHasCheckpointAndAttachment) {
  const std::string path = TempPath("sample3.jsonl");
  ASSERT_EQ(Sample(3, path), kExitOk);
  const std::vector<std::string> lines =
      absl::StrSplit(ReadFile(path), '\n', absl::SkipEmpty());
  ASSERT_EQ(lines.size(), 6u);
  EXPECT_TRUE(absl::StartsWith(lines[0], "{\"bundle\":"));
  EXPECT_TRUE(absl::StartsWith(lines[4], "{\"checkpoint\":"));
  EXPECT_TRUE(absl::StartsWith(lines[5], "{\"attachment\":"));
}

TEST_F(SampleAndVerifyTest, ZeroBlocks) {
  const std::string path = TempPath("empty.jsonl");
  ASSERT_EQ(Sample(0, path), kExitOk);
  EXPECT_EQ(Verify(path), kExitOk);
  EXPECT_TRUE(absl::EndsWith(verify_out_, " 0 blocks\n")) << verify_out_;
}

TEST_F(SampleAndVerifyTest, TamperedBlockFailsAtItsPosition) {
  const std::string path = TempPath("tampered.jsonl");
  ASSERT_EQ(Sample(20, path), kExitOk);
  std::vector<std::string> lines = absl::StrSplit(ReadFile(path), '\n');
  const size_t at = lines[7].find("\"n\":7");
  ASSERT_NE(at, std::string::npos);
  lines[7].replace(at, 5, "\"n\":8");
  WriteFile(path, absl::StrJoin(lines, "\n"));
  EXPECT_EQ(Verify(path), kExitVerifyFailed);
  EXPECT_TRUE(absl::StartsWith(verify_out_, "FAIL block 7: fingerprint")) << verify_out_;
}

TEST_F(SampleAndVerifyTest, UnreadableFileIsExitTwoWithNothingOnStdout) {
  EXPECT_EQ(Verify(TempPath("does-not-exist.jsonl")), kExitUsageOrInput);
  EXPECT_EQ(verify_out_, "");
  EXPECT_EQ(std::count(verify_err_.begin(), verify_err_.end(), '\n'), 1);
}

TEST_F(SampleAndVerifyTest, DirectoryIsExitTwo) {
  EXPECT_EQ(Verify(getenv("TEST_TMPDIR")), kExitUsageOrInput);
  EXPECT_EQ(verify_out_, "");
}

}  // namespace
}  // namespace microledger

namespace microledger {
namespace {

// Writes `chain` as a bundle file with a checkpoint at its head, returns the path.
std::string WriteChainBundle(const TestChain& chain, const std::string& name,
                             const std::string& attachment = "") {
  const std::string path = TempPath(name);
  std::ofstream file(path, std::ios::binary);
  BundleWriter writer(file);
  EXPECT_TRUE(writer.WriteHeader(chain.ledger_id()).ok());
  for (const Block& block : chain.blocks()) EXPECT_TRUE(writer.WriteBlock(block).ok());
  EXPECT_TRUE(writer.WriteCheckpoint(chain.SignedCheckpoint()).ok());
  if (!attachment.empty()) {
    EXPECT_TRUE(writer.WriteAttachment(DigestText(attachment), "a.txt", attachment).ok());
  }
  return path;
}

std::string VerifyLine(const std::string& path, int expected_exit,
                       size_t max_line_bytes = kDefaultMaxBundleLineBytes) {
  std::ostringstream out, err;
  EXPECT_EQ(RunVerify(path, false, out, err, max_line_bytes), expected_exit)
      << out.str() << err.str();
  return out.str();
}

std::string OkLine(const TestChain& chain) {
  return "OK " + chain.ledger_id() + " " + std::to_string(chain.blocks().size()) +
         " blocks\n";
}

TEST(VerifyLedgerKindsTest, TwoOfThreeMultisig) {
  TestChain chain(3, 2);
  chain.AppendEvents(5);
  EXPECT_EQ(VerifyLine(WriteChainBundle(chain, "multisig.jsonl"), kExitOk),
            OkLine(chain));
}

TEST(VerifyLedgerKindsTest, OwnershipTransferThenOldKeyRefused) {
  TestChain chain;
  chain.AppendEvents(2);
  chain.Append(chain.Make({{"event", "transferred ownership"}},
                          Controllers{1, {chain.stranger(0).public_key_text()}}));
  chain.AppendEvents(2);
  EXPECT_EQ(VerifyLine(WriteChainBundle(chain, "transfer.jsonl"), kExitOk),
            OkLine(chain));

  TestChain forged;
  forged.AppendEvents(1);
  forged.Append(forged.Make({{"event", "transferred ownership"}},
                            Controllers{1, {forged.stranger(0).public_key_text()}}));
  std::vector<Block> blocks = forged.blocks();
  blocks.push_back(forged.Reseal(forged.Make({{"event", "x"}}), {&forged.owner(0)}));
  const std::string path = TempPath("forged.jsonl");
  {
    std::ofstream file(path, std::ios::binary);
    BundleWriter writer(file);
    ASSERT_TRUE(writer.WriteHeader(forged.ledger_id()).ok());
    for (const Block& block : blocks) ASSERT_TRUE(writer.WriteBlock(block).ok());
  }
  EXPECT_TRUE(absl::StartsWith(VerifyLine(path, kExitVerifyFailed),
                               "FAIL block 4: owner signatures"));
}

TEST(VerifyLedgerKindsTest, SealWithAttachment) {
  TestChain chain;
  chain.AppendEvents(1);
  const std::string attachment = "the contract, version 3";
  chain.Append(chain.Make({{"event", "sealed"}}, std::nullopt,
                          std::vector<std::string>{DigestText(attachment)}));
  EXPECT_EQ(VerifyLine(WriteChainBundle(chain, "sealed.jsonl", attachment), kExitOk),
            OkLine(chain));
  EXPECT_TRUE(absl::StartsWith(
      VerifyLine(WriteChainBundle(chain, "unsealed.jsonl", "another text"),
                 kExitVerifyFailed),
      "FAIL block 0: attachment"));
}

// A line longer than --max_line_bytes is a FAIL at its position (exit 1,
// nothing on stderr), not a read error: here a 13 MiB attachment, 17.3 MiB in
// base64, against the default 16 MiB.
TEST(VerifyLedgerKindsTest, LineLongerThanTheLimitFailsAtItsPosition) {
  TestChain chain;
  const std::string data(13 << 20, 'd');
  chain.AppendEvents(1);
  chain.Append(chain.Make({{"event", "sealed"}}, std::nullopt,
                          std::vector<std::string>{DigestText(data)}));
  const std::string path = WriteChainBundle(chain, "long_line.jsonl", data);
  std::ostringstream out, err;
  EXPECT_EQ(RunVerify(path, false, out, err), kExitVerifyFailed);
  EXPECT_EQ(out.str(),
            "FAIL block 0: line: is longer than 16777216 bytes, the longest this verifier "
            "reads (mlctl verify --max_line_bytes) (line 6)\n");
  EXPECT_EQ(err.str(), "");
  EXPECT_EQ(VerifyLine(path, kExitOk, size_t{24} << 20), OkLine(chain));
}

TEST(VerifyLedgerKindsTest, MovedDocumentAndBecameDocument) {
  TestChain old_chain, new_chain;
  old_chain.AppendEvents(2);
  old_chain.MoveTo(new_chain);
  new_chain.AppendEvents(1);
  new_chain.Append(new_chain.Make({{"event", "closed document"}}));
  EXPECT_EQ(VerifyLine(WriteChainBundle(old_chain, "old.jsonl"), kExitOk),
            OkLine(old_chain));
  EXPECT_EQ(VerifyLine(WriteChainBundle(new_chain, "new.jsonl"), kExitOk),
            OkLine(new_chain));
}

}  // namespace
}  // namespace microledger
