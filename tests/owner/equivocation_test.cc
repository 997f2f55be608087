// A deliberately inconsistent host: a test-double HostService (in-process
// gRPC server) in front of two real ml-host processes that share a master key,
// so both sign checkpoints of the same ledger with the same host key. The
// double routes calls to one or the other, producing a genuine fork (two
// signed checkpoints of size 2 with different roots) or a rollback. The agent
// must detect it, refuse the ledger and keep the evidence: for the fork, a
// SPEC §11 object that freezes the ledger.
#include <atomic>
#include <vector>
#include <filesystem>

#include "common/checkpoint.h"
#include "common/evidence.h"
#include "absl/synchronization/mutex.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/host/host_process.h"
#include "tests/owner/agent_process.h"
#include "tests/owner/owner_test_util.h"

namespace microledger {
namespace {

using ::testing::HasSubstr;
using HostStub = v1::HostService::Stub;

class ForkingHost final : public v1::HostService::Service {
 public:
  ForkingHost(const std::string& a, const std::string& b) {
    for (const std::string& address : {a, b}) {
      stubs_.push_back(v1::HostService::NewStub(
          grpc::CreateChannel(address, grpc::InsecureChannelCredentials())));
    }
  }
  // 0 = host A, 1 = host B.
  std::atomic<int> route{0};
  // Genesis blocks go to both hosts (same bytes, same host key).
  std::atomic<bool> mirror_genesis{true};
  // The next streamed append is committed, then its reply is lost.
  std::atomic<bool> drop_next_reply{false};
  // GetBlocks serves this block (0 = none) with "original" changed to "tampered".
  std::atomic<uint64_t> tamper_block{0};

  grpc::Status CreateLedger(grpc::ServerContext*, const v1::CreateLedgerRequest* request,
                            v1::CreateLedgerResponse* response) override {
    return Target().CreateLedger(Ctx().get(), *request, response);
  }
  grpc::Status Append(grpc::ServerContext*, const v1::AppendRequest* request,
                      v1::AppendResponse* response) override {
    return Forward(*request, response);
  }
  grpc::Status AppendStream(
      grpc::ServerContext*,
      grpc::ServerReaderWriter<v1::AppendStreamResponse, v1::AppendRequest>* stream) override {
    v1::AppendRequest request;
    while (stream->Read(&request)) {
      v1::AppendStreamResponse reply;
      grpc::Status status = Forward(request, reply.mutable_result());
      if (drop_next_reply.exchange(false)) {
        return grpc::Status(grpc::StatusCode::UNAVAILABLE, "reply lost (test double)");
      }
      reply.set_code(status.error_code());
      reply.set_message(status.error_message());
      if (!status.ok()) reply.clear_result();
      stream->Write(reply);
    }
    return grpc::Status::OK;
  }
  grpc::Status GetLedger(grpc::ServerContext*, const v1::GetLedgerRequest* request,
                         v1::GetLedgerResponse* response) override {
    grpc::Status status = Target().GetLedger(Ctx().get(), *request, response);
    absl::MutexLock lock(&mu_);
    if (status.ok() && !frozen_id_.empty()) {
      response->set_frozen(true);
      response->set_evidence_id(frozen_id_);
    }
    return status;
  }
  grpc::Status GetLedgerEvidence(grpc::ServerContext*, const v1::GetLedgerEvidenceRequest*,
                                 v1::GetLedgerEvidenceResponse* response) override {
    absl::MutexLock lock(&mu_);
    for (const std::string& e : frozen_evidence_) response->add_evidence(e);
    return grpc::Status::OK;
  }
  // From now on GetLedger says frozen with `id` (none when empty), appends
  // are refused naming it, and GetLedgerEvidence serves `evidence`.
  void SetFrozen(const std::string& id, std::vector<std::string> evidence) {
    absl::MutexLock lock(&mu_);
    frozen_id_ = id;
    frozen_evidence_ = std::move(evidence);
  }
  grpc::Status GetCheckpoint(grpc::ServerContext*, const v1::GetCheckpointRequest* request,
                             v1::GetCheckpointResponse* response) override {
    return Target().GetCheckpoint(Ctx().get(), *request, response);
  }
  grpc::Status GetBlocks(grpc::ServerContext*, const v1::GetBlocksRequest* request,
                         grpc::ServerWriter<v1::GetBlocksResponse>* writer) override {
    auto context = Ctx();
    auto reader = Target().GetBlocks(context.get(), *request);
    v1::GetBlocksResponse response;
    while (reader->Read(&response)) {
      if (response.number() == tamper_block.load()) {
        std::string bytes = response.block();
        const size_t at = bytes.find("original");
        if (at != std::string::npos) bytes.replace(at, 8, "tampered");
        response.set_block(bytes);
      }
      writer->Write(response);
    }
    return reader->Finish();
  }
  grpc::Status GetInclusionProof(grpc::ServerContext*,
                                 const v1::GetInclusionProofRequest* request,
                                 v1::GetInclusionProofResponse* response) override {
    return Target().GetInclusionProof(Ctx().get(), *request, response);
  }
  grpc::Status GetConsistencyProof(grpc::ServerContext*,
                                   const v1::GetConsistencyProofRequest* request,
                                   v1::GetConsistencyProofResponse* response) override {
    return Target().GetConsistencyProof(Ctx().get(), *request, response);
  }
  grpc::Status GetAttachment(grpc::ServerContext*, const v1::GetAttachmentRequest* request,
                             v1::GetAttachmentResponse* response) override {
    return Target().GetAttachment(Ctx().get(), *request, response);
  }

