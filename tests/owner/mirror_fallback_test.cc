// ml-owner --mirror: while a ledger's host is unreachable, GetLedger,
// VerifyLedger and ExportLedger read from a mirror and verify what it serves
// exactly as a host's answer; writes never go to it. ml-mirror is not part
// of this tree yet, so the "mirror" is a second ml-host serving a copy of the
// host's data directory (master key included) on another port, never
// written to through the agent. A mirror serving another history (the copy
// forked by a restored agent) is refused with SPEC §11 evidence. Real ml-host
// and ml-owner processes on loopback.
#include <filesystem>

#include "common/evidence.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/owner/disk_host.h"

namespace microledger {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

grpc::Status GetLedger(AgentStub& stub, const std::string& ledger,
                       v1::OwnerGetLedgerResponse* info) {
  v1::OwnerGetLedgerRequest request;
  request.set_ledger_id(ledger);
  return stub.GetLedger(Ctx().get(), request, info);
}

grpc::Status Verify(AgentStub& stub, const std::string& ledger,
                    v1::VerifyLedgerResponse* verified) {
  v1::VerifyLedgerRequest request;
  request.set_ledger_id(ledger);
  return stub.VerifyLedger(Ctx().get(), request, verified);
}

TEST(MirrorFallbackTest, ReadsFallBackToAVerifiedMirrorWritesDoNot) {
  DiskHost host("fallback_host");
  ASSERT_TRUE(host.Start().ok());
  DiskHost mirror("fallback_mirror");
  const std::string keystore = NewTempDir("fallback_agent") + "/ks";
  auto agent = StartOwner(keystore, host.address(),
                          {"--mirror=127.0.0.1:1", "--mirror=" + mirror.address()});
  ASSERT_NE(agent, nullptr);
  auto stub = agent->Stub();
  std::string ledger;
  ASSERT_TRUE(CreateLedgerWithEvents(*stub, 2, R"({"event":"e"})", &ledger).ok());
  v1::BlockOutcome outcome;
  ASSERT_TRUE(Append(*stub, ledger, R"({"event":"sealed"})", &outcome, "attached").ok());

  host.Stop();
  mirror.ReplaceData(host.CopyData("fallback_copy"));
  ASSERT_TRUE(mirror.Start().ok());

  v1::OwnerGetLedgerResponse info;
  grpc::Status status = GetLedger(*stub, ledger, &info);
  ASSERT_TRUE(status.ok()) << Msg(status);
  EXPECT_EQ(info.head_number(), 4u);
  EXPECT_EQ(info.checkpoint(), outcome.committed().checkpoint());
  EXPECT_FALSE(info.equivocation());
  v1::VerifyLedgerResponse verified;
  status = Verify(*stub, ledger, &verified);
  ASSERT_TRUE(status.ok()) << Msg(status);
  EXPECT_TRUE(verified.ok()) << verified.verdict();
  EXPECT_EQ(verified.blocks(), 4u);
  std::string bundle;
  status = Export(*stub, ledger, &bundle);
  ASSERT_TRUE(status.ok()) << Msg(status);
  BundleVerdict verdict = VerifyBundleBytes(bundle);
  EXPECT_TRUE(verdict.ok) << verdict.Line();
  EXPECT_EQ(verdict.blocks, 4u);
  EXPECT_THAT(bundle, HasSubstr("\"attachment\""));

  // Writes never go to the mirror.
  status = Append(*stub, ledger, R"({"event":"w"})", &outcome);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE) << Msg(status);
  EXPECT_EQ(HostHead(mirror.address(), ledger), 4u);

  // Without a reachable mirror the reads fail as before.
  mirror.Stop();
  status = GetLedger(*stub, ledger, &info);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE) << Msg(status);
  status = Verify(*stub, ledger, &verified);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE) << Msg(status);
  bundle.clear();
  status = Export(*stub, ledger, &bundle);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE) << Msg(status);
}

