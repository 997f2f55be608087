// Every gRPC code that owner.proto documents, produced by a real ml-owner:
// the code a client sees for each kind of failure is the documented one.
// (UNAUTHENTICATED: owner_e2e_test BearerTokenIsRequiredWhenConfigured;
// DATA_LOSS: equivocation_test and restart_test.)
#include <signal.h>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/host/host_process.h"
#include "tests/owner/agent_process.h"
#include "tests/owner/owner_test_util.h"

namespace microledger {
namespace {

using ::testing::HasSubstr;

class OwnerErrorCodesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto host = HostProcess::Start({"--storage=memory"});
    ASSERT_TRUE(host.ok()) << host.status();
    host_ = *std::move(host);
    auto agent = AgentProcess::Start({"--keystore=" + NewTempDir("codes") + "/ks",
                                      "--host=" + host_->address(),
                                      "--append_timeout_seconds=1"});
    ASSERT_TRUE(agent.ok()) << agent.status();
    agent_ = *std::move(agent);
    stub_ = agent_->Stub();
    v1::OwnerCreateLedgerResponse created;
    grpc::Status status = CreateLedger(*stub_, "", &created);
    ASSERT_TRUE(status.ok()) << Msg(status);
    ledger_ = created.ledger_id();
  }

  grpc::Status AppendEvent(const std::string& event) {
    v1::BlockOutcome outcome;
    return Append(*stub_, ledger_, event, &outcome);
  }

  std::unique_ptr<HostProcess> host_;
  std::unique_ptr<AgentProcess> agent_;
  std::unique_ptr<AgentStub> stub_;
  std::string ledger_;
};

TEST_F(OwnerErrorCodesTest, InvalidArgumentForMalformedInput) {
  for (const std::string& event : {std::string("{"), std::string("[1]"),
                                   std::string(R"({"event":1})"), std::string("{} {}")}) {
    grpc::Status status = AppendEvent(event);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT)
        << event << " -> " << Msg(status);
  }
  v1::OwnerCreateLedgerRequest request;  // No document type.
  v1::OwnerCreateLedgerResponse created;
  EXPECT_EQ(stub_->CreateLedger(Ctx().get(), request, &created).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(OwnerErrorCodesTest, FailedPreconditionForRuleBreaks) {
  grpc::Status status = AppendEvent(R"({"event":"closed document"})");
  EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION) << Msg(status);
  v1::CloseLedgerRequest close;
  close.set_ledger_id(ledger_);
  v1::BlockOutcome outcome;
  ASSERT_TRUE(stub_->CloseLedger(Ctx().get(), close, &outcome).ok());
  status = AppendEvent(R"({"event":"after close"})");
  EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION) << Msg(status);
  EXPECT_THAT(status.error_message(), HasSubstr("terminal"));
}

TEST_F(OwnerErrorCodesTest, NotFoundForUnknownLedgerOrKey) {
  v1::BlockOutcome outcome;
  grpc::Status status = Append(*stub_, std::string(5 << 20, 'z'), R"({"event":"x"})", &outcome);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND) << status.error_code();
  EXPECT_LT(status.error_message().size(), 1024u);  // The 5 MiB id is not echoed.
  v1::OwnerCreateLedgerRequest request;
  request.set_document_type("invoice");
  request.set_key("uNotAKeyOfThisKeystore");
  v1::OwnerCreateLedgerResponse created;
  status = stub_->CreateLedger(Ctx().get(), request, &created);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND) << Msg(status);
}

TEST_F(OwnerErrorCodesTest, ResourceExhaustedForABlockOverTheLimit) {
  grpc::Status status =
      AppendEvent(absl::StrCat(R"({"event":"big","data":")", std::string(70000, 'x'), "\"}"));
  EXPECT_EQ(status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << Msg(status);
  EXPECT_LT(status.error_message().size(), 1024u);
}

TEST_F(OwnerErrorCodesTest, UnavailableAndDeadlineExceededFromTheHost) {
  const pid_t host_pid = host_->pid();
  ASSERT_TRUE(StopProcess(host_pid));
  grpc::Status status = AppendEvent(R"({"event":"while the host sleeps"})");
  ContinueProcess(host_pid);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED) << Msg(status);
  host_->Kill9();
  status = AppendEvent(R"({"event":"host gone"})");
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE) << Msg(status);
}

}  // namespace
}  // namespace microledger
