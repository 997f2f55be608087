// What the owner agent remembers across restarts, and what it does with a
// host that changed while it was down: the rollback drill (a host restored
// from an older copy of its data), a host that lost a ledger, the request
// ids of idempotent appends (with kill -9 between the append and its retry),
// records that were never written or were damaged, and calls that fail
// without leaving state behind. Real ml-host and ml-owner processes on
// loopback.
#include <signal.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/host/host_process.h"
#include "tests/owner/agent_process.h"
#include "tests/owner/owner_test_util.h"
#include "owner_agent/ledger_registry.h"

namespace microledger {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

// An ml-host on a fixed loopback port with a RocksDB directory, so that it can
// be stopped, its data swapped, and started again at the same address.
class RestartableHost {
 public:
  explicit RestartableHost(const std::string& name)
      : data_dir_(NewTempDir(name)),
        listen_(absl::StrCat("--listen=127.0.0.1:", FreePort())) {}
  absl::Status Start() {
    absl::StatusOr<std::unique_ptr<HostProcess>> host =
        HostProcess::Start({"--storage=rocksdb", "--data_dir=" + data_dir_, listen_});
    if (!host.ok()) return host.status();
    process_ = *std::move(host);
    address_ = process_->address();
    return absl::OkStatus();
  }
  void Stop() { process_.reset(); }
  const std::string& address() const { return address_; }
  const std::string& data_dir() const { return data_dir_; }
  pid_t pid() const { return process_->pid(); }

 private:
  const std::string data_dir_;
  const std::string listen_;
  std::unique_ptr<HostProcess> process_;
  std::string address_;
};

std::unique_ptr<AgentProcess> StartAgent(const std::string& keystore,
                                         const std::string& host) {
  auto agent = AgentProcess::Start(
      {"--keystore=" + keystore, "--host=" + host, "--append_timeout_seconds=10"});
  EXPECT_TRUE(agent.ok()) << agent.status();
  return agent.ok() ? *std::move(agent) : nullptr;
}

grpc::Status AppendWithId(AgentStub& stub, const std::string& ledger,
                          const std::string& event, const std::string& request_id,
                          v1::BlockOutcome* out) {
  v1::AppendEventRequest request;
  request.set_ledger_id(ledger);
  request.set_event_json(event);
  request.set_request_id(request_id);
  return stub.AppendEvent(Ctx().get(), request, out);
}

std::vector<v1::Evidence> EvidenceOf(AgentStub& stub, const std::string& ledger) {
  v1::GetEvidenceRequest request;
  request.set_ledger_id(ledger);
  v1::GetEvidenceResponse response;
  grpc::Status status = stub.GetEvidence(Ctx().get(), request, &response);
  EXPECT_TRUE(status.ok()) << Msg(status);
  return {response.evidence().begin(), response.evidence().end()};
}

// The rollback drill: the host's data is restored from a copy taken at
// block 5 while the agent, which had 10 blocks acknowledged, was restarted.
// The agent must refuse the ledger and keep the evidence, exactly as it does
// when the rollback happens while it runs.
TEST(AgentRestartTest, RollbackDrillAcrossAgentRestart) {
  RestartableHost host("drill_host");
  ASSERT_TRUE(host.Start().ok());
  const std::string keystore = NewTempDir("drill") + "/ks";
  const std::string backup = NewTempDir("drill_backup");
  std::string ledger;
  {
    auto agent = StartAgent(keystore, host.address());
    ASSERT_NE(agent, nullptr);
    auto stub = agent->Stub();
    ASSERT_TRUE(CreateLedgerWithEvents(*stub, 4, R"({"event":"early"})", &ledger).ok());
    host.Stop();
    fs::copy(host.data_dir(), backup, fs::copy_options::recursive);
    ASSERT_TRUE(host.Start().ok());
    v1::BlockOutcome outcome;
    for (int i = 0; i < 50; ++i) {  // The agent reconnects within its backoff.
      grpc::Status status = Append(*stub, ledger, R"({"event":"late"})", &outcome);
      if (status.ok() && outcome.committed().number() == 10) break;
      if (!status.ok()) usleep(100 * 1000);
    }
    ASSERT_EQ(outcome.committed().number(), 10u);
  }  // The agent stops (SIGTERM).
  host.Stop();
  fs::remove_all(host.data_dir());
  fs::copy(backup, host.data_dir(), fs::copy_options::recursive);
  ASSERT_TRUE(host.Start().ok());
  ASSERT_EQ(HostHead(host.address(), ledger), 5u);

  auto agent = StartAgent(keystore, host.address());
  ASSERT_NE(agent, nullptr);
  auto stub = agent->Stub();
  EXPECT_EQ(LedgerInfo(*stub, ledger, /*offline=*/true).head_number(), 10u);  // Remembered.
  v1::BlockOutcome outcome;
  grpc::Status status = Append(*stub, ledger, R"({"event":"would fork"})", &outcome);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::DATA_LOSS) << Msg(status);
  EXPECT_THAT(status.error_message(), HasSubstr("host equivocation"));
  EXPECT_THAT(status.error_message(), HasSubstr("rollback"));
  EXPECT_EQ(HostHead(host.address(), ledger), 5u);  // Block 6 was not rewritten.
  std::vector<v1::Evidence> evidence = EvidenceOf(*stub, ledger);
  ASSERT_EQ(evidence.size(), 1u);
  EXPECT_EQ(evidence[0].kind(), "rollback");
  EXPECT_FALSE(evidence[0].held_checkpoint().empty());
  EXPECT_FALSE(evidence[0].served_checkpoint().empty());
  // Refused for good, also after another restart.
  agent.reset();
  agent = StartAgent(keystore, host.address());
  ASSERT_NE(agent, nullptr);
  stub = agent->Stub();
  status = Append(*stub, ledger, R"({"event":"still no"})", &outcome);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::DATA_LOSS) << Msg(status);
  EXPECT_TRUE(LedgerInfo(*stub, ledger, /*offline=*/true).equivocation());
}