 private:
  HostStub& Target() { return *stubs_[route.load()]; }
  grpc::Status Forward(const v1::AppendRequest& request, v1::AppendResponse* response) {
    {
      absl::MutexLock lock(&mu_);
      if (!frozen_id_.empty()) {
        return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                            "frozen: equivocation evidence " + frozen_id_);
      }
    }
    grpc::Status status = Target().Append(Ctx().get(), request, response);
    if (!request.ledger_token().empty() && mirror_genesis.load()) {
      v1::AppendResponse ignored;
      stubs_[1 - route.load()]->Append(Ctx().get(), request, &ignored);
    }
    return status;
  }
  std::vector<std::unique_ptr<HostStub>> stubs_;
  absl::Mutex mu_;
  std::string frozen_id_ ABSL_GUARDED_BY(mu_);
  std::vector<std::string> frozen_evidence_ ABSL_GUARDED_BY(mu_);
};

class EquivocationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = NewTempDir("equivocation");
    const std::string key = "--master_key_file=" + dir_ + "/master.key";
    auto a = HostProcess::Start({"--storage=memory", key});
    ASSERT_TRUE(a.ok()) << a.status();
    host_a_ = *std::move(a);
    auto b = HostProcess::Start({"--storage=memory", key});
    ASSERT_TRUE(b.ok()) << b.status();
    host_b_ = *std::move(b);
    double_ = std::make_unique<ForkingHost>(host_a_->address(), host_b_->address());
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
    builder.RegisterService(double_.get());
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    double_address_ = absl::StrCat("127.0.0.1:", port);
    keystore_ = dir_ + "/ks";
    StartAgent();
  }
  void TearDown() override {
    if (agent_) agent_->Stop();
    if (server_) server_->Shutdown(std::chrono::system_clock::now());
  }
  void StartAgent() {
    if (agent_) agent_->Stop();
    auto agent = AgentProcess::Start({"--keystore=" + keystore_, "--host=" + double_address_,
                                      "--append_timeout_seconds=10"});
    ASSERT_TRUE(agent.ok()) << agent.status();
    agent_ = *std::move(agent);
    stub_ = agent_->Stub();
  }
  std::string NewLedger() {
    v1::OwnerCreateLedgerResponse created;
    grpc::Status status = CreateLedger(*stub_, "", &created);
    EXPECT_TRUE(status.ok()) << Msg(status);
    return created.ledger_id();
  }
  grpc::Status GetLedger(const std::string& ledger, v1::OwnerGetLedgerResponse* info,
                         bool offline = false) {
    v1::OwnerGetLedgerRequest request;
    request.set_ledger_id(ledger);
    request.set_offline(offline);
    return stub_->GetLedger(Ctx().get(), request, info);
  }
  // Frozen by SPEC §11 evidence: FAILED_PRECONDITION naming its id.
  void ExpectFrozen(const std::string& ledger, const std::string& evidence_id) {
    v1::BlockOutcome outcome;
    grpc::Status status = Append(*stub_, ledger, R"({"event":"refused"})", &outcome);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION) << Msg(status);
    EXPECT_THAT(status.error_message(), HasSubstr(evidence_id));
  }
  // Equivocation without SPEC §11 evidence (a rollback): DATA_LOSS.
  void ExpectRefused(const std::string& ledger) {
    v1::BlockOutcome outcome;
    grpc::Status status = Append(*stub_, ledger, R"({"event":"refused"})", &outcome);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::DATA_LOSS) << Msg(status);
    EXPECT_THAT(status.error_message(), HasSubstr("host equivocation on ledger " + ledger));
  }

  std::string dir_, keystore_, double_address_;
  std::unique_ptr<HostProcess> host_a_, host_b_;
  std::unique_ptr<ForkingHost> double_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<AgentProcess> agent_;
  std::unique_ptr<AgentStub> stub_;
};

