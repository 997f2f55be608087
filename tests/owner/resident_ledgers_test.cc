// The owner agent holds more ledgers than it keeps in memory
// (--resident_ledgers): idle ledgers are dropped from memory and read from
// their records when used again, synced with their host first. Nothing the
// agent verified is lost or rolled back by that: appends to every ledger in
// any order and at the same time succeed, heads never go back (also for a
// ledger whose newest head is only in the head log, the "dirty" ones), the
// listing shows every ledger, and a killed agent starts with all of them.
// Real ml-host and ml-owner processes on loopback.
#include <atomic>
#include <map>
#include <thread>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/host/host_process.h"
#include "tests/owner/agent_process.h"
#include "tests/owner/owner_test_util.h"

namespace microledger {
namespace {

constexpr int kLedgers = 6;

std::unique_ptr<AgentProcess> StartAgent(const std::string& keystore, const std::string& host,
                                         const std::vector<std::string>& more = {}) {
  std::vector<std::string> flags = {"--keystore=" + keystore, "--host=" + host,
                                    "--resident_ledgers=2", "--append_timeout_seconds=20"};
  flags.insert(flags.end(), more.begin(), more.end());
  auto agent = AgentProcess::Start(flags);
  EXPECT_TRUE(agent.ok()) << agent.status();
  return agent.ok() ? *std::move(agent) : nullptr;
}

uint64_t OfflineHead(AgentStub& stub, const std::string& ledger) {
  return LedgerInfo(stub, ledger, /*offline=*/true).head_number();
}

std::map<std::string, uint64_t> Listed(AgentStub& stub) {
  v1::ListLedgersResponse listed;
  grpc::Status status = stub.ListLedgers(Ctx().get(), v1::ListLedgersRequest(), &listed);
  EXPECT_TRUE(status.ok()) << Msg(status);
  std::map<std::string, uint64_t> heads;
  for (const auto& entry : listed.ledgers()) heads[entry.ledger_id()] = entry.head_number();
  return heads;
}

class ResidentLedgersTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto host = HostProcess::Start({"--storage=memory"});
    ASSERT_TRUE(host.ok()) << host.status();
    host_ = *std::move(host);
    keystore_ = NewTempDir("resident") + "/keystore";
  }

  // Creates kLedgers ledgers, each with `events` appends, one after another.
  void CreateLedgers(AgentStub& stub, int events) {
    for (int i = 0; i < kLedgers; ++i) {
      std::string ledger;
      grpc::Status status =
          CreateLedgerWithEvents(stub, events, R"({"event":"made","n":1})", &ledger);
      ASSERT_TRUE(status.ok()) << Msg(status);
      ledgers_.push_back(ledger);
      heads_[ledger] = 1 + events;
    }
  }

  std::unique_ptr<HostProcess> host_;
  std::string keystore_;
  std::vector<std::string> ledgers_;
  std::map<std::string, uint64_t> heads_;
};

TEST_F(ResidentLedgersTest, LedgersDroppedFromMemoryComeBackWithTheirVerifiedHeads) {
  auto agent = StartAgent(keystore_, host_->address());
  ASSERT_NE(agent, nullptr);
  auto stub = agent->Stub();
  CreateLedgers(*stub, 2);
  // Round robin over 6 ledgers with room for 2 idle ones: most appends go
  // to a ledger that was dropped and is read back from its record.
  for (int round = 0; round < 3; ++round) {
    for (const std::string& ledger : ledgers_) {
      v1::BlockOutcome outcome;
      grpc::Status status = Append(*stub, ledger, R"({"event":"round"})", &outcome);
      ASSERT_TRUE(status.ok()) << Msg(status);
      EXPECT_EQ(outcome.committed().number(), ++heads_[ledger]);
    }
  }
  // At the same time: one thread per ledger, and the listing alongside.
  std::atomic<int> failures{0};
  std::vector<std::thread> writers;
  for (const std::string& ledger : ledgers_) {
    writers.emplace_back([&stub, &failures, ledger] {
      for (int i = 0; i < 8; ++i) {
        v1::BlockOutcome outcome;
        if (!Append(*stub, ledger, R"({"event":"together"})", &outcome).ok()) ++failures;
      }
    });
  }
  for (int i = 0; i < 5; ++i) EXPECT_EQ(Listed(*stub).size(), static_cast<size_t>(kLedgers));
  for (std::thread& writer : writers) writer.join();
  EXPECT_EQ(failures.load(), 0);
  for (auto& [ledger, head] : heads_) head += 8;

  EXPECT_EQ(Listed(*stub), heads_);
  for (const auto& [ledger, head] : heads_) {
    EXPECT_EQ(OfflineHead(*stub, ledger), head);
    EXPECT_EQ(HostHead(host_->address(), ledger), head);
  }
  // A ledger read back from its record still exports a bundle that verifies.
  std::string bundle;
  grpc::Status exported = Export(*stub, ledgers_.front(), &bundle);
  ASSERT_TRUE(exported.ok()) << Msg(exported);
  EXPECT_TRUE(VerifyBundleBytes(bundle).ok) << bundle.substr(0, 200);
}

// With a flush interval far away, each head after an ordinary block is only
// in the head log until the next flush: such a ledger must stay in memory
// (an agent that dropped it would read its older record back). Then the
// agent is killed and starts again with every head.
TEST_F(ResidentLedgersTest, HeadsNotSavedYetAreNeitherDroppedNorLost) {
  auto agent = StartAgent(keystore_, host_->address(), {"--state_flush_ms=600000"});
  ASSERT_NE(agent, nullptr);
  auto stub = agent->Stub();
  CreateLedgers(*stub, 0);
  for (int round = 0; round < 4; ++round) {
    for (const std::string& ledger : ledgers_) {
      v1::BlockOutcome outcome;
      grpc::Status status = Append(*stub, ledger, R"({"event":"unsaved"})", &outcome);
      ASSERT_TRUE(status.ok()) << Msg(status);
      ++heads_[ledger];
    }
    for (const auto& [ledger, head] : heads_) EXPECT_EQ(OfflineHead(*stub, ledger), head);
  }
  EXPECT_EQ(Listed(*stub), heads_);
  agent->Kill9();
  agent = StartAgent(keystore_, host_->address());
  ASSERT_NE(agent, nullptr);
  stub = agent->Stub();
  EXPECT_EQ(Listed(*stub), heads_);
  for (const std::string& ledger : ledgers_) {
    EXPECT_EQ(OfflineHead(*stub, ledger), heads_[ledger]);
    v1::BlockOutcome outcome;
    grpc::Status status = Append(*stub, ledger, R"({"event":"after the kill"})", &outcome);
    ASSERT_TRUE(status.ok()) << Msg(status);
    EXPECT_EQ(outcome.committed().number(), ++heads_[ledger]);
  }
}

TEST(ResidentLedgersFlagTest, ANonPositiveCountIsRefused) {
  const std::string keystore = NewTempDir("resident-flag") + "/keystore";
  for (const char* value : {"0", "-3"}) {
    auto [code, output] = AgentProcess::RunToExit(
        {"--keystore=" + keystore, std::string("--resident_ledgers=") + value});
    EXPECT_NE(code, 0) << value;
    EXPECT_THAT(output, ::testing::HasSubstr("--resident_ledgers must be positive")) << value;
  }
}

}  // namespace
}  // namespace microledger
