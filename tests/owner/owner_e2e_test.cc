// End-to-end tests of ml-owner with real ml-host processes on loopback.
#include <sys/stat.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <thread>

#include "common/block_builder.h"
#include "common/chain_validator.h"
#include "common/ed25519.h"
#include "common/timestamp.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/host/grpc_client.h"
#include "tests/host/host_process.h"
#include "tests/host/owner_chain.h"
#include "tests/owner/agent_process.h"
#include "tests/owner/owner_test_util.h"

namespace microledger {
namespace {

using ::testing::HasSubstr;

std::unique_ptr<HostProcess> StartMemoryHost() {
  auto host = HostProcess::Start({"--storage=memory"});
  EXPECT_TRUE(host.ok()) << host.status();
  return host.ok() ? *std::move(host) : nullptr;
}

std::unique_ptr<AgentProcess> StartAgent(const std::string& keystore,
                                         const std::string& host,
                                         std::vector<std::string> extra = {}) {
  std::vector<std::string> flags = {"--keystore=" + keystore, "--host=" + host,
                                    "--append_timeout_seconds=10"};
  flags.insert(flags.end(), extra.begin(), extra.end());
  auto agent = AgentProcess::Start(flags);
  EXPECT_TRUE(agent.ok()) << agent.status();
  return agent.ok() ? *std::move(agent) : nullptr;
}

TEST(OwnerAgentTest, OneAgentPerKeystoreAndHelp) {
  auto host = StartMemoryHost();
  ASSERT_NE(host, nullptr);
  const std::string keystore = NewTempDir("keystore") + "/ks";
  auto agent = StartAgent(keystore, host->address());
  ASSERT_NE(agent, nullptr);
  auto [code, output] = AgentProcess::RunToExit({"--keystore=" + keystore});
  EXPECT_EQ(code, 1);
  EXPECT_THAT(output, HasSubstr("in use by another ml-owner process"));

  auto [zero_code, zero] = AgentProcess::RunToExit(
      {"--keystore=" + NewTempDir("zero") + "/ks", "--max_remembered_requests=0"});
  EXPECT_EQ(zero_code, 1);
  EXPECT_THAT(zero, HasSubstr("--max_remembered_requests must be positive"));

  auto [help_code, help] = AgentProcess::RunToExit({"--help"});
  EXPECT_THAT(help, HasSubstr("--keystore"));
  EXPECT_THAT(help, HasSubstr("--passphrase_file"));
  EXPECT_THAT(help, HasSubstr("--token_file"));
  EXPECT_THAT(help, HasSubstr("--host_tls_ca"));
  EXPECT_THAT(help, HasSubstr("--max_remembered_requests"));
  EXPECT_THAT(help, HasSubstr("--state_flush_ms"));

  auto stub = agent->Stub();
  v1::CreateKeyRequest create;
  create.set_label("app");
  v1::CreateKeyResponse key;
  ASSERT_TRUE(stub->CreateKey(Ctx().get(), create, &key).ok());
  v1::ListKeysResponse keys;
  ASSERT_TRUE(stub->ListKeys(Ctx().get(), v1::ListKeysRequest(), &keys).ok());
  ASSERT_EQ(keys.keys_size(), 1);
  EXPECT_EQ(keys.keys(0).key(), key.key());
  EXPECT_EQ(keys.keys(0).label(), "app");
}

TEST(OwnerAgentTest, ListensOnUnixSocket) {
  // Socket paths are limited to 107 bytes: the socket goes in a short /tmp dir.
  char pattern[] = "/tmp/mlo-XXXXXX";
  ASSERT_NE(mkdtemp(pattern), nullptr);
  const std::string socket_dir = pattern;
  auto agent = StartAgent(NewTempDir("unix") + "/ks", "127.0.0.1:1",
                          {"--listen=unix:" + socket_dir + "/agent.sock"});
  ASSERT_NE(agent, nullptr);
  EXPECT_EQ(agent->address(), "unix:" + socket_dir + "/agent.sock");
  v1::ListKeysResponse keys;
  grpc::Status status = agent->Stub()->ListKeys(Ctx().get(), v1::ListKeysRequest(), &keys);
  EXPECT_TRUE(status.ok()) << Msg(status);
  agent->Stop();
  std::filesystem::remove_all(socket_dir);
}

TEST(OwnerAgentTest, BearerTokenIsRequiredWhenConfigured) {
  auto host = StartMemoryHost();
  ASSERT_NE(host, nullptr);
  const std::string dir = NewTempDir("token");
  const std::string token_file = dir + "/token";
  std::ofstream(token_file) << "s3cret\n";
  chmod(token_file.c_str(), 0600);
  auto agent = StartAgent(dir + "/ks", host->address(), {"--token_file=" + token_file});
  ASSERT_NE(agent, nullptr);
  auto stub = agent->Stub();
  v1::ListKeysResponse keys;
  grpc::Status denied = stub->ListKeys(Ctx().get(), v1::ListKeysRequest(), &keys);
  EXPECT_EQ(denied.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  auto context = Ctx();
  context->AddMetadata("authorization", "Bearer s3cret");
  EXPECT_TRUE(stub->ListKeys(context.get(), v1::ListKeysRequest(), &keys).ok());
}

// opened -> events -> moved to a second host -> became -> events -> closed.
TEST(OwnerAgentTest, JlinxLifecycleAcrossTwoHosts) {
  auto host1 = StartMemoryHost();
  auto host2 = StartMemoryHost();
  ASSERT_NE(host1, nullptr);
  ASSERT_NE(host2, nullptr);
  auto agent = StartAgent(NewTempDir("lifecycle") + "/ks", host1->address());
  ASSERT_NE(agent, nullptr);
  auto stub = agent->Stub();

  v1::OwnerCreateLedgerResponse created;
  grpc::Status status = CreateLedger(*stub, "", &created);
  ASSERT_TRUE(status.ok()) << Msg(status);
  ASSERT_TRUE(created.genesis().has_committed());
  const std::string first = created.ledger_id();
  EXPECT_EQ(created.genesis().committed().number(), 1u);

  v1::BlockOutcome outcome;
  status = Append(*stub, first, R"({"event":"updated","n":1})", &outcome);
  ASSERT_TRUE(status.ok()) << Msg(status);
  EXPECT_EQ(outcome.committed().number(), 2u);
  status = Append(*stub, first, R"({"event":"attached"})", &outcome, "attachment bytes");
  ASSERT_TRUE(status.ok()) << Msg(status);
  EXPECT_THAT(outcome.committed().block(), HasSubstr("\"seals\""));

  // Reserved and malformed events are refused before anything is sent.
  status = Append(*stub, first, R"({"event":"closed document"})", &outcome);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION) << Msg(status);
  status = Append(*stub, first, R"({"no":"event"})", &outcome);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << Msg(status);
  EXPECT_EQ(HostHead(host1->address(), first), 3u);

  // Pipelined appends from several threads: all land, in one chain.
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 5; ++i) {
        v1::BlockOutcome o;
        if (Append(*stub, first, absl::StrCat(R"({"event":"tick","t":)", t, R"(,"i":)", i, "}"),
                   &o)
                .ok()) {
          ++ok;
        }
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(ok.load(), 20);
  EXPECT_EQ(HostHead(host1->address(), first), 23u);

  v1::MoveLedgerRequest move;
  move.set_ledger_id(first);
  move.set_host_address(host2->address());
  v1::MoveLedgerResponse moved;
  status = stub->MoveLedger(Ctx().get(), move, &moved);
  ASSERT_TRUE(status.ok()) << Msg(status);
  const std::string second = moved.new_ledger_id();
  EXPECT_EQ(moved.moved().number(), 24u);
  EXPECT_EQ(moved.became().number(), 1u);
  EXPECT_EQ(moved.became().ledger_id(), second);
  EXPECT_THAT(moved.became().block(), HasSubstr(moved.moved().fingerprint()));
  EXPECT_THAT(moved.became().block(), HasSubstr("\"original id\":\"" + first + "\""));

  // The moved ledger is terminal.
  status = Append(*stub, first, R"({"event":"late"})", &outcome);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION) << Msg(status);

