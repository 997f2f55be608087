// The fork drill (SPEC §11): a host's data directory and master key are
// backed up together with the owner agent's keystore; the agent appends
// block 4 on the host; the host is restored from the backup and the restored
// agent copy appends a different block 4 (and 5) there. The host key has now
// signed two histories of the ledger. The first agent, talking to the
// restored host, must build SPEC §11 evidence that ValidateEvidence accepts
// (`checkpoints` for trees of one size, `blocks` or `leaves` for a longer
// fork), refuse every further write with FAILED_PRECONDITION naming the
// evidence id, for ever (across restarts), and serve the evidence through
// GetEvidence. ReportEquivocation hands such evidence to another agent.
// Real ml-host and ml-owner processes on loopback.
#include <filesystem>

#include "common/evidence.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/owner/disk_host.h"

namespace microledger {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

class ForkDrillTest : public ::testing::Test {
 protected:
  ForkDrillTest()
      : host_("drill_host"),
        keystore_(NewTempDir("drill_agent") + "/ks"),
        keystore_copy_(NewTempDir("drill_agent_copy") + "/ks") {}

  // The ledger has 3 blocks when host and agent are backed up, then block 4
  // on the host; after the restore, `forked_blocks` other blocks from 4 on.
  void RunDrill(int forked_blocks) {
    ASSERT_TRUE(host_.Start().ok());
    {
      auto agent = StartOwner(keystore_, host_.address());
      ASSERT_NE(agent, nullptr);
      ASSERT_TRUE(
          CreateLedgerWithEvents(*agent->Stub(), 2, R"({"event":"before"})", &ledger_).ok());
    }
    host_.Stop();
    const std::string backup = host_.CopyData("drill_backup");
    fs::copy(keystore_, keystore_copy_, fs::copy_options::recursive);
    ASSERT_TRUE(host_.Start().ok());
    StartAgent();
    v1::BlockOutcome outcome;
    grpc::Status status = AppendSoon(*stub_, ledger_, R"({"event":"x"})", &outcome);
    ASSERT_TRUE(status.ok()) << Msg(status);
    ASSERT_EQ(outcome.committed().number(), 4u);

    host_.Stop();
    host_.ReplaceData(backup);  // The restored backup.
    ASSERT_TRUE(host_.Start().ok());
    ASSERT_EQ(HostHead(host_.address(), ledger_), 3u);
    {
      auto restored = StartOwner(keystore_copy_, host_.address());
      ASSERT_NE(restored, nullptr);
      auto stub = restored->Stub();
      for (int i = 0; i < forked_blocks; ++i) {
        status = AppendSoon(*stub, ledger_, R"({"event":"y"})", &outcome);
        ASSERT_TRUE(status.ok()) << Msg(status);
        ASSERT_EQ(outcome.committed().number(), 4u + i);
      }
    }
    ASSERT_EQ(HostHead(host_.address(), ledger_), 3u + forked_blocks);
  }

  void StartAgent() {
    agent_.reset();
    agent_ = StartOwner(keystore_, host_.address());
    ASSERT_NE(agent_, nullptr);
    stub_ = agent_->Stub();
  }

  // The first agent meets the restored host (GetLedger checks the host's
  // checkpoint against the agent's): refused, with the evidence object kept,
  // valid and of `kind`.
  v1::Evidence Detect(EvidenceKind kind) {
    v1::OwnerGetLedgerRequest request;
    request.set_ledger_id(ledger_);
    v1::OwnerGetLedgerResponse info;
    grpc::Status status;
    for (int i = 0; i < 50; ++i) {  // While the agent reconnects (bounded).
      status = stub_->GetLedger(Ctx().get(), request, &info);
      if (status.error_code() != grpc::StatusCode::UNAVAILABLE) break;
      usleep(100 * 1000);
    }
    EXPECT_EQ(status.error_code(), grpc::StatusCode::DATA_LOSS) << Msg(status);
    EXPECT_THAT(status.error_message(), HasSubstr("host equivocation on ledger " + ledger_));
    std::vector<v1::Evidence> evidence = EvidenceOf(*stub_, ledger_);
    if (evidence.size() != 1) {
      ADD_FAILURE() << evidence.size() << " evidence records";
      return v1::Evidence();
    }
    const v1::Evidence& e = evidence[0];
    EXPECT_EQ(e.kind(), "fork");
    EXPECT_EQ(e.host_address(), host_.address());
    absl::StatusOr<EvidenceInfo> valid = ValidateEvidence(e.evidence_object());
    EXPECT_TRUE(valid.ok()) << valid.status() << " " << e.detail();
    if (valid.ok()) {
      EXPECT_EQ(valid->ledger, ledger_);
      EXPECT_EQ(valid->kind, kind) << EvidenceKindName(valid->kind);
      EXPECT_EQ(valid->id, e.evidence_id());
    }
    EXPECT_FALSE(e.evidence_id().empty());
    EXPECT_THAT(status.error_message(), HasSubstr(e.evidence_id()));
    return e;
  }

