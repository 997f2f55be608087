// The gRPC codes proto/microledger/v1/host.proto documents, call by call,
// against the real ml-host on 127.0.0.1; error messages that stay short
// however large the input they quote; and a forgotten ledger's retired id,
// across a restart.
#include <functional>
#include <string>

#include "common/encoding.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/host/grpc_client.h"
#include "tests/host/host_process.h"

namespace microledger {
namespace {

using ::testing::HasSubstr;
using Code = grpc::StatusCode;

// Messages quote at most ~200 bytes of any input.
constexpr size_t kShortMessage = 1024;

std::unique_ptr<HostStub> ConnectLarge(const std::string& address) {
  grpc::ChannelArguments args;
  args.SetMaxSendMessageSize(-1);
  args.SetMaxReceiveMessageSize(-1);
  return v1::HostService::NewStub(
      grpc::CreateCustomChannel(address, grpc::InsecureChannelCredentials(), args));
}

#define EXPECT_CODE(status_expr, code)                                              \
  do {                                                                              \
    const grpc::Status status_ = (status_expr);                                     \
    EXPECT_EQ(status_.error_code(), (code)) << #status_expr << ": "                 \
                                            << status_.error_message().substr(0, 300); \
    EXPECT_LT(status_.error_message().size(), kShortMessage) << #status_expr;       \
  } while (false)

class HostStatusCodesTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new std::string(NewTempDir("status_codes"));
    // Blocks up to 16 MiB, so that an 8 MiB event meets the rules, not the
    // size limit; two attachments at most.
    absl::StatusOr<std::unique_ptr<HostProcess>> host = HostProcess::Start(
        {"--data_dir=" + *dir_, "--max_block_bytes=16777216", "--max_attachments=2"});
    ASSERT_TRUE(host.ok()) << host.status();
    host_ = host->release();
  }
  static void TearDownTestSuite() {
    delete host_;
    host_ = nullptr;
  }
  void SetUp() override {
    ASSERT_NE(host_, nullptr);
    stub_ = ConnectLarge(host_->address());
  }

  grpc::Status Append(const std::string& block, const std::string& token = "",
                      int attachments = 0) {
    grpc::ClientContext context;
    v1::AppendRequest request;
    request.set_block(block);
    request.set_ledger_token(token);
    for (int i = 0; i < attachments; ++i) request.add_attachments()->set_data("a");
    v1::AppendResponse response;
    return stub_->Append(&context, request, &response);
  }
  grpc::Status GetLedger(const std::string& id) {
    grpc::ClientContext context;
    v1::GetLedgerRequest request;
    request.set_ledger_id(id);
    v1::GetLedgerResponse response;
    return stub_->GetLedger(&context, request, &response);
  }
  grpc::Status GetCheckpoint(const std::string& id, uint64_t size) {
    grpc::ClientContext context;
    v1::GetCheckpointRequest request;
    request.set_ledger_id(id);
    request.set_tree_size(size);
    v1::GetCheckpointResponse response;
    return stub_->GetCheckpoint(&context, request, &response);
  }
  grpc::Status GetBlocks(const std::string& id, uint64_t from, uint64_t to,
                         uint32_t per_message = 0) {
    std::vector<std::string> blocks;
    return ReadBlocks(*stub_, id, from, to, &blocks, nullptr, per_message);
  }
  grpc::Status Inclusion(const std::string& id, uint64_t number, uint64_t size) {
    grpc::ClientContext context;
    v1::GetInclusionProofRequest request;
    request.set_ledger_id(id);
    request.set_number(number);
    request.set_tree_size(size);
    v1::GetInclusionProofResponse response;
    return stub_->GetInclusionProof(&context, request, &response);
  }
  grpc::Status Consistency(const std::string& id, uint64_t old_size, uint64_t new_size) {
    grpc::ClientContext context;
    v1::GetConsistencyProofRequest request;
    request.set_ledger_id(id);
    request.set_old_size(old_size);
    request.set_new_size(new_size);
    v1::GetConsistencyProofResponse response;
    return stub_->GetConsistencyProof(&context, request, &response);
  }
  grpc::Status Attachment(const std::string& id, const std::string& seal) {
    grpc::ClientContext context;
    v1::GetAttachmentRequest request;
    request.set_ledger_id(id);
    request.set_seal(seal);
    v1::GetAttachmentResponse response;
    return stub_->GetAttachment(&context, request, &response);
  }
  // The status a Subscribe ends with (after its first block, if any).
  grpc::Status Subscribe(const std::string& id, uint64_t from) {
    grpc::ClientContext context;
    v1::SubscribeRequest request;
    request.set_ledger_id(id);
    request.set_from_number(from);
    auto reader = stub_->Subscribe(&context, request);
    v1::SubscribeResponse response;
    if (reader->Read(&response)) context.TryCancel();
    while (reader->Read(&response)) {
    }
    return reader->Finish();
  }
  grpc::Status Forget(const std::string& id, const std::string& head,
                      const std::vector<BlockSignature>& signatures) {
    return ForgetLedger(*stub_, id, head, signatures);
  }
  // A ledger of three blocks, an attachment sealed in block 2.
  OwnerChain ThreeBlocks() {
    OwnerChain chain = CreateChain(*stub_);
    EXPECT_TRUE(AppendBlock(*stub_, chain, chain.Next()).ok());
    Block sealed = chain.Next(nullptr, std::vector<std::string>{DigestText(kData)});
    grpc::ClientContext context;
    v1::AppendRequest request;
    request.set_block(OwnerChain::Bytes(sealed));
    request.add_attachments()->set_data(kData);
    v1::AppendResponse response;
    EXPECT_TRUE(stub_->Append(&context, request, &response).ok());
    EXPECT_TRUE(chain.Accept(sealed, FromProto(response.host_signature())).ok());
    EXPECT_TRUE(AppendBlock(*stub_, chain, chain.Next()).ok());
    return chain;
  }