  for (int i = 0; i < 2; ++i) {
    status = Append(*stub, second, R"({"event":"updated"})", &outcome);
    ASSERT_TRUE(status.ok()) << Msg(status);
  }
  v1::CloseLedgerRequest close;
  close.set_ledger_id(second);
  status = stub->CloseLedger(Ctx().get(), close, &outcome);
  ASSERT_TRUE(status.ok()) << Msg(status);
  EXPECT_EQ(outcome.committed().number(), 4u);
  status = Append(*stub, second, R"({"event":"after close"})", &outcome);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION) << Msg(status);

  v1::OwnerGetLedgerRequest get;
  get.set_ledger_id(first);
  v1::OwnerGetLedgerResponse info;
  ASSERT_TRUE(stub->GetLedger(Ctx().get(), get, &info).ok());
  EXPECT_EQ(info.status(), v1::LEDGER_STATUS_MOVED);
  EXPECT_EQ(info.moved_to(), second);
  get.set_ledger_id(second);
  ASSERT_TRUE(stub->GetLedger(Ctx().get(), get, &info).ok());
  EXPECT_EQ(info.status(), v1::LEDGER_STATUS_CLOSED);
  EXPECT_EQ(info.original_id(), first);
  EXPECT_EQ(info.head_number(), 4u);