// A host whose stored copy differs from what it signed: the agent's full
// verification names the block, and an export refuses to hand it out.
TEST_F(EquivocationTest, TamperedStoredBlockFailsVerifyAndExport) {
  const std::string ledger = NewLedger();
  ASSERT_FALSE(ledger.empty());
  v1::BlockOutcome outcome;
  for (const char* event : {R"({"event":"x","text":"original"})", R"({"event":"y"})"}) {
    grpc::Status status = Append(*stub_, ledger, event, &outcome);
    ASSERT_TRUE(status.ok()) << Msg(status);
  }
  double_->tamper_block = 2;

  v1::VerifyLedgerRequest verify;
  verify.set_ledger_id(ledger);
  v1::VerifyLedgerResponse verified;
  grpc::Status status = stub_->VerifyLedger(Ctx().get(), verify, &verified);
  ASSERT_TRUE(status.ok()) << Msg(status);
  EXPECT_FALSE(verified.ok());
  EXPECT_EQ(verified.failure_block(), 2u);
  EXPECT_THAT(verified.verdict(), ::testing::StartsWith("FAIL block 2: fingerprint"));

  std::string bundle;
  status = Export(*stub_, ledger, &bundle);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::DATA_LOSS) << Msg(status);
  EXPECT_THAT(status.error_message(), HasSubstr("fails verification at block 2"));

  double_->tamper_block = 0;
  status = stub_->VerifyLedger(Ctx().get(), verify, &verified);
  ASSERT_TRUE(status.ok()) << Msg(status);
  EXPECT_TRUE(verified.ok()) << verified.verdict();
  EXPECT_EQ(verified.blocks(), 3u);
}