// A host that answers "unknown ledger" for a ledger the agent holds (data
// lost, the wrong replica, a hostile host) after an agent restart: the agent
// neither crashes nor drafts a new block 1 nor freezes the ledger on an
// unsigned answer; it refuses the write and goes on serving its other
// ledgers.
TEST(AgentRestartTest, HostThatForgotTheLedgerIsEvidenceNotACrash) {
  RestartableHost host("forgetful_host");
  ASSERT_TRUE(host.Start().ok());
  auto other_host = HostProcess::Start({"--storage=memory"});
  ASSERT_TRUE(other_host.ok());
  const std::string keystore = NewTempDir("forgetful") + "/ks";
  std::string ledger, other_ledger;
  {
    auto agent = StartAgent(keystore, host.address());
    ASSERT_NE(agent, nullptr);
    auto stub = agent->Stub();
    v1::OwnerCreateLedgerResponse created;
    ASSERT_TRUE(CreateLedger(*stub, "", &created).ok());
    ledger = created.ledger_id();
    ASSERT_TRUE(CreateLedger(*stub, (*other_host)->address(), &created).ok());
    other_ledger = created.ledger_id();
    v1::BlockOutcome outcome;
    ASSERT_TRUE(Append(*stub, ledger, R"({"event":"a"})", &outcome).ok());
  }
  host.Stop();
  const std::string master_key = host.data_dir() + "/master.key";
  const std::string saved_key = NewTempDir("forgetful_key") + "/master.key";
  fs::copy_file(master_key, saved_key);
  fs::remove_all(host.data_dir());
  fs::create_directories(host.data_dir());
  fs::copy_file(saved_key, master_key);
  ASSERT_TRUE(host.Start().ok());

  auto agent = StartAgent(keystore, host.address());
  ASSERT_NE(agent, nullptr);
  auto stub = agent->Stub();
  v1::BlockOutcome outcome;
  grpc::Status status = Append(*stub, ledger, R"({"event":"b"})", &outcome);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::DATA_LOSS) << Msg(status);
  EXPECT_THAT(status.error_message(), HasSubstr("no longer knows the ledger"));
  // An unsigned "unknown ledger" proves nothing: no evidence, no freeze.
  EXPECT_TRUE(EvidenceOf(*stub, ledger).empty());
  EXPECT_FALSE(LedgerInfo(*stub, ledger, /*offline=*/true).equivocation());
  EXPECT_EQ(HostHead(host.address(), ledger), 0u);  // Nothing was written there.
  status = Append(*stub, other_ledger, R"({"event":"elsewhere"})", &outcome);
  ASSERT_TRUE(status.ok()) << Msg(status);
  EXPECT_EQ(outcome.committed().number(), 2u);
}