  const std::pair<std::string, uint64_t> expected[] = {{first, 24}, {second, 4}};
  for (const auto& [ledger, blocks] : expected) {
    std::string bundle;
    status = Export(*stub, ledger, &bundle);
    ASSERT_TRUE(status.ok()) << Msg(status);
    BundleVerdict verdict = VerifyBundleBytes(bundle);
    EXPECT_TRUE(verdict.ok) << verdict.Line();
    EXPECT_EQ(verdict.blocks, blocks);
    EXPECT_EQ(verdict.Line(), absl::StrCat("OK ", ledger, " ", blocks, " blocks"));
    if (ledger == first) {
      EXPECT_THAT(bundle, HasSubstr("{\"attachment\":"));
    }
    // The offline CLI agrees, when it is built.
    const std::string file = NewTempDir("bundle") + "/ledger.jsonl";
    std::ofstream(file, std::ios::binary) << bundle;
    std::FILE* pipe =
        popen(absl::StrCat("tools/mlctl verify ", file, " 2>/dev/null").c_str(), "r");
    ASSERT_NE(pipe, nullptr);
    char line[4096] = {0};
    std::string out = fgets(line, sizeof line, pipe) != nullptr ? line : "";
    int rc = pclose(pipe);
    EXPECT_EQ(WEXITSTATUS(rc), 0) << out;
    EXPECT_EQ(out, verdict.Line() + "\n");

    v1::VerifyLedgerRequest verify;
    verify.set_ledger_id(ledger);
    v1::VerifyLedgerResponse verified;
    status = stub->VerifyLedger(Ctx().get(), verify, &verified);
    ASSERT_TRUE(status.ok()) << Msg(status);
    EXPECT_TRUE(verified.ok()) << verified.verdict();
    EXPECT_EQ(verified.verdict(), verdict.Line());
  }
}