  static constexpr const char* kData = "attached";
  static HostProcess* host_;
  static std::string* dir_;
  std::unique_ptr<HostStub> stub_;
};

HostProcess* HostStatusCodesTest::host_ = nullptr;
std::string* HostStatusCodesTest::dir_ = nullptr;

TEST_F(HostStatusCodesTest, EveryDocumentedCodeOfEveryCall) {
  OwnerChain chain = ThreeBlocks();
  const std::string& id = chain.ledger_id();
  const std::string unknown = CreateChain(*stub_).ledger_id();  // Never appended.
  const std::string bad_id = "jlinx:nonsense";

  // Append.
  EXPECT_CODE(Append("{not json"), Code::INVALID_ARGUMENT);
  EXPECT_CODE(Append(OwnerChain::Bytes(chain.Next()), "", 1), Code::INVALID_ARGUMENT);
  Block gap = chain.Next();
  gap.number = 9;
  EXPECT_CODE(Append(OwnerChain::Bytes(chain.Reseal(gap))), Code::FAILED_PRECONDITION);
  Block stray = chain.Next();
  stray.ledger = unknown;
  EXPECT_CODE(Append(OwnerChain::Bytes(chain.Reseal(stray))), Code::NOT_FOUND);
  EXPECT_CODE(Append(OwnerChain::Bytes(chain.Next()), "", 3), Code::RESOURCE_EXHAUSTED);

  // AppendStream: each reply carries Append's code; the stream goes on.
  {
    grpc::ClientContext context;
    auto stream = stub_->AppendStream(&context);
    for (const std::string& bytes :
         {std::string("{not json"), OwnerChain::Bytes(chain.Reseal(gap))}) {
      v1::AppendRequest request;
      request.set_block(bytes);
      ASSERT_TRUE(stream->Write(request));
    }
    stream->WritesDone();
    v1::AppendStreamResponse first, second;
    ASSERT_TRUE(stream->Read(&first));
    ASSERT_TRUE(stream->Read(&second));
    EXPECT_TRUE(stream->Finish().ok());
    EXPECT_EQ(first.code(), static_cast<int>(Code::INVALID_ARGUMENT));
    EXPECT_EQ(second.code(), static_cast<int>(Code::FAILED_PRECONDITION));
  }

  // GetLedger.
  EXPECT_CODE(GetLedger(bad_id), Code::INVALID_ARGUMENT);
  EXPECT_CODE(GetLedger(unknown), Code::NOT_FOUND);

  // GetCheckpoint.
  EXPECT_CODE(GetCheckpoint(bad_id, 0), Code::INVALID_ARGUMENT);
  EXPECT_CODE(GetCheckpoint(unknown, 0), Code::NOT_FOUND);
  EXPECT_CODE(GetCheckpoint(id, 4), Code::OUT_OF_RANGE);

  // GetBlocks.
  EXPECT_CODE(GetBlocks(bad_id, 1, 0), Code::INVALID_ARGUMENT);
  EXPECT_CODE(GetBlocks(id, 0, 0), Code::INVALID_ARGUMENT);
  EXPECT_CODE(GetBlocks(id, 3, 2), Code::INVALID_ARGUMENT);
  EXPECT_CODE(GetBlocks(id, 1, 0, 257), Code::INVALID_ARGUMENT);
  EXPECT_CODE(GetBlocks(unknown, 1, 0), Code::NOT_FOUND);
  EXPECT_CODE(GetBlocks(id, 4, 0), Code::OUT_OF_RANGE);
  EXPECT_CODE(GetBlocks(id, 1, 4), Code::OUT_OF_RANGE);
  EXPECT_CODE(GetBlocks(id, 5, 9), Code::OUT_OF_RANGE);

  // GetInclusionProof.
  EXPECT_CODE(Inclusion(bad_id, 1, 0), Code::INVALID_ARGUMENT);
  EXPECT_CODE(Inclusion(id, 0, 0), Code::INVALID_ARGUMENT);
  EXPECT_CODE(Inclusion(id, 3, 2), Code::INVALID_ARGUMENT);
  EXPECT_CODE(Inclusion(unknown, 1, 0), Code::NOT_FOUND);
  EXPECT_CODE(Inclusion(id, 1, 4), Code::OUT_OF_RANGE);
  EXPECT_CODE(Inclusion(id, 4, 0), Code::OUT_OF_RANGE);

  // GetConsistencyProof.
  EXPECT_CODE(Consistency(bad_id, 1, 0), Code::INVALID_ARGUMENT);
  EXPECT_CODE(Consistency(id, 0, 0), Code::INVALID_ARGUMENT);
  EXPECT_CODE(Consistency(id, 3, 2), Code::INVALID_ARGUMENT);
  EXPECT_CODE(Consistency(unknown, 1, 0), Code::NOT_FOUND);
  EXPECT_CODE(Consistency(id, 1, 4), Code::OUT_OF_RANGE);
  EXPECT_CODE(Consistency(id, 4, 0), Code::OUT_OF_RANGE);

  // GetAttachment.
  EXPECT_CODE(Attachment(bad_id, DigestText(kData)), Code::INVALID_ARGUMENT);
  EXPECT_CODE(Attachment(id, "x"), Code::INVALID_ARGUMENT);
  EXPECT_CODE(Attachment(id, DigestText("never attached")), Code::NOT_FOUND);

  // Subscribe.
  EXPECT_CODE(Subscribe(bad_id, 1), Code::INVALID_ARGUMENT);
  EXPECT_CODE(Subscribe(id, 0), Code::INVALID_ARGUMENT);
  EXPECT_CODE(Subscribe(unknown, 1), Code::NOT_FOUND);

  // ForgetLedger.
  const std::vector<BlockSignature> signatures = chain.SignForget();
  std::vector<BlockSignature> wrong_role = signatures;
  wrong_role[0].role = "host";
  EXPECT_CODE(Forget(bad_id, chain.state().head_fingerprint, signatures),
              Code::INVALID_ARGUMENT);
  EXPECT_CODE(Forget(id, chain.state().head_fingerprint, wrong_role), Code::INVALID_ARGUMENT);
  EXPECT_CODE(Forget(id, chain.blocks()[0].fingerprint, signatures),
              Code::FAILED_PRECONDITION);
  EXPECT_CODE(Forget(id, chain.state().head_fingerprint, {}), Code::FAILED_PRECONDITION);
  EXPECT_CODE(Forget(unknown, chain.state().head_fingerprint, signatures), Code::NOT_FOUND);

  // No failed call changed anything.
  EXPECT_EQ(HeadNumber(*stub_, id), 3u);
  EXPECT_TRUE(GetBlocks(id, 1, 3).ok());
  EXPECT_TRUE(Attachment(id, DigestText(kData)).ok());
}