// A record of a ledger whose genesis never committed (the host reserved the
// id, then the agent crashed or the host lost it): an application event is
// refused with a clear error instead of being drafted as block 1 (which
// crashed the agent before).
TEST(AgentRestartTest, EventForALedgerWithoutGenesisIsRefused) {
  auto host = HostProcess::Start({"--storage=memory"});
  ASSERT_TRUE(host.ok());
  auto host_stub = v1::HostService::NewStub(
      grpc::CreateChannel((*host)->address(), grpc::InsecureChannelCredentials()));
  v1::CreateLedgerResponse reserved;
  ASSERT_TRUE(
      host_stub->CreateLedger(Ctx().get(), v1::CreateLedgerRequest(), &reserved).ok());
  const std::string keystore = NewTempDir("no_genesis") + "/ks";
  {
    auto agent = StartAgent(keystore, (*host)->address());  // Creates the keystore.
    ASSERT_NE(agent, nullptr);
  }
  {
    auto registry = LedgerRegistry::Open(keystore + "/agent");
    ASSERT_TRUE(registry.ok());
    LedgerRecord record;
    record.ledger_id = reserved.ledger_id();
    record.host_address = (*host)->address();
    record.ledger_token = reserved.ledger_token();
    record.original_id = reserved.ledger_id();
    record.state = ChainState::Empty(reserved.ledger_id());
    ASSERT_TRUE((*registry)->Save(record, true).ok());
  }
  auto agent = StartAgent(keystore, (*host)->address());
  ASSERT_NE(agent, nullptr);
  auto stub = agent->Stub();
  v1::BlockOutcome outcome;
  grpc::Status status = Append(*stub, reserved.ledger_id(), R"({"event":"x"})", &outcome);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION) << Msg(status);
  EXPECT_THAT(status.error_message(), HasSubstr("no committed genesis block"));
  v1::ListLedgersResponse list;  // Still alive.
  EXPECT_TRUE(stub->ListLedgers(Ctx().get(), v1::ListLedgersRequest(), &list).ok());
}

// The verified head, frontier and checkpoint are saved: a restarted agent
// knows them without asking the host, and goes on from them.
TEST(AgentRestartTest, VerifiedStateIsRememberedWithoutTheHost) {
  RestartableHost host("remember_host");
  ASSERT_TRUE(host.Start().ok());
  const std::string keystore = NewTempDir("remember") + "/ks";
  std::string ledger, checkpoint;
  {
    auto agent = StartAgent(keystore, host.address());
    ASSERT_NE(agent, nullptr);
    v1::BlockOutcome last;
    ASSERT_TRUE(CreateLedgerWithEvents(*agent->Stub(), 6, R"({"event":"x"})", &ledger, &last)
                    .ok());
    checkpoint = last.committed().checkpoint();
    agent->Kill9();  // Reported appends are on disk even without a clean stop.
  }
  host.Stop();
  {
    auto agent = StartAgent(keystore, host.address());
    ASSERT_NE(agent, nullptr);
    v1::OwnerGetLedgerResponse info = LedgerInfo(*agent->Stub(), ledger, /*offline=*/true);
    EXPECT_EQ(info.head_number(), 7u);
    EXPECT_EQ(info.checkpoint(), checkpoint);
  }
  ASSERT_TRUE(host.Start().ok());
  auto agent = StartAgent(keystore, host.address());
  ASSERT_NE(agent, nullptr);
  auto stub = agent->Stub();
  v1::BlockOutcome outcome;
  grpc::Status status = Append(*stub, ledger, R"({"event":"y"})", &outcome);
  ASSERT_TRUE(status.ok()) << Msg(status);
  EXPECT_EQ(outcome.committed().number(), 8u);
}