// The two-machine rule: the agent alone cannot append; a key that is not a
// controller cannot append.
TEST(OwnerAgentTest, AgentAloneCannotAppend) {
  auto agent = StartAgent(NewTempDir("alone") + "/ks", "127.0.0.1:1");
  ASSERT_NE(agent, nullptr);
  auto stub = agent->Stub();
  // A dead host: nothing to create.
  v1::OwnerCreateLedgerResponse created;
  grpc::Status status = CreateLedger(*stub, "127.0.0.1:1", &created);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE) << Msg(status);

  // A live host that dies: the append fails and nothing is stored; after the
  // host restarts (same port and database) the agent re-syncs and goes on.
  const std::string data_dir = NewTempDir("host_data");
  const std::string listen = absl::StrCat("--listen=127.0.0.1:", FreePort());
  auto host = HostProcess::Start({"--storage=rocksdb", "--data_dir=" + data_dir, listen});
  ASSERT_TRUE(host.ok()) << host.status();
  const std::string address = (*host)->address();
  status = CreateLedger(*stub, address, &created);
  ASSERT_TRUE(status.ok()) << Msg(status);
  const std::string ledger = created.ledger_id();
  v1::BlockOutcome outcome;
  ASSERT_TRUE(Append(*stub, ledger, R"({"event":"a"})", &outcome).ok());
  (*host)->Kill9();
  status = Append(*stub, ledger, R"({"event":"b"})", &outcome);
  EXPECT_FALSE(status.ok());
  EXPECT_THAT(status.error_code(), ::testing::AnyOf(grpc::StatusCode::UNAVAILABLE,
                                                    grpc::StatusCode::DEADLINE_EXCEEDED))
      << Msg(status);

  host = HostProcess::Start({"--storage=rocksdb", "--data_dir=" + data_dir, listen});
  ASSERT_TRUE(host.ok()) << host.status();
  EXPECT_EQ(HostHead(address, ledger), 2u);
  // The agent reconnects within its backoff (at most 1 s); bounded retries.
  for (int i = 0; i < 50; ++i) {
    status = Append(*stub, ledger, R"({"event":"c"})", &outcome);
    if (status.error_code() != grpc::StatusCode::UNAVAILABLE) break;
    usleep(100 * 1000);
  }
  ASSERT_TRUE(status.ok()) << Msg(status);
  EXPECT_EQ(outcome.committed().number(), 3u);

  // A client holding another key (not a controller) sends directly to the
  // host: refused, nothing stored.
  auto host_stub = Connect(address);
  std::vector<std::string> blocks;
  ASSERT_TRUE(ReadBlocks(*host_stub, ledger, 1, 0, &blocks).ok());
  absl::StatusOr<ChainState> state = VerifyChainBytes(ledger, blocks);
  ASSERT_TRUE(state.ok()) << state.status();
  absl::StatusOr<SigningKey> intruder = SigningKey::Generate();
  ASSERT_TRUE(intruder.ok());
  BlockContent content;
  content.event = Json{{"event", "forged"}};
  content.time_millis = NowMillis();
  Block forged = DraftNextBlock(*state, content);
  const SigningKey* signers[] = {&*intruder};
  SignAsOwners(forged, signers);
  v1::AppendRequest request;
  request.set_block(SerializeBlock(forged));
  v1::AppendResponse response;
  status = host_stub->Append(Ctx().get(), request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION) << Msg(status);
  // And with no owner signature at all.
  forged.signatures.clear();
  request.set_block(SerializeBlock(forged));
  status = host_stub->Append(Ctx().get(), request, &response);
  EXPECT_FALSE(status.ok());
  EXPECT_EQ(HostHead(address, ledger), 3u);
}