TEST_F(EquivocationTest, ForkedCheckpointIsDetectedAndEvidenceKept) {
  const std::string ledger = NewLedger();
  ASSERT_FALSE(ledger.empty());
  // Block 2 "x" is committed on A but its reply is lost.
  double_->drop_next_reply = true;
  v1::BlockOutcome outcome;
  grpc::Status status = Append(*stub_, ledger, R"({"event":"x"})", &outcome);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE) << Msg(status);
  EXPECT_EQ(HostHead(host_a_->address(), ledger), 2u);
  // The host now answers from B, where block 2 does not exist: the agent
  // re-syncs (consistent: size 1) and signs block 2 "y", committed on B.
  double_->route = 1;
  status = Append(*stub_, ledger, R"({"event":"y"})", &outcome);
  ASSERT_TRUE(status.ok()) << Msg(status);
  EXPECT_EQ(outcome.committed().number(), 2u);
  // Back to A: a checkpoint of size 2 with another root.
  double_->route = 0;
  v1::OwnerGetLedgerResponse info;
  status = GetLedger(ledger, &info);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::DATA_LOSS) << Msg(status);
  EXPECT_THAT(status.error_message(), HasSubstr("host equivocation on ledger " + ledger));

  v1::GetEvidenceRequest request;
  request.set_ledger_id(ledger);
  v1::GetEvidenceResponse evidence;
  ASSERT_TRUE(stub_->GetEvidence(Ctx().get(), request, &evidence).ok());
  ASSERT_EQ(evidence.evidence_size(), 1);
  const v1::Evidence& e = evidence.evidence(0);
  EXPECT_EQ(e.kind(), "fork");
  absl::StatusOr<Checkpoint> held = VerifyCheckpoint(e.held_checkpoint(), ledger);
  absl::StatusOr<Checkpoint> served = VerifyCheckpoint(e.served_checkpoint(), ledger);
  ASSERT_TRUE(held.ok()) << held.status();
  ASSERT_TRUE(served.ok()) << served.status();
  EXPECT_EQ(held->tree_size, 2u);
  EXPECT_EQ(served->tree_size, 2u);
  EXPECT_NE(held->root_hash, served->root_hash);
  // The two checkpoints are SPEC §11 evidence: the object is kept, valid,
  // named in the detecting call's error, and freezes the ledger.
  absl::StatusOr<EvidenceInfo> object = ValidateEvidence(e.evidence_object());
  ASSERT_TRUE(object.ok()) << object.status();
  EXPECT_EQ(object->kind, EvidenceKind::kCheckpoints);
  EXPECT_EQ(object->ledger, ledger);
  EXPECT_EQ(object->id, e.evidence_id());
  EXPECT_THAT(status.error_message(), HasSubstr(e.evidence_id()));
  ExpectFrozen(ledger, e.evidence_id());
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(keystore_ + "/agent/evidence"),
                          std::filesystem::directory_iterator()),
            1);

  // The verdict survives a restart of the agent.
  StartAgent();
  ASSERT_TRUE(GetLedger(ledger, &info, /*offline=*/true).ok());
  EXPECT_TRUE(info.equivocation());
  EXPECT_EQ(info.evidence_size(), 1);
  ExpectFrozen(ledger, e.evidence_id());
}

TEST_F(EquivocationTest, RolledBackTreeIsDetected) {
  const std::string ledger = NewLedger();
  ASSERT_FALSE(ledger.empty());
  v1::BlockOutcome outcome;
  for (int i = 0; i < 2; ++i) {
    grpc::Status status = Append(*stub_, ledger, R"({"event":"on a"})", &outcome);
    ASSERT_TRUE(status.ok()) << Msg(status);
  }
  double_->route = 1;  // B only has the genesis block.
  v1::OwnerGetLedgerResponse info;
  grpc::Status status = GetLedger(ledger, &info);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::DATA_LOSS) << Msg(status);
  EXPECT_THAT(status.error_message(), HasSubstr("rollback"));
  ExpectRefused(ledger);
  ASSERT_TRUE(GetLedger(ledger, &info, /*offline=*/true).ok());
  ASSERT_EQ(info.evidence_size(), 1);
  EXPECT_EQ(info.evidence(0).kind(), "rollback");
  EXPECT_TRUE(info.evidence(0).evidence_object().empty());  // No two histories.
  EXPECT_TRUE(info.evidence(0).evidence_id().empty());
  EXPECT_EQ(VerifyCheckpoint(info.evidence(0).held_checkpoint(), ledger)->tree_size, 3u);
  EXPECT_EQ(VerifyCheckpoint(info.evidence(0).served_checkpoint(), ledger)->tree_size, 1u);
}

}  // namespace
}  // namespace microledger