// A retried AppendEvent with the same request id returns the original
// block; with the host paused while the append is in flight and the agent
// killed, the retry after the restart still finds the block the host
// committed, and never appends the event twice.
TEST(AgentRestartTest, RequestIdMakesRetriesIdempotentAcrossKill9) {
  RestartableHost host("idempotent_host");
  ASSERT_TRUE(host.Start().ok());
  const std::string keystore = NewTempDir("idempotent") + "/ks";
  auto agent = StartAgent(keystore, host.address());
  ASSERT_NE(agent, nullptr);
  auto stub = agent->Stub();
  v1::OwnerCreateLedgerResponse created;
  ASSERT_TRUE(CreateLedger(*stub, "", &created).ok());
  const std::string ledger = created.ledger_id();

  v1::BlockOutcome first, again;
  grpc::Status status = AppendWithId(*stub, ledger, R"({"event":"pay","n":1})", "r-1", &first);
  ASSERT_TRUE(status.ok()) << Msg(status);
  status = AppendWithId(*stub, ledger, R"({"event":"pay","n":1})", "r-1", &again);
  ASSERT_TRUE(status.ok()) << Msg(status);
  EXPECT_EQ(again.committed().number(), first.committed().number());
  EXPECT_EQ(again.committed().fingerprint(), first.committed().fingerprint());
  EXPECT_EQ(HostHead(host.address(), ledger), 2u);
  // The same id on another ledger, or another id, is a new append.
  status = AppendWithId(*stub, ledger, R"({"event":"pay","n":2})", "r-2", &again);
  ASSERT_TRUE(status.ok()) << Msg(status);
  EXPECT_EQ(again.committed().number(), 3u);
  EXPECT_EQ(AppendWithId(*stub, ledger, R"({"event":"x"})", std::string(129, 'r'), &again)
                .error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);

  // Host paused: the append reaches it but no reply comes back.
  agent->Stop();
  agent = StartAgent(keystore, host.address());
  ASSERT_NE(agent, nullptr);
  stub = agent->Stub();
  ASSERT_TRUE(AppendWithId(*stub, ledger, R"({"event":"warm"})", "r-3", &again).ok());
  ASSERT_EQ(again.committed().number(), 4u);
  const pid_t host_pid = host.pid();
  ASSERT_GT(host_pid, 0);
  ASSERT_TRUE(StopProcess(host_pid));
  std::thread inflight([&] {
    v1::BlockOutcome lost;
    AppendWithId(*stub, ledger, R"({"event":"pay","n":3})", "r-4", &lost);
  });
  usleep(300 * 1000);  // Bounded: the request is on the host's socket by now.
  agent->Kill9();
  inflight.join();
  ContinueProcess(host_pid);
  for (int i = 0; i < 50 && HostHead(host.address(), ledger) < 5; ++i) usleep(100 * 1000);
  ASSERT_EQ(HostHead(host.address(), ledger), 5u);  // The host committed it.

  agent = StartAgent(keystore, host.address());
  ASSERT_NE(agent, nullptr);
  stub = agent->Stub();
  v1::BlockOutcome retried;
  status = AppendWithId(*stub, ledger, R"({"event":"pay","n":3})", "r-4", &retried);
  ASSERT_TRUE(status.ok()) << Msg(status);
  EXPECT_EQ(retried.committed().number(), 5u);
  EXPECT_THAT(retried.committed().block(), HasSubstr("\"n\":3"));
  EXPECT_EQ(HostHead(host.address(), ledger), 5u);  // Not appended twice.
  // An id whose attempt never reached the host is appended now.
  status = AppendWithId(*stub, ledger, R"({"event":"pay","n":4})", "r-5", &retried);
  ASSERT_TRUE(status.ok()) << Msg(status);
  EXPECT_EQ(retried.committed().number(), 6u);
}