TEST_F(HostStatusCodesTest, HugeInputsGetTheirRealCodeAndAShortMessage) {
  OwnerChain chain = ThreeBlocks();
  const std::string& id = chain.ledger_id();
  const std::string huge_id = "jlinx:u" + std::string(5 << 20, 'A');
  EXPECT_CODE(GetLedger(huge_id), Code::INVALID_ARGUMENT);
  EXPECT_CODE(GetLedger(std::string(5 << 20, '\x01')), Code::INVALID_ARGUMENT);
  EXPECT_CODE(GetCheckpoint(huge_id, 0), Code::INVALID_ARGUMENT);
  EXPECT_CODE(GetBlocks(huge_id, 1, 0), Code::INVALID_ARGUMENT);
  EXPECT_CODE(Inclusion(huge_id, 1, 0), Code::INVALID_ARGUMENT);
  EXPECT_CODE(Consistency(huge_id, 1, 0), Code::INVALID_ARGUMENT);
  EXPECT_CODE(Attachment(huge_id, DigestText(kData)), Code::INVALID_ARGUMENT);
  EXPECT_CODE(Attachment(id, "u" + std::string(5 << 20, '!')), Code::INVALID_ARGUMENT);
  EXPECT_CODE(Subscribe(huge_id, 1), Code::INVALID_ARGUMENT);
  EXPECT_CODE(Forget(huge_id, chain.state().head_fingerprint, chain.SignForget()),
              Code::INVALID_ARGUMENT);
  EXPECT_CODE(Forget(id, std::string(5 << 20, 'f'), chain.SignForget()),
              Code::FAILED_PRECONDITION);
  std::vector<BlockSignature> huge_role = chain.SignForget();
  huge_role[0].role = std::string(5 << 20, 'r');
  EXPECT_CODE(Forget(id, chain.state().head_fingerprint, huge_role), Code::INVALID_ARGUMENT);
  std::vector<BlockSignature> huge_key = chain.SignForget();
  huge_key[0].key = std::string(5 << 20, 'k');
  EXPECT_CODE(Forget(id, chain.state().head_fingerprint, huge_key),
              Code::FAILED_PRECONDITION);

  // 8 MiB events.
  const std::string eight(8 << 20, 'e');
  Block wrong_previous = chain.Next({{"event", "big"}, {"pad", eight}});
  wrong_previous.previous = chain.blocks()[0].fingerprint;
  EXPECT_CODE(Append(OwnerChain::Bytes(chain.Reseal(wrong_previous))),
              Code::FAILED_PRECONDITION);
  Block long_name = chain.Next({{"event", eight}});
  long_name.number = 7;
  EXPECT_CODE(Append(OwnerChain::Bytes(chain.Reseal(long_name))), Code::FAILED_PRECONDITION);
  Block reserved = chain.Next({{"event", "opened document"}, {"pad", eight}});
  EXPECT_CODE(Append(OwnerChain::Bytes(chain.Reseal(reserved))), Code::INVALID_ARGUMENT);
  EXPECT_CODE(Append("{\"event\":\"" + eight), Code::INVALID_ARGUMENT);
  const std::string four(4 << 20, 'n');
  EXPECT_CODE(Append("{\"" + four + "\":1,\"" + four + "\":1}"), Code::INVALID_ARGUMENT);
  Block other_ledger = chain.Next();
  other_ledger.ledger = huge_id;
  EXPECT_CODE(Append(OwnerChain::Bytes(chain.Reseal(other_ledger))), Code::INVALID_ARGUMENT);
  EXPECT_EQ(HeadNumber(*stub_, id), 3u);
}