TEST(OwnerAgentTest, MultisigTwoOfThreeAndOwnershipTransfer) {
  auto host = StartMemoryHost();
  ASSERT_NE(host, nullptr);
  const std::string dir = NewTempDir("multisig");
  std::unique_ptr<AgentProcess> agents[3];
  std::unique_ptr<AgentStub> stubs[3];
  std::string keys[3];
  for (int i = 0; i < 3; ++i) {
    agents[i] = StartAgent(absl::StrCat(dir, "/ks", i), host->address());
    ASSERT_NE(agents[i], nullptr);
    stubs[i] = agents[i]->Stub();
    v1::CreateKeyResponse key;
    ASSERT_TRUE(stubs[i]->CreateKey(Ctx().get(), v1::CreateKeyRequest(), &key).ok());
    keys[i] = key.key();
  }
  v1::Controllers controllers;
  controllers.set_threshold(2);
  for (const std::string& key : keys) controllers.add_keys(key);

  // Genesis: A proposes, B completes.
  v1::OwnerCreateLedgerResponse created;
  grpc::Status status = CreateLedger(*stubs[0], "", &created, keys[0], &controllers);
  ASSERT_TRUE(status.ok()) << Msg(status);
  ASSERT_TRUE(created.genesis().has_proposal());
  EXPECT_EQ(created.genesis().proposal().missing_keys_size(), 2);
  const std::string ledger = created.ledger_id();
  EXPECT_EQ(HostHead(host->address(), ledger), 0u);
  v1::CosignBlockRequest cosign;
  *cosign.mutable_proposal() = created.genesis().proposal();
  v1::BlockOutcome outcome;
  status = stubs[1]->CosignBlock(Ctx().get(), cosign, &outcome);
  ASSERT_TRUE(status.ok()) << Msg(status);
  ASSERT_TRUE(outcome.has_committed());
  EXPECT_EQ(outcome.committed().number(), 1u);

  // An event: A proposes, C completes.
  status = Append(*stubs[0], ledger, R"({"event":"agreed"})", &outcome);
  ASSERT_TRUE(status.ok()) << Msg(status);
  ASSERT_TRUE(outcome.has_proposal());
  *cosign.mutable_proposal() = outcome.proposal();
  status = stubs[2]->CosignBlock(Ctx().get(), cosign, &outcome);
  ASSERT_TRUE(status.ok()) << Msg(status);
  ASSERT_TRUE(outcome.has_committed());
  EXPECT_EQ(outcome.committed().number(), 2u);
  // Signing twice with the same agent does not reach the threshold.
  status = Append(*stubs[0], ledger, R"({"event":"again"})", &outcome);
  ASSERT_TRUE(outcome.has_proposal());
  *cosign.mutable_proposal() = outcome.proposal();
  v1::BlockOutcome same;
  status = stubs[0]->CosignBlock(Ctx().get(), cosign, &same);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION) << Msg(status);

  // Transfer to C alone (threshold 1): proposed by B, completed by A.
  v1::TransferOwnershipRequest transfer;
  transfer.set_ledger_id(ledger);
  transfer.mutable_new_controllers()->set_threshold(1);
  transfer.mutable_new_controllers()->add_keys(keys[2]);
  status = stubs[1]->TransferOwnership(Ctx().get(), transfer, &outcome);
  ASSERT_TRUE(status.ok()) << Msg(status);
  ASSERT_TRUE(outcome.has_proposal());
  *cosign.mutable_proposal() = outcome.proposal();
  status = stubs[0]->CosignBlock(Ctx().get(), cosign, &outcome);
  ASSERT_TRUE(status.ok()) << Msg(status);
  ASSERT_TRUE(outcome.has_committed());
  EXPECT_EQ(outcome.committed().number(), 3u);

  // The old keys are refused; C appends alone.
  status = Append(*stubs[0], ledger, R"({"event":"old key"})", &outcome);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION) << Msg(status);
  EXPECT_THAT(status.error_message(), HasSubstr("authority"));
  // A stale proposal signed by an old key is refused too.
  status = stubs[2]->CosignBlock(Ctx().get(), cosign, &outcome);
  EXPECT_FALSE(status.ok());
  status = Append(*stubs[2], ledger, R"({"event":"new owner"})", &outcome);
  ASSERT_TRUE(status.ok()) << Msg(status);
  ASSERT_TRUE(outcome.has_committed());
  EXPECT_EQ(outcome.committed().number(), 4u);
  EXPECT_EQ(HostHead(host->address(), ledger), 4u);

  std::string bundle;
  ASSERT_TRUE(Export(*stubs[1], ledger, &bundle).ok());
  BundleVerdict verdict = VerifyBundleBytes(bundle);
  EXPECT_TRUE(verdict.ok) << verdict.Line();
  EXPECT_EQ(verdict.blocks, 4u);
}

TEST(OwnerAgentTest, RestartedAgentResumesItsLedgers) {
  auto host = StartMemoryHost();
  ASSERT_NE(host, nullptr);
  const std::string keystore = NewTempDir("restart") + "/ks";
  std::string ledger;
  {
    auto agent = StartAgent(keystore, host->address());
    ASSERT_NE(agent, nullptr);
    ASSERT_TRUE(
        CreateLedgerWithEvents(*agent->Stub(), 3, R"({"event":"before"})", &ledger).ok());
    agent->Kill9();
  }
  auto agent = StartAgent(keystore, host->address());
  ASSERT_NE(agent, nullptr);
  auto stub = agent->Stub();
  v1::ListLedgersResponse list;
  ASSERT_TRUE(stub->ListLedgers(Ctx().get(), v1::ListLedgersRequest(), &list).ok());
  ASSERT_EQ(list.ledgers_size(), 1);
  EXPECT_EQ(list.ledgers(0).ledger_id(), ledger);
  v1::OwnerGetLedgerRequest get;
  get.set_ledger_id(ledger);
  v1::OwnerGetLedgerResponse info;
  grpc::Status status = stub->GetLedger(Ctx().get(), get, &info);
  ASSERT_TRUE(status.ok()) << Msg(status);
  EXPECT_EQ(info.head_number(), 4u);
  EXPECT_EQ(info.held_keys_size(), 1);
  v1::BlockOutcome outcome;
  status = Append(*stub, ledger, R"({"event":"after"})", &outcome);
  ASSERT_TRUE(status.ok()) << Msg(status);
  EXPECT_EQ(outcome.committed().number(), 5u);
  v1::VerifyLedgerRequest verify;
  verify.set_ledger_id(ledger);
  v1::VerifyLedgerResponse verified;
  ASSERT_TRUE(stub->VerifyLedger(Ctx().get(), verify, &verified).ok());
  EXPECT_EQ(verified.verdict(), absl::StrCat("OK ", ledger, " 5 blocks"));
}

