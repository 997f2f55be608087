// The agent's witness policy with real processes on loopback (issue #14):
// ml-host, ml-owner with three ml-witness processes and --witness_quorum=2.
// With all three up, and with one down, an append that asks to wait is
// witnessed: the checkpoint it returns covers the block and carries valid
// cosignatures of at least two of the three witnesses (checked with the
// reader's policy of common/cosignature.h). With two down the append still
// succeeds (the host has the block) and says "not witnessed" once its
// timeout passes; mlctl append --wait_witnessed prints the same on its second
// line and exits 0. An agent without witnesses refuses wait_witnessed.
#include <signal.h>
#include <unistd.h>

#include <cstdlib>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/checkpoint.h"
#include "common/cosignature.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/owner/disk_host.h"
#include "tests/owner/witness_set.h"

namespace microledger {
namespace {

using ::testing::HasSubstr;
using Code = grpc::StatusCode;

grpc::Status AppendWitnessed(AgentStub& stub, const std::string& ledger, const std::string& event,
                             uint32_t timeout_millis, v1::BlockOutcome* out) {
  v1::AppendEventRequest request;
  request.set_ledger_id(ledger);
  request.set_event_json(event);
  request.set_wait_witnessed(true);
  request.set_witness_timeout_millis(timeout_millis);
  grpc::Status status;
  // Bounded retries while the agent (re)connects to its host.
  for (int i = 0; i < 50; ++i) {
    status = stub.AppendEvent(Ctx(90).get(), request, out);
    if (status.error_code() != Code::UNAVAILABLE) break;
    usleep(100 * 1000);
  }
  return status;
}

// The outcome's checkpoint covers the committed block, verifies by the ledger
// key and carries valid cosignatures of at least `quorum` of `witnesses`.
void ExpectWitnessed(const v1::BlockOutcome& outcome, const std::vector<WitnessKey>& witnesses,
                     size_t quorum) {
  ASSERT_TRUE(outcome.has_committed());
  EXPECT_TRUE(outcome.witnessed()) << outcome.witness_detail();
  const std::string& ledger = outcome.committed().ledger_id();
  absl::StatusOr<VerifiedCheckpointNote> note =
      VerifyCheckpointNote(outcome.witnessed_checkpoint(), ledger);
  ASSERT_TRUE(note.ok()) << note.status() << "\n" << outcome.witnessed_checkpoint();
  EXPECT_GE(note->checkpoint.tree_size, outcome.committed().number());
  if (note->checkpoint.tree_size == outcome.committed().number()) {
    absl::StatusOr<Checkpoint> committed =
        VerifyCheckpoint(outcome.committed().checkpoint(), ledger);
    ASSERT_TRUE(committed.ok()) << committed.status();
    EXPECT_EQ(note->checkpoint.root_hash, committed->root_hash);
  }
  absl::StatusOr<WitnessPolicy> policy =
      WitnessPolicy::Create(witnesses, quorum, std::nullopt, absl::Minutes(5));
  ASSERT_TRUE(policy.ok()) << policy.status();
  absl::StatusOr<WitnessCount> count = policy->Count(*note, absl::Now());
  ASSERT_TRUE(count.ok()) << count.status();
  EXPECT_TRUE(count->witnessed()) << count->Describe();
  // A cosignature line that does not verify makes the note fail (SPEC §7).
  std::string tampered = outcome.witnessed_checkpoint();
  const size_t last_line = tampered.rfind('\xE2');
  ASSERT_NE(last_line, std::string::npos);
  const size_t payload = tampered.find(' ', tampered.find(' ', last_line) + 1) + 20;
  ASSERT_LT(payload, tampered.size());
  tampered[payload] = tampered[payload] == 'A' ? 'B' : 'A';
  absl::StatusOr<VerifiedCheckpointNote> tampered_note = VerifyCheckpointNote(tampered, ledger);
  if (tampered_note.ok()) {
    EXPECT_FALSE(policy->Count(*tampered_note, absl::Now()).ok());
  }
}

std::pair<int, std::string> RunMlctl(const std::vector<std::string>& args) {
  const char* binary = std::getenv("ML_MLCTL_BINARY");
  return ServerProcess::RunToExit(
      ServerCommand{binary != nullptr ? binary : "tools/mlctl", args, {}});
}

// `count` ml-witness processes, a durable ml-host and an ml-owner in front of
// it with --witness_quorum=`quorum` and `extra_flag`, holding one ledger of
// two blocks.
struct WitnessedAgent {
  std::unique_ptr<WitnessSet> witnesses;
  std::unique_ptr<DiskHost> host;
  std::unique_ptr<AgentProcess> agent;
  std::unique_ptr<AgentStub> stub;
  std::string ledger;
};

void StartWitnessedAgent(const std::string& name, int count, int quorum,
                         const std::string& extra_flag, WitnessedAgent* out) {
  absl::StatusOr<std::unique_ptr<WitnessSet>> witnesses = WitnessSet::Start(count);
  ASSERT_TRUE(witnesses.ok()) << witnesses.status();
  out->witnesses = *std::move(witnesses);
  out->host = std::make_unique<DiskHost>(name + "_host");
  ASSERT_TRUE(out->host->Start().ok());
  std::vector<std::string> flags = out->witnesses->AgentFlags(quorum);
  flags.push_back(extra_flag);
  out->agent = StartOwner(NewTempDir(name + "_agent") + "/ks", out->host->address(), flags);
  ASSERT_NE(out->agent, nullptr);
  out->stub = out->agent->Stub();
  ASSERT_TRUE(
      CreateLedgerWithEvents(*out->stub, 1, R"({"event":"before"})", &out->ledger).ok());
}

TEST(WitnessQuorumTest, AQuorumOfThreeWitnessesCosignsAppendsUntilTwoAreDown) {
  WitnessedAgent setup;
  ASSERT_NO_FATAL_FAILURE(
      StartWitnessedAgent("witness_quorum", 3, 2, "--witness_timeout_ms=30000", &setup));
  WitnessSet* witnesses = setup.witnesses.get();
  DiskHost& host = *setup.host;
  AgentProcess* agent = setup.agent.get();
  AgentStub* stub = setup.stub.get();
  const std::string& ledger = setup.ledger;
  const std::vector<WitnessKey>& keys = witnesses->keys();

  // All three up: witnessed.
  v1::BlockOutcome outcome;
  grpc::Status status = AppendWitnessed(*stub, ledger, R"({"event":"all up"})", 30000, &outcome);
  ASSERT_TRUE(status.ok()) << Msg(status);
  EXPECT_EQ(outcome.committed().number(), 3u);
  ExpectWitnessed(outcome, keys, 2);
  // mlctl: --wait_witnessed alone waits with the agent's default timeout.
  auto [code, output] = RunMlctl({"append", ledger, R"({"event":"cli"})",
                                  "--agent=" + agent->address(), "--wait_witnessed"});
  EXPECT_EQ(code, 0) << output;
  EXPECT_THAT(output, HasSubstr("4\nwitnessed\n"));

  // One witness down: still a quorum.
  witnesses->Stop(0);
  status = AppendWitnessed(*stub, ledger, R"({"event":"one down"})", 30000, &outcome);
  ASSERT_TRUE(status.ok()) << Msg(status);
  EXPECT_EQ(outcome.committed().number(), 5u);
  ExpectWitnessed(outcome, {keys[1], keys[2]}, 2);

  // Two down: the append succeeds, and says it was not witnessed in time.
  witnesses->Stop(1);
  status = AppendWitnessed(*stub, ledger, R"({"event":"two down"})", 1500, &outcome);
  ASSERT_TRUE(status.ok()) << Msg(status);
  ASSERT_TRUE(outcome.has_committed());
  EXPECT_EQ(outcome.committed().number(), 6u);
  EXPECT_FALSE(outcome.witnessed());
  EXPECT_EQ(outcome.witnessed_checkpoint(), "");
  EXPECT_THAT(outcome.witness_detail(), HasSubstr("not witnessed"));
  EXPECT_THAT(outcome.witness_detail(), HasSubstr("of 2 required witnesses"));
  EXPECT_EQ(HostHead(host.address(), ledger), 6u);
  std::tie(code, output) = RunMlctl({"append", ledger, R"({"event":"cli, two down"})",
                                     "--agent=" + agent->address(), "--wait_witnessed=1s"});
  EXPECT_EQ(code, 0) << output;
  EXPECT_THAT(output, HasSubstr("7\nnot witnessed: "));
  std::tie(code, output) = RunMlctl({"append", ledger, R"({"event":"cli"})",
                                     "--agent=" + agent->address(), "--wait_witnessed=soon"});
  EXPECT_EQ(code, 2) << output;

  // Without asking, an append says nothing about witnesses.
  status = Append(*stub, ledger, R"({"event":"no wait"})", &outcome);
  ASSERT_TRUE(status.ok()) << Msg(status);
  EXPECT_EQ(outcome.committed().number(), 8u);
  EXPECT_FALSE(outcome.witnessed());
  EXPECT_EQ(outcome.witness_detail(), "");

  // An agent without witnesses refuses to wait for them.
  auto plain = StartOwner(NewTempDir("witness_quorum_plain") + "/ks", host.address());
  ASSERT_NE(plain, nullptr);
  status = AppendWitnessed(*plain->Stub(), ledger, R"({"event":"x"})", 1000, &outcome);
  EXPECT_EQ(status.error_code(), Code::FAILED_PRECONDITION) << Msg(status);
  EXPECT_THAT(status.error_message(), HasSubstr("--witness"));
}

// SIGTERM while an append waits for witnesses that are down: the wait is
// answered "not witnessed" when the agent starts stopping (not after its
// 120 s timeout), the append itself has succeeded, and the agent exits
// within its drain and grace period.
TEST(WitnessQuorumTest, StoppingTheAgentAnswersAnAppendWaitingForWitnesses) {
  WitnessedAgent setup;
  ASSERT_NO_FATAL_FAILURE(
      StartWitnessedAgent("witness_stop", 2, 2, "--shutdown_grace_seconds=5", &setup));
  DiskHost& host = *setup.host;
  AgentProcess* agent = setup.agent.get();
  AgentStub* stub = setup.stub.get();
  const std::string& ledger = setup.ledger;
  setup.witnesses->Stop(0);
  setup.witnesses->Stop(1);

  v1::BlockOutcome outcome;
  grpc::Status status;
  std::thread waiting([&] {
    status = AppendWitnessed(*stub, ledger, R"({"event":"waits"})", 120000, &outcome);
  });
  // Bounded: until the block is committed (the wait for witnesses follows).
  for (int i = 0; i < 200 && HostHead(host.address(), ledger) < 3; ++i) usleep(50 * 1000);
  ASSERT_EQ(HostHead(host.address(), ledger), 3u);
  const absl::Time stop_sent = absl::Now();
  ASSERT_EQ(kill(agent->pid(), SIGTERM), 0);
  waiting.join();
  std::optional<int> exit_status = agent->WaitForExit(std::chrono::seconds(60));
  ASSERT_TRUE(exit_status.has_value()) << "the agent did not exit";
  EXPECT_EQ(*exit_status, 0);
  // A bound on a wait, not a speed: 120 s would mean the wait was not answered.
  EXPECT_LT(absl::Now() - stop_sent, absl::Seconds(60));
  ASSERT_TRUE(status.ok()) << Msg(status);
  ASSERT_TRUE(outcome.has_committed());
  EXPECT_EQ(outcome.committed().number(), 3u);
  EXPECT_FALSE(outcome.witnessed());
  EXPECT_THAT(outcome.witness_detail(), HasSubstr("not witnessed"));
}

// With --resident_ledgers=3 the submitter keeps three idle ledgers: appends to
// other ledgers drop the first one's witnessing state (reading that ledger
// offline keeps it resident in the agent meanwhile). A retried request (same
// request_id, wait_witnessed) then gets its block back and is still answered
// "witnessed": telling whether it was committed syncs the ledger with its
// host, which offers the checkpoint again, and the witness (which holds that
// size) cosigns it again.
TEST(WitnessQuorumTest, ARetriedRequestOfALedgerDroppedFromTheSubmitterIsWitnessed) {
  WitnessedAgent setup;
  ASSERT_NO_FATAL_FAILURE(
      StartWitnessedAgent("witness_retry", 1, 1, "--resident_ledgers=3", &setup));
  const std::vector<WitnessKey>& keys = setup.witnesses->keys();
  DiskHost& host = *setup.host;
  AgentStub* stub = setup.stub.get();
  const std::string& ledger = setup.ledger;
  v1::AppendEventRequest request;
  request.set_ledger_id(ledger);
  request.set_event_json(R"({"event":"once"})");
  request.set_request_id("retried-request");
  request.set_wait_witnessed(true);
  request.set_witness_timeout_millis(30000);
  v1::BlockOutcome first;
  grpc::Status status = stub->AppendEvent(Ctx(90).get(), request, &first);
  ASSERT_TRUE(status.ok()) << Msg(status);
  ExpectWitnessed(first, keys, 1);
  for (int i = 0; i < 6; ++i) {
    std::string other;
    ASSERT_TRUE(CreateLedgerWithEvents(*stub, 1, R"({"event":"other"})", &other).ok());
    v1::BlockOutcome outcome;
    status = AppendWitnessed(*stub, other, R"({"event":"other"})", 30000, &outcome);
    ASSERT_TRUE(status.ok()) << Msg(status);
    ExpectWitnessed(outcome, keys, 1);
    EXPECT_EQ(LedgerInfo(*stub, ledger, /*offline=*/true).head_number(),
              first.committed().number());
  }
  v1::BlockOutcome retried;
  status = stub->AppendEvent(Ctx(90).get(), request, &retried);
  ASSERT_TRUE(status.ok()) << Msg(status);
  ASSERT_TRUE(retried.has_committed());
  EXPECT_EQ(retried.committed().number(), first.committed().number());
  EXPECT_EQ(retried.committed().fingerprint(), first.committed().fingerprint());
  ExpectWitnessed(retried, keys, 1);
  EXPECT_EQ(HostHead(host.address(), ledger), first.committed().number());
}

TEST(WitnessQuorumTest, BadWitnessFlagsStopTheAgentAtStart) {
  absl::StatusOr<std::unique_ptr<WitnessSet>> witnesses = WitnessSet::Start(1);
  ASSERT_TRUE(witnesses.ok()) << witnesses.status();
  const std::string keystore = NewTempDir("witness_flags_agent") + "/ks";
  std::vector<std::string> flags = (*witnesses)->AgentFlags(2);  // 2 of 1.
  flags.push_back("--keystore=" + keystore);
  auto [code, output] = AgentProcess::RunToExit(flags);
  EXPECT_NE(code, 0);
  EXPECT_THAT(output, HasSubstr("--witness_quorum=2"));
  std::tie(code, output) = AgentProcess::RunToExit(
      {"--keystore=" + keystore, "--witness=not-a-vkey@http://127.0.0.1:1"});
  EXPECT_NE(code, 0);
  EXPECT_THAT(output, HasSubstr("--witness"));
}

}  // namespace
}  // namespace microledger