// Calls that fail validation leave nothing behind, and a damaged record
// does not stop the agent from starting.
TEST(AgentRestartTest, FailedCallsSaveNothingAndDamagedRecordsAreQuarantined) {
  auto host = HostProcess::Start({"--storage=memory"});
  ASSERT_TRUE(host.ok());
  const std::string keystore = NewTempDir("damaged") + "/ks";
  const std::string records = keystore + "/agent/ledgers";
  std::string ledger;
  {
    auto agent = StartAgent(keystore, (*host)->address());
    ASSERT_NE(agent, nullptr);
    auto stub = agent->Stub();
    // A CreateLedger refused before the host is asked (a threshold above
    // the number of keys), and one whose genesis block the rules refuse
    // after the host reserved the id (a member name over the host's 256-byte
    // limit): no record either way.
    v1::CreateKeyResponse key;
    ASSERT_TRUE(stub->CreateKey(Ctx().get(), v1::CreateKeyRequest(), &key).ok());
    v1::Controllers controllers;
    controllers.set_threshold(3);
    controllers.add_keys(key.key());
    v1::OwnerCreateLedgerResponse created;
    grpc::Status status =
        CreateLedger(*stub, (*host)->address(), &created, key.key(), &controllers);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << Msg(status);
    v1::OwnerCreateLedgerRequest bad_genesis;
    bad_genesis.set_host_address((*host)->address());
    bad_genesis.set_document_type("didDocument");
    bad_genesis.set_extra_members_json(
        absl::StrCat("{\"", std::string(300, 'm'), "\":1}"));
    status = stub->CreateLedger(Ctx().get(), bad_genesis, &created);
    EXPECT_FALSE(status.ok());
    EXPECT_NE(status.error_code(), grpc::StatusCode::UNAVAILABLE) << Msg(status);
    v1::ListLedgersResponse list;
    ASSERT_TRUE(stub->ListLedgers(Ctx().get(), v1::ListLedgersRequest(), &list).ok());
    EXPECT_EQ(list.ledgers_size(), 0);
    EXPECT_TRUE(fs::is_empty(records));

    // CosignBlock of a garbage or unverifiable proposal for an unknown
    // ledger, pointing at any address: refused, no record.
    v1::CosignBlockRequest cosign;
    cosign.mutable_proposal()->set_host_address("127.0.0.1:1");
    cosign.mutable_proposal()->set_block("{}");
    v1::BlockOutcome outcome;
    EXPECT_FALSE(stub->CosignBlock(Ctx().get(), cosign, &outcome).ok());
    EXPECT_TRUE(fs::is_empty(records));

    ASSERT_TRUE(CreateLedger(*stub, (*host)->address(), &created).ok());
    ledger = created.ledger_id();
  }
  for (const auto& entry : fs::directory_iterator(records)) {
    std::ofstream(entry.path(), std::ios::trunc) << "";  // Emptied by a crash.
  }
  std::ofstream(records + "/stray.json") << "{not json";
  auto agent = StartAgent(keystore, (*host)->address());
  ASSERT_NE(agent, nullptr);
  auto stub = agent->Stub();
  v1::ListLedgersResponse list;
  ASSERT_TRUE(stub->ListLedgers(Ctx().get(), v1::ListLedgersRequest(), &list).ok());
  EXPECT_EQ(list.ledgers_size(), 0);
  EXPECT_EQ(std::distance(fs::directory_iterator(keystore + "/agent/quarantine"),
                          fs::directory_iterator()),
            2);
  v1::OwnerCreateLedgerResponse created;
  ASSERT_TRUE(CreateLedger(*stub, (*host)->address(), &created).ok());
}

}  // namespace
}  // namespace microledger
