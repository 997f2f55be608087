// The fork drill seen by witnesses (issue #14), every component a real
// process on loopback: three ml-witness processes, quorum 2, are the witness
// policy of two owner agents. A ledger of two blocks is made on ml-host A
// through the agent; A's data directory (master key included) and the agent's
// keystore are copied while both are stopped (a backup). Block 3 is appended
// on A and witnessed. Then the backup is restored in A's place (the same
// address, so the restored agent copy needs no repointing) and the restored
// agent copy appends another block 3 there: the host key has signed two
// histories.
//
// The witnesses refuse the second history (422: same size, other root) and
// keep SPEC §11 evidence; the restored agent turns their refusal into the same
// evidence (one id everywhere: both notes are reduced to the ledger key's
// line), freezes the ledger, and hands the evidence to its host, which freezes
// it too. Its append succeeded but was not witnessed. When A's own data is
// back, the first agent's next submission is answered "frozen" by the
// witnesses: it fetches their evidence, freezes the ledger and hands it to A.
// Every component ends frozen by the same evidence id.
#include <unistd.h>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/evidence.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/fork/mirror_process.h"
#include "tests/host/grpc_client.h"
#include "tests/owner/disk_host.h"
#include "tests/owner/witness_set.h"

namespace microledger {
namespace {

namespace fs = std::filesystem;
using ::testing::AnyOf;
using ::testing::Eq;
using ::testing::HasSubstr;
using Code = grpc::StatusCode;

grpc::Status AppendWitnessed(AgentStub& stub, const std::string& ledger, const std::string& event,
                             v1::BlockOutcome* out) {
  v1::AppendEventRequest request;
  request.set_ledger_id(ledger);
  request.set_event_json(event);
  request.set_wait_witnessed(true);
  request.set_witness_timeout_millis(30000);
  grpc::Status status;
  // Bounded retries while the agent reconnects to a restarted host.
  for (int i = 0; i < 50; ++i) {
    status = stub.AppendEvent(Ctx(90).get(), request, out);
    if (status.error_code() != Code::UNAVAILABLE) break;
    usleep(100 * 1000);
  }
  return status;
}

// Polls the agent's evidence (every 100 ms, at most 30 s) until it holds
// evidence with an id; that one, or empty.
v1::Evidence WaitForAgentEvidence(AgentStub& stub, const std::string& ledger) {
  for (int i = 0; i < 300; ++i) {
    for (const v1::Evidence& evidence : EvidenceOf(stub, ledger)) {
      if (!evidence.evidence_id().empty()) return evidence;
    }
    usleep(100 * 1000);
  }
  return v1::Evidence();
}

// Polls a host's GetLedger (every 100 ms, at most 30 s) until it says frozen.
v1::GetLedgerResponse WaitForFrozenHost(const std::string& address, const std::string& ledger) {
  auto host = Connect(address);
  v1::GetLedgerResponse info;
  for (int i = 0; i < 300; ++i) {
    if (HostLedger(*host, ledger, &info).ok() && info.frozen()) break;
    usleep(100 * 1000);
  }
  return info;
}

void ExpectAgentRefuses(AgentStub& stub, const std::string& ledger,
                        const std::string& evidence_id) {
  v1::BlockOutcome outcome;
  grpc::Status status = Append(stub, ledger, R"({"event":"refused"})", &outcome);
  EXPECT_EQ(status.error_code(), Code::FAILED_PRECONDITION) << Msg(status);
  EXPECT_THAT(status.error_message(), HasSubstr(evidence_id));
}

TEST(WitnessForkDrillTest, WitnessesRefuseTheSecondHistoryAndEveryComponentFreezes) {
  absl::StatusOr<std::unique_ptr<WitnessSet>> witnesses = WitnessSet::Start(3);
  ASSERT_TRUE(witnesses.ok()) << witnesses.status();
  std::vector<std::string> flags = (*witnesses)->AgentFlags(2);
  DiskHost host("witness_fork_host");
  const std::string keystore = NewTempDir("witness_fork_agent") + "/ks";
  const std::string keystore_copy = NewTempDir("witness_fork_agent_copy") + "/ks";

  // Two blocks on A, then the backup of A and of the agent's keystore.
  ASSERT_TRUE(host.Start().ok());
  std::string ledger;
  {
    auto agent = StartOwner(keystore, host.address(), flags);
    ASSERT_NE(agent, nullptr);
    ASSERT_TRUE(CreateLedgerWithEvents(*agent->Stub(), 1, R"({"event":"before"})", &ledger).ok());
  }
  host.Stop();
  const std::string backup = host.CopyData("witness_fork_backup");
  fs::copy(keystore, keystore_copy, fs::copy_options::recursive);

  // Block 3 on A, witnessed.
  ASSERT_TRUE(host.Start().ok());
  v1::BlockOutcome outcome;
  {
    auto agent = StartOwner(keystore, host.address(), flags);
    ASSERT_NE(agent, nullptr);
    grpc::Status status = AppendWitnessed(*agent->Stub(), ledger, R"({"event":"on A"})", &outcome);
    ASSERT_TRUE(status.ok()) << Msg(status);
    ASSERT_EQ(outcome.committed().number(), 3u);
    ASSERT_TRUE(outcome.witnessed()) << outcome.witness_detail();
  }
  const std::string checkpoint_a = outcome.committed().checkpoint();
  host.Stop();
  const std::string data_a = host.CopyData("witness_fork_a");

  // The backup restored in A's place; the restored agent appends another
  // block 3 there. It is committed, not witnessed, and the agent froze the
  // ledger on the witnesses' evidence.
  host.ReplaceData(backup);
  ASSERT_TRUE(host.Start().ok());
  std::string evidence_id;
  {
    auto agent = StartOwner(keystore_copy, host.address(), flags);
    ASSERT_NE(agent, nullptr);
    auto stub = agent->Stub();
    grpc::Status status = AppendWitnessed(*stub, ledger, R"({"event":"on the backup"})", &outcome);
    ASSERT_TRUE(status.ok()) << Msg(status);
    ASSERT_EQ(outcome.committed().number(), 3u);
    EXPECT_FALSE(outcome.witnessed());
    EXPECT_THAT(outcome.witness_detail(), HasSubstr("frozen"));
    const v1::Evidence evidence = WaitForAgentEvidence(*stub, ledger);
    // "witness" when the agent built it from the refusal, "reported" when a
    // witness had frozen the ledger on the agent's first request (a 409 of
    // the same size with another root is evidence too, SPEC §12).
    EXPECT_THAT(evidence.kind(), AnyOf(Eq("witness"), Eq("reported"))) << evidence.detail();
    absl::StatusOr<EvidenceInfo> info = ValidateEvidence(evidence.evidence_object());
    ASSERT_TRUE(info.ok()) << info.status();
    EXPECT_EQ(info->ledger, ledger);
    EXPECT_EQ(info->kind, EvidenceKind::kCheckpoints);
    EXPECT_EQ(info->id, evidence.evidence_id());
    evidence_id = info->id;
    ExpectAgentRefuses(*stub, ledger, evidence_id);
    // Handed to the restored host, which froze the ledger.
    const v1::GetLedgerResponse frozen = WaitForFrozenHost(host.address(), ledger);
    EXPECT_TRUE(frozen.frozen());
    EXPECT_EQ(frozen.evidence_id(), evidence_id);
  }
  // Every witness refused the second history and keeps the same evidence.
  for (int i = 0; i < 3; ++i) {
    std::pair<int, std::string> kept;
    for (int attempt = 0; attempt < 300; ++attempt) {
      kept = (*witnesses)->Get(i, ledger, "evidence");
      if (kept.first == 200) break;
      usleep(100 * 1000);
    }
    ASSERT_EQ(kept.first, 200) << "witness " << i + 1;
    absl::StatusOr<EvidenceInfo> info =
        ValidateEvidence(kept.second.substr(0, kept.second.find('\n')));
    ASSERT_TRUE(info.ok()) << info.status();
    EXPECT_EQ(info->id, evidence_id) << "witness " << i + 1;
    // It still serves the first history's checkpoint.
    auto [code, checkpoint] = (*witnesses)->Get(i, ledger, "checkpoint");
    EXPECT_EQ(code, 200);
    EXPECT_EQ(checkpoint.substr(0, checkpoint.find("\n\n")),
              checkpoint_a.substr(0, checkpoint_a.find("\n\n")));
  }

  // A's own data back: the first agent's next submission is answered
  // "frozen" by the witnesses; it fetches their evidence and freezes too.
  host.Stop();
  host.ReplaceData(data_a);
  ASSERT_TRUE(host.Start().ok());
  auto agent = StartOwner(keystore, host.address(), flags);
  ASSERT_NE(agent, nullptr);
  auto stub = agent->Stub();
  v1::OwnerGetLedgerRequest get;
  get.set_ledger_id(ledger);
  v1::OwnerGetLedgerResponse info;
  grpc::Status status;
  for (int i = 0; i < 50; ++i) {
    status = stub->GetLedger(Ctx().get(), get, &info);  // Syncs: offers checkpoint 3.
    if (status.error_code() != Code::UNAVAILABLE) break;
    usleep(100 * 1000);
  }
  ASSERT_TRUE(status.ok()) << Msg(status);
  const v1::Evidence evidence = WaitForAgentEvidence(*stub, ledger);
  EXPECT_EQ(evidence.evidence_id(), evidence_id);
  EXPECT_EQ(evidence.kind(), "reported");
  ExpectAgentRefuses(*stub, ledger, evidence_id);
  const v1::GetLedgerResponse frozen = WaitForFrozenHost(host.address(), ledger);
  EXPECT_TRUE(frozen.frozen());
  EXPECT_EQ(frozen.evidence_id(), evidence_id);
  EXPECT_EQ(frozen.head_number(), 3u);  // Reads go on.
}

}  // namespace
}  // namespace microledger
