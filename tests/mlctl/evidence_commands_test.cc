// mlctl's evidence commands (tools/evidence_commands.h): `evidence verify FILE`
// on real SPEC §11 evidence (a fork made with one host key) and on broken
// files, and `evidence get --from` against a HostService that serves valid,
// foreign and invalid evidence or none (UNIMPLEMENTED), and against ml-host.
#include "tools/evidence_commands.h"

#include <fstream>
#include <sstream>

#include "common/checkpoint.h"
#include "common/ed25519.h"
#include "common/encoding.h"
#include "common/evidence.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "serving/whole_file.h"
#include "tests/host/host_process.h"
#include "tests/mlctl/lying_server.h"
#include "tools/offline_commands.h"

namespace microledger {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

struct Fork {
  std::string ledger;
  std::string evidence;  // `checkpoints` evidence: two roots for tree size 3.
};

Fork MakeFork() {
  absl::StatusOr<SigningKey> host = SigningKey::Generate();
  EXPECT_TRUE(host.ok());
  Fork fork;
  fork.ledger = LedgerIdFromPublicKeyText(host->public_key_text());
  Checkpoint a{fork.ledger, 3, {}};
  Checkpoint b{fork.ledger, 3, {}};
  b.root_hash[0] = 1;
  absl::StatusOr<std::string> evidence = BuildCheckpointsEvidence(
      fork.ledger, SignCheckpoint(a, *host), SignCheckpoint(b, *host));
  EXPECT_TRUE(evidence.ok()) << evidence.status();
  fork.evidence = evidence.ok() ? *evidence : "";
  return fork;
}

std::string WriteTemp(const std::string& name, const std::string& bytes) {
  const std::string path = NewTempDir("mlctl_evidence") + "/" + name;
  std::ofstream(path, std::ios::binary) << bytes;
  return path;
}

int Lines(const std::string& text) { return std::count(text.begin(), text.end(), '\n'); }

TEST(EvidenceVerifyTest, ValidEvidence) {
  const Fork fork = MakeFork();
  std::ostringstream out, err;
  EXPECT_EQ(RunEvidenceVerify(WriteTemp("e.json", fork.evidence), out, err), kExitOk)
      << out.str() << err.str();
  EXPECT_EQ(out.str(),
            "EVIDENCE " + fork.ledger + " checkpoints " + EvidenceId(fork.evidence) + "\n");
  EXPECT_EQ(err.str(), "");
}

TEST(EvidenceVerifyTest, InvalidEvidence) {
  const Fork fork = MakeFork();
  // A trailing newline: an evidence file holds exactly the JCS bytes.
  for (const std::string& bytes : {fork.evidence + "\n", std::string("{}"), std::string("")}) {
    std::ostringstream out, err;
    EXPECT_EQ(RunEvidenceVerify(WriteTemp("bad.json", bytes), out, err), kExitVerifyFailed);
    EXPECT_THAT(out.str(), StartsWith("INVALID: "));
    EXPECT_EQ(Lines(out.str()), 1);
    EXPECT_EQ(err.str(), "");
  }
}

TEST(EvidenceVerifyTest, UnreadableFileIsExit2) {
  std::ostringstream out, err;
  EXPECT_EQ(RunEvidenceVerify("/nonexistent/e.json", out, err), kExitUsageOrInput);
  EXPECT_EQ(out.str(), "");
  EXPECT_THAT(err.str(), StartsWith("mlctl evidence verify: "));
  EXPECT_EQ(Lines(err.str()), 1);
}

class EvidenceGetTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto host = HostProcess::Start({"--storage=memory"});
    ASSERT_TRUE(host.ok()) << host.status();
    host_ = *std::move(host);
    fork_ = MakeFork();
  }

  std::unique_ptr<LyingServer> Serving(std::vector<std::string> evidence, Lie lie) {
    LieOptions options;
    options.lie = lie;
    options.evidence = std::move(evidence);
    auto server = LyingServer::Start(host_->address(), options);
    EXPECT_TRUE(server.ok()) << server.status();
    return server.ok() ? *std::move(server) : nullptr;
  }

  static std::unique_ptr<ServerReader> Reader(const std::string& address) {
    ServerOptions options;
    options.address = address;
    options.timeout_seconds = 5;
    auto reader = ServerReader::Create(options);
    EXPECT_TRUE(reader.ok()) << reader.status();
    return reader.ok() ? *std::move(reader) : nullptr;
  }

  std::unique_ptr<HostProcess> host_;
  Fork fork_;
};

