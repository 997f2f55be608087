// Equivocation across real ml-host processes (SPEC §11): a host's data
// directory and master key are copied while it is stopped and a second host
// starts on the copy (a restored backup); each countersigns a different block
// 3 of one ledger. The evidence built from their replies is reported over
// gRPC to both: both freeze the ledger (unary appends and AppendStream
// requests are FAILED_PRECONDITION naming the evidence id, reads go on,
// GetLedger says frozen), keep the evidence, and a restart keeps the freeze.
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "common/block.h"
#include "common/checkpoint.h"
#include "common/evidence.h"
#include "common/json.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/host/grpc_client.h"
#include "tests/host/host_process.h"

namespace microledger {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using Code = grpc::StatusCode;

grpc::Status Report(HostStub& stub, const std::string& evidence,
                    v1::ReportEquivocationResponse* response) {
  grpc::ClientContext context;
  v1::ReportEquivocationRequest request;
  request.set_evidence(evidence);
  return stub.ReportEquivocation(&context, request, response);
}

std::vector<std::string> EvidenceOf(HostStub& stub, const std::string& ledger_id,
                                    grpc::Status* status) {
  grpc::ClientContext context;
  v1::GetLedgerEvidenceRequest request;
  request.set_ledger_id(ledger_id);
  v1::GetLedgerEvidenceResponse response;
  *status = stub.GetLedgerEvidence(&context, request, &response);
  return {response.evidence().begin(), response.evidence().end()};
}

v1::GetLedgerResponse LedgerOf(HostStub& stub, const std::string& ledger_id) {
  grpc::ClientContext context;
  v1::GetLedgerRequest request;
  request.set_ledger_id(ledger_id);
  v1::GetLedgerResponse response;
  grpc::Status status = stub.GetLedger(&context, request, &response);
  EXPECT_TRUE(status.ok()) << status.error_message();
  return response;
}

// Block `block` by unary Append and by AppendStream: both refused, naming
// `evidence_id`; the host's head stays at `head`.
void ExpectFrozen(HostStub& stub, const OwnerChain& chain, const Block& block,
                  const std::string& evidence_id, uint64_t head, const std::string& when) {
  const std::string frozen = "ledger: frozen by equivocation evidence " + evidence_id;
  {
    grpc::ClientContext context;
    v1::AppendRequest request;
    request.set_block(OwnerChain::Bytes(block));
    v1::AppendResponse response;
    grpc::Status status = stub.Append(&context, request, &response);
    EXPECT_EQ(status.error_code(), Code::FAILED_PRECONDITION) << when;
    EXPECT_THAT(status.error_message(), HasSubstr(frozen)) << when;
  }
  {
    grpc::ClientContext context;
    auto stream = stub.AppendStream(&context);
    v1::AppendRequest request;
    request.set_block(OwnerChain::Bytes(block));
    ASSERT_TRUE(stream->Write(request)) << when;
    ASSERT_TRUE(stream->WritesDone()) << when;
    v1::AppendStreamResponse reply;
    ASSERT_TRUE(stream->Read(&reply)) << when;
    EXPECT_EQ(reply.code(), static_cast<int>(Code::FAILED_PRECONDITION)) << when;
    EXPECT_THAT(reply.message(), HasSubstr(frozen)) << when;
    EXPECT_FALSE(stream->Read(&reply)) << when;
    EXPECT_TRUE(stream->Finish().ok()) << when;
  }
  const v1::GetLedgerResponse info = LedgerOf(stub, chain.ledger_id());
  EXPECT_TRUE(info.frozen()) << when;
  EXPECT_EQ(info.evidence_id(), evidence_id) << when;
  EXPECT_EQ(info.head_number(), head) << when;
  ASSERT_EQ(info.held_size(), 1) << when;
  EXPECT_EQ(info.held(0).first(), 1u) << when;
  EXPECT_EQ(info.held(0).last(), head) << when;
  // Reads go on.
  std::vector<std::string> blocks;
  EXPECT_TRUE(ReadBlocks(stub, chain.ledger_id(), 1, 0, &blocks).ok()) << when;
  EXPECT_EQ(blocks.size(), head) << when;
}

TEST(EquivocationTest, ARestoredBackupForksAndBothHostsFreezeTheLedger) {
  const std::string dir_a = NewTempDir("equivocation_a");
  const std::string dir_b = NewTempDir("equivocation_b");
  absl::StatusOr<std::unique_ptr<HostProcess>> a =
      HostProcess::Start({"--data_dir=" + dir_a});
  ASSERT_TRUE(a.ok()) << a.status();
  std::unique_ptr<HostStub> stub_a = Connect((*a)->address());
  OwnerChain chain = CreateChain(*stub_a);
  ASSERT_TRUE(AppendBlock(*stub_a, chain, chain.Next()).ok());
  ASSERT_TRUE(AppendBlock(*stub_a, chain, chain.Next()).ok());
  const v1::GetLedgerResponse open = LedgerOf(*stub_a, chain.ledger_id());
  EXPECT_FALSE(open.frozen());
  EXPECT_EQ(open.evidence_id(), "");
  grpc::Status status;
  EXPECT_TRUE(EvidenceOf(*stub_a, chain.ledger_id(), &status).empty());
  EXPECT_TRUE(status.ok()) << status.error_message();

  // The backup: the stopped host's data directory with its master.key.
  (*a)->Stop();
  std::filesystem::copy(dir_a, dir_b, std::filesystem::copy_options::recursive |
                                          std::filesystem::copy_options::overwrite_existing);
  a = HostProcess::Start({"--data_dir=" + dir_a});
  ASSERT_TRUE(a.ok()) << a.status();
  stub_a = Connect((*a)->address());
  absl::StatusOr<std::unique_ptr<HostProcess>> b =
      HostProcess::Start({"--data_dir=" + dir_b});
  ASSERT_TRUE(b.ok()) << b.status();
  std::unique_ptr<HostStub> stub_b = Connect((*b)->address());

  // Each host countersigns its own block 3.
  const Block side_a = chain.Next(Json{{"event", "forked"}, {"side", "a"}});
  Block side_b = chain.Next(Json{{"event", "forked"}, {"side", "b"}});
  v1::AppendResponse reply_a, reply_b;
  ASSERT_TRUE(AppendBlock(*stub_a, chain, side_a, &reply_a).ok());
  {
    grpc::ClientContext context;
    v1::AppendRequest request;
    request.set_block(OwnerChain::Bytes(side_b));
    status = stub_b->Append(&context, request, &reply_b);
    ASSERT_TRUE(status.ok()) << status.error_message();
  }
  side_b.signatures.push_back(FromProto(reply_b.host_signature()));
  absl::StatusOr<std::string> blocks = BuildBlocksEvidence(
      chain.ledger_id(), SerializeBlock(chain.blocks().back()), SerializeBlock(side_b));
  ASSERT_TRUE(blocks.ok()) << blocks.status();
  absl::StatusOr<std::string> checkpoints =
      BuildCheckpointsEvidence(chain.ledger_id(), reply_a.checkpoint(), reply_b.checkpoint());
  ASSERT_TRUE(checkpoints.ok()) << checkpoints.status();
  const std::string id = EvidenceId(*blocks);

  // Reported to both; the backup also gets the checkpoints evidence, twice.
  for (HostStub* stub : {stub_a.get(), stub_b.get()}) {
    v1::ReportEquivocationResponse response;
    status = Report(*stub, *blocks, &response);
    ASSERT_TRUE(status.ok()) << status.error_message();
    EXPECT_EQ(response.ledger_id(), chain.ledger_id());
    EXPECT_EQ(response.kind(), "blocks");
    EXPECT_EQ(response.evidence_id(), id);
    EXPECT_TRUE(response.frozen());
  }
  for (int i = 0; i < 2; ++i) {
    v1::ReportEquivocationResponse response;
    status = Report(*stub_b, *checkpoints, &response);
    ASSERT_TRUE(status.ok()) << status.error_message();
    EXPECT_EQ(response.kind(), "checkpoints");
    EXPECT_EQ(response.evidence_id(), EvidenceId(*checkpoints));
  }

  const Block next = chain.Next();
  ExpectFrozen(*stub_a, chain, next, id, 3, "host");
  ExpectFrozen(*stub_b, chain, next, id, 3, "backup");
  EXPECT_THAT(EvidenceOf(*stub_a, chain.ledger_id(), &status), ElementsAre(*blocks));
  EXPECT_THAT(EvidenceOf(*stub_b, chain.ledger_id(), &status),
              ElementsAre(*blocks, *checkpoints));

  // Not evidence, and a ledger neither host holds.
  v1::ReportEquivocationResponse response;
  status = Report(*stub_a, *blocks + "\n", &response);
  EXPECT_EQ(status.error_code(), Code::INVALID_ARGUMENT);
  EXPECT_FALSE(status.error_message().empty());
  const std::string unknown = "jlinx:u" + std::string(43, 'A');
  EvidenceOf(*stub_a, unknown, &status);
  EXPECT_EQ(status.error_code(), Code::NOT_FOUND) << status.error_message();
  EvidenceOf(*stub_a, "jlinx:nope", &status);
  EXPECT_EQ(status.error_code(), Code::INVALID_ARGUMENT);

  // A restart keeps the freeze.
  (*a)->Stop();
  a = HostProcess::Start({"--data_dir=" + dir_a});
  ASSERT_TRUE(a.ok()) << a.status();
  stub_a = Connect((*a)->address());
  ExpectFrozen(*stub_a, chain, next, id, 3, "host restarted");
  EXPECT_THAT(EvidenceOf(*stub_a, chain.ledger_id(), &status), ElementsAre(*blocks));
}

}  // namespace
}  // namespace microledger
