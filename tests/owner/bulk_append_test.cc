// AppendEvents (owner.proto): a stream of events into one ledger, end to end
// through real ml-host and ml-owner processes on loopback. Consecutive
// blocks that verify; a refused event in the middle (the blocks before it
// stay, none after it is appended); AppendEvent calls on the same ledger
// during the stream (one valid chain); a stream the client cancels; kill -9 of the agent during a stream
// (its state matches the host after the restart, nothing it acknowledged is
// lost); a host whose countersignature of one block is wrong (detected, the
// stream stops there).
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/host/host_process.h"
#include "tests/owner/agent_process.h"
#include "tests/owner/owner_test_util.h"

namespace microledger {
namespace {

using ::testing::HasSubstr;

std::vector<std::string> NumberedEvents(int count, const std::string& name = "bulk") {
  std::vector<std::string> events;
  for (int i = 0; i < count; ++i) {
    events.push_back(absl::StrCat(R"({"event":")", name, R"(","i":)", i, "}"));
  }
  return events;
}

// Streams `events` in messages of `per_message`; the call's status in *status.
v1::AppendEventsSummary StreamEvents(AgentStub& stub, const std::string& ledger,
                                     const std::vector<std::string>& events,
                                     grpc::Status* status, size_t per_message = 64) {
  v1::AppendEventsSummary summary;
  auto context = Ctx(120);
  std::unique_ptr<grpc::ClientWriter<v1::AppendEventsRequest>> writer =
      stub.AppendEvents(context.get(), &summary);
  size_t next = 0;
  do {
    v1::AppendEventsRequest request;
    if (next == 0) request.set_ledger_id(ledger);
    for (size_t n = 0; n < per_message && next < events.size(); ++n) {
      request.add_events()->set_event_json(events[next++]);
    }
    if (!writer->Write(request)) break;
  } while (next < events.size());
  writer->WritesDone();
  *status = writer->Finish();
  return summary;
}

v1::VerifyLedgerResponse Verify(AgentStub& stub, const std::string& ledger) {
  v1::VerifyLedgerRequest request;
  request.set_ledger_id(ledger);
  v1::VerifyLedgerResponse response;
  grpc::Status status = stub.VerifyLedger(Ctx().get(), request, &response);
  EXPECT_TRUE(status.ok()) << Msg(status);
  return response;
}

class BulkAppendTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto host = HostProcess::Start(
        {"--storage=rocksdb", "--data_dir=" + NewTempDir("bulk_host"), "--sync=false"});
    ASSERT_TRUE(host.ok()) << host.status();
    host_ = *std::move(host);
    keystore_ = NewTempDir("bulk") + "/ks";
    StartAgent(host_->address());
  }
  void StartAgent(const std::string& host_address) {
    auto agent = AgentProcess::Start({"--keystore=" + keystore_, "--host=" + host_address,
                                      "--append_timeout_seconds=20"});
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

  std::unique_ptr<HostProcess> host_;
  std::string keystore_;
  std::unique_ptr<AgentProcess> agent_;
  std::unique_ptr<AgentStub> stub_;
};

TEST_F(BulkAppendTest, TwoThousandEventsBecomeConsecutiveBlocksThatVerify) {
  const std::string ledger = NewLedger();
  grpc::Status status;
  v1::AppendEventsSummary summary = StreamEvents(*stub_, ledger, NumberedEvents(2000), &status);
  ASSERT_TRUE(status.ok()) << Msg(status);
  EXPECT_EQ(summary.error_code(), 0) << summary.error_message();
  EXPECT_EQ(summary.appended(), 2000u);
  EXPECT_EQ(summary.first_number(), 2u);
  EXPECT_EQ(summary.last_number(), 2001u);
  EXPECT_THAT(summary.checkpoint(), HasSubstr("\n2001\n"));
  EXPECT_EQ(HostHead(host_->address(), ledger), 2001u);
  const v1::OwnerGetLedgerResponse info = LedgerInfo(*stub_, ledger, /*offline=*/true);
  EXPECT_EQ(info.head_number(), 2001u);
  EXPECT_EQ(info.head_fingerprint(), summary.last_fingerprint());
  const v1::VerifyLedgerResponse verdict = Verify(*stub_, ledger);
  EXPECT_TRUE(verdict.ok()) << verdict.verdict();
  EXPECT_EQ(verdict.blocks(), 2001u);
  // Each event is its own block, in stream order.
  std::string bundle;
  ASSERT_TRUE(Export(*stub_, ledger, &bundle).ok());
  EXPECT_THAT(bundle, HasSubstr(R"("i":0)"));
  EXPECT_NE(bundle.find(R"("i":1999})"), std::string::npos);
  EXPECT_LT(bundle.find(R"("i":17})"), bundle.find(R"("i":18})"));
}

TEST_F(BulkAppendTest, ARefusedEventStopsTheStreamAndKeepsTheBlocksBeforeIt) {
  const std::string ledger = NewLedger();
  std::vector<std::string> events = NumberedEvents(300);
  events[150] = R"({"event":"closed document"})";
  grpc::Status status;
  v1::AppendEventsSummary summary = StreamEvents(*stub_, ledger, events, &status);
  ASSERT_TRUE(status.ok()) << Msg(status);
  EXPECT_EQ(summary.error_code(), static_cast<int>(grpc::StatusCode::FAILED_PRECONDITION));
  EXPECT_THAT(summary.error_message(), HasSubstr("reserved"));
  EXPECT_EQ(summary.failed_event(), 150u);
  EXPECT_EQ(summary.appended(), 150u);
  EXPECT_EQ(summary.last_number(), 151u);
  // AppendEvent answers the same event with the same code and message.
  v1::BlockOutcome outcome;
  grpc::Status single = Append(*stub_, ledger, events[150], &outcome);
  EXPECT_EQ(single.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(single.error_message(), summary.error_message());
  // Nothing after the refused event was appended; the ledger takes more.
  EXPECT_EQ(HostHead(host_->address(), ledger), 151u);
  ASSERT_TRUE(Append(*stub_, ledger, R"({"event":"after"})", &outcome).ok());
  EXPECT_EQ(outcome.committed().number(), 152u);
  EXPECT_TRUE(Verify(*stub_, ledger).ok());
}

TEST_F(BulkAppendTest, UnknownLedgerAndMissingLedgerId) {
  grpc::Status status;
  v1::AppendEventsSummary summary =
      StreamEvents(*stub_, "jlinx:unknown", NumberedEvents(3), &status);
  ASSERT_TRUE(status.ok()) << Msg(status);
  EXPECT_EQ(summary.error_code(), static_cast<int>(grpc::StatusCode::NOT_FOUND));
  EXPECT_EQ(summary.appended(), 0u);
  EXPECT_EQ(summary.failed_event(), 0u);
  StreamEvents(*stub_, "", NumberedEvents(3), &status);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << Msg(status);
}

TEST_F(BulkAppendTest, ConcurrentAppendEventKeepsOneValidChain) {
  const std::string ledger = NewLedger();
  std::atomic<int> single_ok{0};
  std::thread singles([&] {
    auto stub = agent_->Stub();
    for (int i = 0; i < 100; ++i) {
      v1::BlockOutcome outcome;
      if (Append(*stub, ledger, absl::StrCat(R"({"event":"single","i":)", i, "}"), &outcome)
              .ok()) {
        ++single_ok;
      }
    }
  });
  grpc::Status status;
  v1::AppendEventsSummary summary = StreamEvents(*stub_, ledger, NumberedEvents(1500), &status);
  singles.join();
  ASSERT_TRUE(status.ok()) << Msg(status);
  EXPECT_EQ(summary.error_code(), 0) << summary.error_message();
  EXPECT_EQ(summary.appended(), 1500u);
  EXPECT_EQ(single_ok.load(), 100);
  EXPECT_EQ(HostHead(host_->address(), ledger), 1601u);
  const v1::VerifyLedgerResponse verdict = Verify(*stub_, ledger);
  EXPECT_TRUE(verdict.ok()) << verdict.verdict();
  EXPECT_EQ(verdict.blocks(), 1601u);
}

TEST_F(BulkAppendTest, KilledAgentMidStreamMatchesTheHostAfterRestart) {
  const std::string ledger = NewLedger();
  grpc::Status status;
  v1::AppendEventsSummary acknowledged =
      StreamEvents(*stub_, ledger, NumberedEvents(300, "first"), &status);
  ASSERT_TRUE(status.ok()) << Msg(status);
  ASSERT_EQ(acknowledged.last_number(), 301u);

  std::thread stream([&] {
    grpc::Status ignored;
    StreamEvents(*stub_, ledger, NumberedEvents(20000, "second"), &ignored);
  });
  // Killed once the host has some of the second stream's blocks.
  for (int i = 0; i < 600 && HostHead(host_->address(), ledger) < 500; ++i) usleep(50 * 1000);
  agent_->Kill9();
  stream.join();
  // The host may still commit the blocks it had received: until its head
  // stays put for 300 ms (at most 10 s).
  uint64_t host_head = HostHead(host_->address(), ledger);
  for (int i = 0; i < 100; ++i) {
    usleep(300 * 1000);
    const uint64_t now = HostHead(host_->address(), ledger);
    if (now == host_head) break;
    host_head = now;
  }
  EXPECT_GE(host_head, 500u);
  EXPECT_LT(host_head, 20301u);

  StartAgent(host_->address());
  // What it acknowledged survived; it never believes more than the host has.
  const uint64_t saved_head = LedgerInfo(*stub_, ledger, /*offline=*/true).head_number();
  EXPECT_GE(saved_head, 301u);
  EXPECT_LE(saved_head, host_head);
  // After a sync its state is the host's, and the ledger takes more events.
  EXPECT_EQ(LedgerInfo(*stub_, ledger, /*offline=*/false).head_number(), host_head);
  v1::AppendEventsSummary more = StreamEvents(*stub_, ledger, NumberedEvents(10, "third"), &status);
  ASSERT_TRUE(status.ok()) << Msg(status);
  EXPECT_EQ(more.error_code(), 0) << more.error_message();
  EXPECT_EQ(more.first_number(), host_head + 1);
  const v1::VerifyLedgerResponse verdict = Verify(*stub_, ledger);
  EXPECT_TRUE(verdict.ok()) << verdict.verdict();
  EXPECT_EQ(verdict.blocks(), host_head + 10);
}

TEST_F(BulkAppendTest, ACancelledStreamStopsAndLeavesOneValidChain) {
  const std::string ledger = NewLedger();
  grpc::ClientContext context;
  v1::AppendEventsSummary summary;
  std::unique_ptr<grpc::ClientWriter<v1::AppendEventsRequest>> writer =
      stub_->AppendEvents(&context, &summary);
  const std::vector<std::string> events = NumberedEvents(64);
  v1::AppendEventsRequest request;
  request.set_ledger_id(ledger);
  for (const std::string& event : events) request.add_events()->set_event_json(event);
  // Messages until the host has 300 blocks (at most 2,000 messages or 60 s).
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  for (int i = 0; i < 2000 && std::chrono::steady_clock::now() < give_up &&
                  HostHead(host_->address(), ledger) < 300;
       ++i) {
    ASSERT_TRUE(writer->Write(request));
    request.clear_ledger_id();
  }
  context.TryCancel();
  EXPECT_EQ(writer->Finish().error_code(), grpc::StatusCode::CANCELLED);
  // The agent stops signing soon after: the host's head stops moving (it is
  // read until it stays put for 300 ms, at most 10 s), short of the events
  // sent, and the ledger takes the next event right after it.
  uint64_t host_head = HostHead(host_->address(), ledger);
  for (int i = 0; i < 33; ++i) {
    usleep(300 * 1000);
    const uint64_t now = HostHead(host_->address(), ledger);
    if (now == host_head) break;
    host_head = now;
  }
  EXPECT_GE(host_head, 301u);
  EXPECT_LT(host_head, 2000u * 64u);
  v1::BlockOutcome outcome;
  ASSERT_TRUE(Append(*stub_, ledger, R"({"event":"after"})", &outcome).ok());
  EXPECT_EQ(outcome.committed().number(), host_head + 1);
  ++host_head;
  const v1::VerifyLedgerResponse verdict = Verify(*stub_, ledger);
  EXPECT_TRUE(verdict.ok()) << verdict.verdict();
  EXPECT_EQ(verdict.blocks(), host_head);
}

// A HostService in front of a real ml-host that forwards every call, but
// answers the append of block `bad_block` with a host signature over other
// bytes.
class WrongCountersignatureHost final : public v1::HostService::Service {
 public:
  explicit WrongCountersignatureHost(const std::string& address)
      : stub_(v1::HostService::NewStub(
            grpc::CreateChannel(address, grpc::InsecureChannelCredentials()))) {}
  std::atomic<uint64_t> bad_block{0};

  grpc::Status CreateLedger(grpc::ServerContext*, const v1::CreateLedgerRequest* request,
                            v1::CreateLedgerResponse* response) override {
    return stub_->CreateLedger(Ctx().get(), *request, response);
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
      reply.set_code(status.error_code());
      reply.set_message(status.error_message());
      if (!status.ok()) reply.clear_result();
      if (!stream->Write(reply)) break;
    }
    return grpc::Status::OK;
  }
  grpc::Status GetLedger(grpc::ServerContext*, const v1::GetLedgerRequest* request,
                         v1::GetLedgerResponse* response) override {
    return stub_->GetLedger(Ctx().get(), *request, response);
  }
  grpc::Status GetCheckpoint(grpc::ServerContext*, const v1::GetCheckpointRequest* request,
                             v1::GetCheckpointResponse* response) override {
    return stub_->GetCheckpoint(Ctx().get(), *request, response);
  }
  grpc::Status GetBlocks(grpc::ServerContext*, const v1::GetBlocksRequest* request,
                         grpc::ServerWriter<v1::GetBlocksResponse>* writer) override {
    auto context = Ctx();
    auto reader = stub_->GetBlocks(context.get(), *request);
    v1::GetBlocksResponse response;
    while (reader->Read(&response)) writer->Write(response);
    return reader->Finish();
  }
  grpc::Status GetInclusionProof(grpc::ServerContext*,
                                 const v1::GetInclusionProofRequest* request,
                                 v1::GetInclusionProofResponse* response) override {
    return stub_->GetInclusionProof(Ctx().get(), *request, response);
  }
  grpc::Status GetConsistencyProof(grpc::ServerContext*,
                                   const v1::GetConsistencyProofRequest* request,
                                   v1::GetConsistencyProofResponse* response) override {
    return stub_->GetConsistencyProof(Ctx().get(), *request, response);
  }
  grpc::Status GetAttachment(grpc::ServerContext*, const v1::GetAttachmentRequest* request,
                             v1::GetAttachmentResponse* response) override {
    return stub_->GetAttachment(Ctx().get(), *request, response);
  }

 private:
  grpc::Status Forward(const v1::AppendRequest& request, v1::AppendResponse* response) {
    grpc::Status status = stub_->Append(Ctx().get(), request, response);
    if (status.ok() && response->number() == bad_block.load()) {
      // A valid-looking signature by the right key over other bytes: the
      // signature of the block before, which the host really made.
      response->mutable_host_signature()->set_sig(last_signature_);
    }
    if (status.ok()) last_signature_ = response->host_signature().sig();
    return status;
  }

  std::unique_ptr<v1::HostService::Stub> stub_;
  std::string last_signature_;
};

TEST_F(BulkAppendTest, AWrongHostCountersignatureMidStreamIsDetected) {
  WrongCountersignatureHost lying(host_->address());
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
  builder.RegisterService(&lying);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  ASSERT_NE(server, nullptr);
  agent_.reset();
  StartAgent(absl::StrCat("127.0.0.1:", port));
  const std::string ledger = NewLedger();
  lying.bad_block = 402;
  grpc::Status status;
  v1::AppendEventsSummary summary = StreamEvents(*stub_, ledger, NumberedEvents(1000), &status);
  ASSERT_TRUE(status.ok()) << Msg(status);
  EXPECT_EQ(summary.error_code(), static_cast<int>(grpc::StatusCode::DATA_LOSS))
      << summary.error_message();
  EXPECT_THAT(summary.error_message(), HasSubstr("block 402"));
  EXPECT_EQ(summary.failed_event(), 400u);
  EXPECT_EQ(summary.appended(), 400u);
  EXPECT_EQ(summary.last_number(), 401u);
  // The agent's verified head stops before the block it could not verify.
  EXPECT_EQ(LedgerInfo(*stub_, ledger, /*offline=*/true).head_number(), 401u);
  agent_.reset();
  server->Shutdown();
}

}  // namespace
}  // namespace microledger