TEST_F(EvidenceGetTest, PrintsAndWritesValidEvidence) {
  std::unique_ptr<LyingServer> server = Serving({fork_.evidence}, Lie::kEvidence);
  std::unique_ptr<ServerReader> reader = Reader(server->address());
  std::ostringstream out, err;
  EXPECT_EQ(RunEvidenceGet(*reader, fork_.ledger, "", out, err), kExitOk) << err.str();
  EXPECT_EQ(out.str(), fork_.evidence + "\n");

  const std::string dir = NewTempDir("mlctl_evidence_out");
  std::ostringstream written;
  EXPECT_EQ(RunEvidenceGet(*reader, fork_.ledger, dir, written, err), kExitOk) << err.str();
  const std::string path = dir + "/" + EvidenceId(fork_.evidence) + ".json";
  EXPECT_EQ(written.str(), path + "\n");
  absl::StatusOr<std::string> bytes = ReadWholeFile(path);
  ASSERT_TRUE(bytes.ok()) << bytes.status();
  EXPECT_EQ(*bytes, fork_.evidence);
  std::ostringstream verified;
  EXPECT_EQ(RunEvidenceVerify(path, verified, err), kExitOk);
}

TEST_F(EvidenceGetTest, NoEvidencePrintsNothing) {
  std::unique_ptr<LyingServer> server = Serving({}, Lie::kEvidence);
  std::unique_ptr<ServerReader> reader = Reader(server->address());
  std::ostringstream out, err;
  EXPECT_EQ(RunEvidenceGet(*reader, fork_.ledger, "", out, err), kExitOk);
  EXPECT_EQ(out.str(), "");
  EXPECT_EQ(err.str(), "");
}

TEST_F(EvidenceGetTest, ForeignOrInvalidEvidenceFails) {
  const Fork other = MakeFork();
  for (const std::string& bad : {other.evidence, fork_.evidence + " "}) {
    std::unique_ptr<LyingServer> server = Serving({fork_.evidence, bad}, Lie::kEvidence);
    std::unique_ptr<ServerReader> reader = Reader(server->address());
    const std::string dir = NewTempDir("mlctl_evidence_bad");
    std::ostringstream out, err;
    EXPECT_EQ(RunEvidenceGet(*reader, fork_.ledger, dir, out, err), kExitVerifyFailed);
    EXPECT_EQ(out.str(), "");
    EXPECT_THAT(err.str(), StartsWith("mlctl evidence get: FAIL: object 2 "));
    EXPECT_EQ(Lines(err.str()), 1);
    EXPECT_FALSE(ReadWholeFile(dir + "/" + EvidenceId(fork_.evidence) + ".json").ok());
  }
}

TEST_F(EvidenceGetTest, ServerErrorsAreExit2) {
  std::unique_ptr<LyingServer> server = Serving({}, Lie::kNone);  // UNIMPLEMENTED.
  std::unique_ptr<ServerReader> reader = Reader(server->address());
  std::ostringstream out, err;
  EXPECT_EQ(RunEvidenceGet(*reader, fork_.ledger, "", out, err), kExitUsageOrInput);
  EXPECT_EQ(out.str(), "");
  EXPECT_THAT(err.str(), HasSubstr(": GetLedgerEvidence: UNIMPLEMENTED: "));
  EXPECT_EQ(Lines(err.str()), 1);

  // ml-host: UNIMPLEMENTED until it keeps evidence, then NOT_FOUND for a
  // ledger it never held; an error either way.
  std::unique_ptr<ServerReader> host = Reader(host_->address());
  std::ostringstream host_out, host_err;
  EXPECT_EQ(RunEvidenceGet(*host, fork_.ledger, "", host_out, host_err), kExitUsageOrInput);
  EXPECT_EQ(host_out.str(), "");
  EXPECT_EQ(Lines(host_err.str()), 1);

  ServerOptions options;
  options.address = "127.0.0.1:1";
  options.timeout_seconds = 1;
  auto unreachable = ServerReader::Create(options);
  ASSERT_TRUE(unreachable.ok());
  std::ostringstream un_out, un_err;
  EXPECT_EQ(RunEvidenceGet(**unreachable, fork_.ledger, "", un_out, un_err), kExitUsageOrInput);
  EXPECT_THAT(un_err.str(), HasSubstr("cannot reach the server at 127.0.0.1:1"));
}

}  // namespace
}  // namespace microledger