// The mirror serves a copy of the ledger that a restored agent forked: same
// size, another root. The agent refuses it and keeps SPEC §11 evidence.
TEST(MirrorFallbackTest, DivergentMirrorIsRefusedWithEvidence) {
  DiskHost host("divergent_host");
  ASSERT_TRUE(host.Start().ok());
  DiskHost mirror("divergent_mirror");
  const std::string keystore = NewTempDir("divergent_agent") + "/ks";
  const std::string keystore_copy = NewTempDir("divergent_agent_copy") + "/ks";
  const std::vector<std::string> mirror_flag = {"--mirror=" + mirror.address()};
  std::string ledger;
  {
    auto agent = StartOwner(keystore, host.address(), mirror_flag);
    ASSERT_NE(agent, nullptr);
    ASSERT_TRUE(CreateLedgerWithEvents(*agent->Stub(), 2, R"({"event":"e"})", &ledger).ok());
  }
  host.Stop();
  const std::string copy = host.CopyData("divergent_copy");
  fs::copy(keystore, keystore_copy, fs::copy_options::recursive);
  ASSERT_TRUE(host.Start().ok());
  auto agent = StartOwner(keystore, host.address(), mirror_flag);
  ASSERT_NE(agent, nullptr);
  auto stub = agent->Stub();
  v1::BlockOutcome outcome;
  grpc::Status status = AppendSoon(*stub, ledger, R"({"event":"x"})", &outcome);
  ASSERT_TRUE(status.ok()) << Msg(status);
  ASSERT_EQ(outcome.committed().number(), 4u);

  // The copy gets another block 4 (from the restored agent, at the host's
  // address), then serves as the mirror while the host is down.
  host.Stop();
  mirror.ReplaceData(copy);
  {
    host.ReplaceData(copy);
    ASSERT_TRUE(host.Start().ok());
    auto restored = StartOwner(keystore_copy, host.address());
    ASSERT_NE(restored, nullptr);
    status = AppendSoon(*restored->Stub(), ledger, R"({"event":"y"})", &outcome);
    ASSERT_TRUE(status.ok()) << Msg(status);
    ASSERT_EQ(outcome.committed().number(), 4u);
    host.Stop();
    mirror.ReplaceData(host.CopyData("divergent_forked"));
  }
  ASSERT_TRUE(mirror.Start().ok());

  v1::OwnerGetLedgerResponse info;
  status = GetLedger(*stub, ledger, &info);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::DATA_LOSS) << Msg(status);
  EXPECT_THAT(status.error_message(), HasSubstr("host equivocation on ledger " + ledger));
  std::vector<v1::Evidence> evidence = EvidenceOf(*stub, ledger);
  ASSERT_EQ(evidence.size(), 1u);
  EXPECT_EQ(evidence[0].host_address(), mirror.address());
  absl::StatusOr<EvidenceInfo> valid = ValidateEvidence(evidence[0].evidence_object());
  ASSERT_TRUE(valid.ok()) << valid.status();
  EXPECT_EQ(valid->kind, EvidenceKind::kCheckpoints);
  EXPECT_EQ(valid->id, evidence[0].evidence_id());
  status = Append(*stub, ledger, R"({"event":"refused"})", &outcome);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION) << Msg(status);
  EXPECT_THAT(status.error_message(), HasSubstr(valid->id));
  // Reads go on from the agent's verified state; the mirror's copy of its
  // checkpoint's blocks fails verification.
  status = GetLedger(*stub, ledger, &info);
  ASSERT_TRUE(status.ok()) << Msg(status);
  EXPECT_TRUE(info.equivocation());
  EXPECT_EQ(info.head_number(), 4u);
  v1::VerifyLedgerResponse verified;
  status = Verify(*stub, ledger, &verified);
  ASSERT_TRUE(status.ok()) << Msg(status);
  EXPECT_FALSE(verified.ok());
  EXPECT_EQ(verified.failure_block(), 0u) << verified.verdict();
}

}  // namespace
}  // namespace microledger