  void ExpectFrozen(AgentStub& stub, const std::string& evidence_id) {
    v1::BlockOutcome outcome;
    grpc::Status status = Append(stub, ledger_, R"({"event":"refused"})", &outcome);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION) << Msg(status);
    EXPECT_THAT(status.error_message(), HasSubstr(evidence_id));
    status = stub.CloseLedger(Ctx().get(), [&] {
      v1::CloseLedgerRequest request;
      request.set_ledger_id(ledger_);
      return request;
    }(), &outcome);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION) << Msg(status);
  }

  v1::OwnerGetLedgerResponse Info(AgentStub& stub, bool offline) {
    return LedgerInfo(stub, ledger_, offline);
  }

  DiskHost host_;
  const std::string keystore_, keystore_copy_;
  std::string ledger_;
  std::unique_ptr<AgentProcess> agent_;
  std::unique_ptr<AgentStub> stub_;
};

TEST_F(ForkDrillTest, SameSizeForkIsCheckpointsEvidenceAndFreezesForEver) {
  RunDrill(1);
  const v1::Evidence e = Detect(EvidenceKind::kCheckpoints);
  ExpectFrozen(*stub_, e.evidence_id());
  // Reads go on, from the agent's verified state.
  v1::OwnerGetLedgerResponse info = Info(*stub_, /*offline=*/false);
  EXPECT_TRUE(info.equivocation());
  EXPECT_EQ(info.head_number(), 4u);
  ASSERT_EQ(info.evidence_size(), 1);
  EXPECT_EQ(info.evidence(0).evidence_id(), e.evidence_id());

  StartAgent();  // Frozen for ever.
  ExpectFrozen(*stub_, e.evidence_id());
  EXPECT_TRUE(Info(*stub_, /*offline=*/true).equivocation());
  EXPECT_EQ(EvidenceOf(*stub_, ledger_).size(), 1u);
  EXPECT_EQ(HostHead(host_.address(), ledger_), 4u);  // Nothing more was written.
}

// The restored host is one block longer: its consistency proof fails. The
// agent still holds its host-signed block 4: two blocks numbered 4.
TEST_F(ForkDrillTest, LongerForkIsBlocksEvidence) {
  RunDrill(2);
  const v1::Evidence e = Detect(EvidenceKind::kBlocks);
  ExpectFrozen(*stub_, e.evidence_id());
  EXPECT_EQ(HostHead(host_.address(), ledger_), 5u);
}

// The same after an agent restart (its block 4 no longer in memory): leaf 3
// of each tree with its inclusion proof, the agent's from its saved state.
TEST_F(ForkDrillTest, LongerForkAfterAgentRestartIsLeavesEvidence) {
  RunDrill(2);
  StartAgent();
  const v1::Evidence e = Detect(EvidenceKind::kLeaves);
  ExpectFrozen(*stub_, e.evidence_id());
  StartAgent();
  ExpectFrozen(*stub_, e.evidence_id());
}

// The evidence handed to another agent that holds the ledger (the restored
// copy, which saw no fork itself): it keeps it and freezes the ledger.
TEST_F(ForkDrillTest, ReportEquivocationFreezesTheLedger) {
  RunDrill(1);
  const v1::Evidence e = Detect(EvidenceKind::kCheckpoints);
  agent_.reset();
  auto other = StartOwner(keystore_copy_, host_.address());
  ASSERT_NE(other, nullptr);
  auto stub = other->Stub();

  v1::ReportEquivocationRequest request;
  v1::ReportEquivocationResponse response;
  for (const std::string& bad :
       {std::string("{}"), e.evidence_object() + "\n",
        std::string(e.evidence_object()).replace(e.evidence_object().find("\"a\""), 3,
                                                 "\"A\"")}) {
    request.set_evidence(bad);
    grpc::Status status = stub->ReportEquivocation(Ctx().get(), request, &response);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << Msg(status);
  }
  EXPECT_TRUE(EvidenceOf(*stub, ledger_).empty());

  request.set_evidence(e.evidence_object());
  for (int i = 0; i < 2; ++i) {  // Again: OK, kept once.
    grpc::Status status = stub->ReportEquivocation(Ctx().get(), request, &response);
    ASSERT_TRUE(status.ok()) << Msg(status);
    EXPECT_EQ(response.ledger_id(), ledger_);
    EXPECT_EQ(response.kind(), "checkpoints");
    EXPECT_EQ(response.evidence_id(), e.evidence_id());
    EXPECT_TRUE(response.frozen());
  }
  std::vector<v1::Evidence> kept = EvidenceOf(*stub, ledger_);
  ASSERT_EQ(kept.size(), 1u);
  EXPECT_EQ(kept[0].kind(), "reported");
  EXPECT_EQ(kept[0].evidence_id(), e.evidence_id());
  EXPECT_EQ(kept[0].evidence_object(), e.evidence_object());
  ExpectFrozen(*stub, e.evidence_id());
  other.reset();
  other = StartOwner(keystore_copy_, host_.address());
  ASSERT_NE(other, nullptr);
  stub = other->Stub();
  ExpectFrozen(*stub, e.evidence_id());
  EXPECT_TRUE(Info(*stub, /*offline=*/true).equivocation());

  // An agent that does not hold the ledger.
  auto stranger = StartOwner(NewTempDir("stranger") + "/ks", host_.address());
  ASSERT_NE(stranger, nullptr);
  grpc::Status status = stranger->Stub()->ReportEquivocation(Ctx().get(), request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND) << Msg(status);
}

}  // namespace
}  // namespace microledger