namespace microledger {
namespace {

std::string CheckpointOf(const std::string& host, const std::string& ledger, uint64_t size) {
  auto stub = v1::HostService::NewStub(
      grpc::CreateChannel(host, grpc::InsecureChannelCredentials()));
  v1::GetCheckpointRequest request;
  request.set_ledger_id(ledger);
  request.set_tree_size(size);
  v1::GetCheckpointResponse response;
  EXPECT_TRUE(stub->GetCheckpoint(Ctx().get(), request, &response).ok());
  return response.checkpoint();
}

// A host whose GetLedger says frozen: the agent refuses writes naming the
// host's evidence id; it keeps and freezes for ever only on valid evidence
// from GetLedgerEvidence (an unsigned "frozen" alone is not kept).
TEST_F(EquivocationTest, HostThatSaysFrozenIsBelievedOnlyWithValidEvidence) {
  const std::string ledger = NewLedger();
  ASSERT_FALSE(ledger.empty());
  // A fork the agent does not see: block 2 "x" on A (reply lost), "y" on B.
  double_->drop_next_reply = true;
  v1::BlockOutcome outcome;
  grpc::Status status = Append(*stub_, ledger, R"({"event":"x"})", &outcome);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE) << Msg(status);
  double_->route = 1;
  status = Append(*stub_, ledger, R"({"event":"y"})", &outcome);
  ASSERT_TRUE(status.ok()) << Msg(status);
  absl::StatusOr<std::string> evidence =
      BuildCheckpointsEvidence(ledger, CheckpointOf(host_a_->address(), ledger, 2),
                               CheckpointOf(host_b_->address(), ledger, 2));
  ASSERT_TRUE(evidence.ok()) << evidence.status();
  const std::string id = EvidenceId(*evidence);

  double_->SetFrozen(id, {"not evidence"});
  for (int i = 0; i < 2; ++i) {  // The host refuses, then the agent does.
    status = Append(*stub_, ledger, R"({"event":"z"})", &outcome);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION) << Msg(status);
    EXPECT_THAT(status.error_message(), HasSubstr(id));
  }
  EXPECT_THAT(status.error_message(), HasSubstr("served none that is valid"));
  v1::OwnerGetLedgerResponse info;
  ASSERT_TRUE(GetLedger(ledger, &info, /*offline=*/true).ok());
  EXPECT_FALSE(info.equivocation());
  EXPECT_EQ(info.evidence_size(), 0);
  double_->SetFrozen("", {});  // Nothing was kept: writes go on.
  status = Append(*stub_, ledger, R"({"event":"z"})", &outcome);
  ASSERT_TRUE(status.ok()) << Msg(status);
  EXPECT_EQ(outcome.committed().number(), 3u);

  double_->SetFrozen(id, {"not evidence", *evidence});
  status = Append(*stub_, ledger, R"({"event":"z"})", &outcome);  // Refused by the host.
  EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION) << Msg(status);
  status = GetLedger(ledger, &info);  // Reads go on; the evidence is fetched.
  ASSERT_TRUE(status.ok()) << Msg(status);
  EXPECT_TRUE(info.equivocation());
  ASSERT_EQ(info.evidence_size(), 1);
  EXPECT_EQ(info.evidence(0).kind(), "reported");
  EXPECT_EQ(info.evidence(0).host_address(), double_address_);
  EXPECT_EQ(info.evidence(0).evidence_id(), id);
  EXPECT_EQ(info.evidence(0).evidence_object(), *evidence);
  ExpectFrozen(ledger, id);
  double_->SetFrozen("", {});  // Frozen for ever, across restarts.
  StartAgent();
  ExpectFrozen(ledger, id);
}

}  // namespace
}  // namespace microledger