// The tombstone a forget leaves retires the id: a genesis for it, even the
// original one replayed with its creation token within the clock skew, is
// FAILED_PRECONDITION; reads say the ledger was forgotten; and so after a
// restart on the same data directory.
TEST(HostForgetTest, ForgottenIdIsRetiredAcrossARestart) {
  const std::string dir = NewTempDir("forget_restart");
  absl::StatusOr<std::unique_ptr<HostProcess>> host =
      HostProcess::Start({"--data_dir=" + dir});
  ASSERT_TRUE(host.ok()) << host.status();
  std::unique_ptr<HostStub> stub = Connect((*host)->address());
  OwnerChain chain = CreateChain(*stub);
  const Block genesis = chain.Next();
  ASSERT_TRUE(AppendBlock(*stub, chain, genesis).ok());
  ASSERT_TRUE(AppendBlock(*stub, chain, chain.Next()).ok());
  ASSERT_TRUE(ForgetLedger(*stub, chain.ledger_id(), chain.state().head_fingerprint,
                           chain.SignForget())
                  .ok());
  const auto expect_retired = [&](HostStub& s, const std::string& when) {
    grpc::ClientContext context;
    v1::AppendRequest request;
    request.set_block(OwnerChain::Bytes(genesis));
    request.set_ledger_token(chain.token());
    v1::AppendResponse response;
    grpc::Status replay = s.Append(&context, request, &response);
    EXPECT_EQ(replay.error_code(), Code::FAILED_PRECONDITION) << when;
    EXPECT_THAT(replay.error_message(), HasSubstr("forgotten ledger")) << when;
    OwnerChain again(chain.ledger_id(), chain.token());
    grpc::Status recreate = AppendBlock(s, again, again.Next());
    EXPECT_EQ(recreate.error_code(), Code::FAILED_PRECONDITION) << when;
    grpc::ClientContext read_context;
    v1::GetLedgerRequest read;
    read.set_ledger_id(chain.ledger_id());
    v1::GetLedgerResponse info;
    grpc::Status status = s.GetLedger(&read_context, read, &info);
    EXPECT_EQ(status.error_code(), Code::NOT_FOUND) << when;
    EXPECT_THAT(status.error_message(), HasSubstr("was forgotten")) << when;
    std::vector<std::string> blocks;
    status = ReadBlocks(s, chain.ledger_id(), 1, 0, &blocks);
    EXPECT_EQ(status.error_code(), Code::NOT_FOUND) << when;
    EXPECT_THAT(status.error_message(), HasSubstr("was forgotten")) << when;
  };
  expect_retired(*stub, "running");
  (*host)->Stop();
  host = HostProcess::Start({"--data_dir=" + dir});
  ASSERT_TRUE(host.ok()) << host.status();
  stub = Connect((*host)->address());
  expect_retired(*stub, "after a restart");
}

}  // namespace
}  // namespace microledger