// Many AppendEvent calls in flight on one ledger (the agent pipelines them
// on its host stream and answers through the callback API), then kill -9
// right after the last reply, with fsyncs deferred for ten minutes: every
// reported block is in the saved state anyway (records are written before
// an append is reported), and the restarted agent continues the chain.
TEST(OwnerAgentTest, PipelinedAppendsSurviveKillWithLaggingState) {
  auto host = StartMemoryHost();
  ASSERT_NE(host, nullptr);
  const std::string keystore = NewTempDir("pipelined") + "/ks";
  std::string ledger;
  constexpr int kThreads = 8, kPerThread = 25;
  {
    // A long flush interval: nothing after the genesis block is fsynced.
    auto agent = StartAgent(keystore, host->address(), {"--state_flush_ms=600000"});
    ASSERT_NE(agent, nullptr);
    auto stub = agent->Stub();
    v1::OwnerCreateLedgerResponse created;
    ASSERT_TRUE(CreateLedger(*stub, "", &created).ok());
    ledger = created.ledger_id();
    std::atomic<int> failures{0};
    std::vector<std::thread> threads;
    std::vector<std::vector<uint64_t>> numbers(kThreads);
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        for (int i = 0; i < kPerThread; ++i) {
          v1::BlockOutcome outcome;
          grpc::Status status = Append(*stub, ledger, R"({"event":"burst"})", &outcome);
          if (!status.ok() || !outcome.has_committed()) {
            ++failures;
            continue;
          }
          numbers[t].push_back(outcome.committed().number());
        }
      });
    }
    for (std::thread& thread : threads) thread.join();
    ASSERT_EQ(failures.load(), 0);
    std::vector<uint64_t> all;
    for (const auto& n : numbers) all.insert(all.end(), n.begin(), n.end());
    std::sort(all.begin(), all.end());
    ASSERT_EQ(all.size(), static_cast<size_t>(kThreads * kPerThread));
    for (size_t i = 0; i < all.size(); ++i) EXPECT_EQ(all[i], i + 2);  // Each once.
    agent->Kill9();
  }
  const uint64_t head = 1 + kThreads * kPerThread;
  EXPECT_EQ(HostHead(host->address(), ledger), head);
  auto agent = StartAgent(keystore, host->address());
  ASSERT_NE(agent, nullptr);
  auto stub = agent->Stub();
  v1::OwnerGetLedgerRequest offline;
  offline.set_ledger_id(ledger);
  offline.set_offline(true);
  v1::OwnerGetLedgerResponse info;
  ASSERT_TRUE(stub->GetLedger(Ctx().get(), offline, &info).ok());
  EXPECT_EQ(info.head_number(), head);  // Nothing reported was lost.
  v1::BlockOutcome outcome;
  grpc::Status status = Append(*stub, ledger, R"({"event":"after"})", &outcome);
  ASSERT_TRUE(status.ok()) << Msg(status);
  EXPECT_EQ(outcome.committed().number(), head + 1);
  v1::VerifyLedgerRequest verify;
  verify.set_ledger_id(ledger);
  v1::VerifyLedgerResponse verified;
  ASSERT_TRUE(stub->VerifyLedger(Ctx().get(), verify, &verified).ok());
  EXPECT_EQ(verified.verdict(), absl::StrCat("OK ", ledger, " ", head + 1, " blocks"));
}

}  // namespace
}  // namespace microledger
