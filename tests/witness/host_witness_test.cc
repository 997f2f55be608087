// ml-host with real ml-witness processes (issue #14, the host half): appends
// become witnessed (GetCheckpoint witnessed returns a note whose cosignatures
// verify against both witnesses' verifier keys, and `mlctl verify LEDGER
// --from=HOST --witness=... --witness_quorum=2` says OK); a witness restarted
// with an empty store is resynced from its 409; a witness that hangs delays
// no append and no other witness. Everything on 127.0.0.1 with free ports;
// every wait is bounded.
#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/checkpoint.h"
#include "common/cosignature.h"
#include "common/ed25519.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "tests/host/grpc_client.h"
#include "httplib.h"
#include "tests/host/host_process.h"
#include "tests/owner/owner_test_util.h"
#include "tests/process/server_process.h"
#include "tests/witness/witness_process.h"

namespace microledger {
namespace {

// How long a test waits for something that should happen soon; a test waits
// this long only when it is about to fail.
constexpr auto kPatience = std::chrono::seconds(60);

WitnessSigner NewSigner(const std::string& name) {
  absl::StatusOr<SigningKey> key = SigningKey::Generate();
  EXPECT_TRUE(key.ok());
  absl::StatusOr<WitnessSigner> signer = WitnessSigner::Create(name, *std::move(key));
  EXPECT_TRUE(signer.ok()) << signer.status();
  return *std::move(signer);
}

class HostWitnessTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (int i = 0; i < 2; ++i) {
      dirs_[i] = NewTempDir(absl::StrCat("witness", i));
      key_flags_[i] = WitnessKeyFileFlag(signers_[i], dirs_[i]);
      ASSERT_FALSE(key_flags_[i].empty());
      StartWitness(i, 0);
    }
  }

  // Witness `i` on a fresh memory store, on HTTP port `port` (0: any).
  void StartWitness(int i, int port) {
    witnesses_[i].reset();
    absl::StatusOr<std::unique_ptr<WitnessProcess>> started = WitnessProcess::Start(
        {key_flags_[i], "--storage=memory", absl::StrCat("--http_listen=127.0.0.1:", port)});
    ASSERT_TRUE(started.ok()) << started.status();
    witnesses_[i] = *std::move(started);
  }

  std::string VkeyOf(int i) const { return FormatWitnessVkey(signers_[i].key()); }
  std::string WitnessFlag(int i) const {
    return absl::StrCat("--witness=", VkeyOf(i), "@http://", witnesses_[i]->http_host(), ":",
                        witnesses_[i]->http_port());
  }

  void StartHost(int quorum, int timeout_ms) {
    http_port_ = FreePort();
    absl::StatusOr<std::unique_ptr<HostProcess>> started = HostProcess::Start(
        {"--storage=memory", WitnessFlag(0), WitnessFlag(1),
         absl::StrCat("--http_listen=127.0.0.1:", http_port_),
         absl::StrCat("--witness_quorum=", quorum), "--witness_min_interval_ms=20",
         absl::StrCat("--witness_timeout_ms=", timeout_ms)});
    ASSERT_TRUE(started.ok()) << started.status();
    host_ = *std::move(started);
    stub_ = Connect(host_->address());
  }

  // Appends `count` events to `chain`, each with a 20 s deadline.
  void Append(OwnerChain& chain, int count) {
    for (int i = 0; i < count; ++i) {
      grpc::ClientContext context;
      context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
      v1::AppendRequest request;
      const Block block = chain.Next();
      request.set_block(OwnerChain::Bytes(block));
      if (block.number == 1) request.set_ledger_token(chain.token());
      v1::AppendResponse response;
      const grpc::Status status = stub_->Append(&context, request, &response);
      ASSERT_TRUE(status.ok()) << status.error_message();
      ASSERT_TRUE(chain.Accept(block, FromProto(response.host_signature())).ok());
    }
  }

  // Polls GetCheckpoint witnessed until it returns a note of at least
  // `min_size` that witnesses `quorum` of `witnesses` count; the note, or ""
  // when that does not happen within kPatience.
  std::string WaitForWitnessed(const std::string& ledger_id, uint64_t min_size,
                               std::vector<int> witnesses, size_t quorum) {
    std::vector<WitnessKey> keys;
    for (int i : witnesses) keys.push_back(*ParseWitnessVkey(VkeyOf(i)));
    absl::StatusOr<WitnessPolicy> policy =
        WitnessPolicy::Create(keys, quorum, std::nullopt, absl::Minutes(10));
    EXPECT_TRUE(policy.ok()) << policy.status();
    const auto deadline = std::chrono::steady_clock::now() + kPatience;
    for (int attempt = 0; attempt < 6000 && std::chrono::steady_clock::now() < deadline;
         ++attempt) {
      grpc::ClientContext context;
      context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
      v1::GetCheckpointRequest request;
      request.set_ledger_id(ledger_id);
      request.set_witnessed(true);
      v1::GetCheckpointResponse response;
      const grpc::Status status = stub_->GetCheckpoint(&context, request, &response);
      if (status.ok() && response.tree_size() >= min_size) {
        absl::StatusOr<VerifiedCheckpointNote> note =
            VerifyCheckpointNote(response.checkpoint(), ledger_id);
        EXPECT_TRUE(note.ok()) << note.status();
        if (!note.ok()) return "";
        absl::StatusOr<WitnessCount> count = policy->Count(*note, absl::Now());
        EXPECT_TRUE(count.ok()) << count.status();
        if (count.ok() && count->witnessed()) return response.checkpoint();
      } else if (!status.ok()) {
        EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION)
            << status.error_message();
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    ADD_FAILURE() << "no checkpoint of size >= " << min_size << " witnessed in time";
    return "";
  }

  WitnessSigner signers_[2] = {NewSigner("witness.example/one"),
                               NewSigner("witness.example/two")};
  std::string dirs_[2];
  std::string key_flags_[2];
  std::unique_ptr<WitnessProcess> witnesses_[2];
  std::unique_ptr<HostProcess> host_;
  int http_port_ = 0;
  std::unique_ptr<HostStub> stub_;
};

TEST_F(HostWitnessTest, AppendsBecomeWitnessedAndMlctlVerifiesTheCosignatures) {
  StartHost(/*quorum=*/2, /*timeout_ms=*/10000);
  OwnerChain chain = CreateChain(*stub_);
  // Before any append nothing is witnessed.
  {
    grpc::ClientContext context;
    v1::GetCheckpointRequest request;
    request.set_ledger_id(chain.ledger_id());
    request.set_witnessed(true);
    v1::GetCheckpointResponse response;
    EXPECT_EQ(stub_->GetCheckpoint(&context, request, &response).error_code(),
              grpc::StatusCode::NOT_FOUND);
  }
  Append(chain, 3);
  const std::string note = WaitForWitnessed(chain.ledger_id(), 3, {0, 1}, 2);
  ASSERT_FALSE(note.empty());
  EXPECT_TRUE(absl::StartsWith(note, absl::StrCat(chain.ledger_id(), "\n3\n")));
  // The HTTP read API's checkpoint is the latest, with the quorum's
  // cosignature lines once that very checkpoint is witnessed.
  httplib::Client http("127.0.0.1", http_port_);
  httplib::Result served = http.Get("/" + chain.ledger_id() + "/checkpoint");
  ASSERT_TRUE(served);
  EXPECT_EQ(served->status, 200);
  EXPECT_EQ(served->body, note);

  // A tree size with `witnessed` is refused.
  {
    grpc::ClientContext context;
    v1::GetCheckpointRequest request;
    request.set_ledger_id(chain.ledger_id());
    request.set_witnessed(true);
    request.set_tree_size(2);
    v1::GetCheckpointResponse response;
    EXPECT_EQ(stub_->GetCheckpoint(&context, request, &response).error_code(),
              grpc::StatusCode::INVALID_ARGUMENT);
  }

  const auto [code, output] = ServerProcess::RunToExit(
      {"tools/mlctl",
       {"verify", chain.ledger_id(), absl::StrCat("--from=", host_->address()),
        absl::StrCat("--witness=", VkeyOf(0)), absl::StrCat("--witness=", VkeyOf(1)),
        "--witness_quorum=2"},
       {}});
  EXPECT_EQ(code, 0) << output;
  EXPECT_TRUE(absl::StartsWith(output, absl::StrCat("OK ", chain.ledger_id(), " 3 blocks")))
      << output;
  // A witness the host does not use makes it fail.
  const WitnessSigner stranger = NewSigner("witness.example/stranger");
  const auto [stranger_code, stranger_output] = ServerProcess::RunToExit(
      {"tools/mlctl",
       {"verify", chain.ledger_id(), absl::StrCat("--from=", host_->address()),
        absl::StrCat("--witness=", FormatWitnessVkey(stranger.key())), "--witness_quorum=1"},
       {}});
  EXPECT_EQ(stranger_code, 1) << stranger_output;
}

// Subscribe passes cosigned checkpoints on: a subscriber from block 1 gets the
// witnessed checkpoint (both cosignatures valid) with its first message once
// one exists, then not again until it changes.
TEST_F(HostWitnessTest, SubscribePassesWitnessedCheckpointsOn) {
  StartHost(/*quorum=*/2, /*timeout_ms=*/10000);
  OwnerChain chain = CreateChain(*stub_);
  Append(chain, 2);
  const std::string witnessed = WaitForWitnessed(chain.ledger_id(), 2, {0, 1}, 2);
  ASSERT_FALSE(witnessed.empty());

  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
  v1::SubscribeRequest request;
  request.set_ledger_id(chain.ledger_id());
  request.set_from_number(1);
  std::unique_ptr<grpc::ClientReader<v1::SubscribeResponse>> reader =
      stub_->Subscribe(&context, request);
  v1::SubscribeResponse message;
  std::vector<std::string> passed_on;
  for (uint64_t number = 1; number <= 2; ++number) {
    ASSERT_TRUE(reader->Read(&message)) << "block " << number;
    EXPECT_EQ(message.number(), number);
    if (!message.witnessed_checkpoint().empty()) passed_on.push_back(message.witnessed_checkpoint());
  }
  context.TryCancel();
  reader->Finish().IgnoreError();
  ASSERT_EQ(passed_on.size(), 1u) << "passed on once, with the first message";
  absl::StatusOr<VerifiedCheckpointNote> note =
      VerifyCheckpointNote(passed_on[0], chain.ledger_id());
  ASSERT_TRUE(note.ok()) << note.status();
  std::vector<WitnessKey> keys = {*ParseWitnessVkey(VkeyOf(0)), *ParseWitnessVkey(VkeyOf(1))};
  absl::StatusOr<WitnessPolicy> policy =
      WitnessPolicy::Create(keys, 2, std::nullopt, absl::Minutes(10));
  ASSERT_TRUE(policy.ok()) << policy.status();
  absl::StatusOr<WitnessCount> count = policy->Count(*note, absl::Now());
  ASSERT_TRUE(count.ok()) << count.status();
  EXPECT_TRUE(count->witnessed()) << count->Describe();
  EXPECT_GE(note->checkpoint.tree_size, 2u);
}

TEST_F(HostWitnessTest, AWitnessRestartedEmptyIsResyncedFromIts409) {
  StartHost(/*quorum=*/2, /*timeout_ms=*/10000);
  OwnerChain chain = CreateChain(*stub_);
  Append(chain, 3);
  ASSERT_FALSE(WaitForWitnessed(chain.ledger_id(), 3, {0, 1}, 2).empty());
  // Witness two forgets everything (a memory store), on the same port: the
  // host's next submission from size 3 gets 409 "0" and is sent again.
  const int port = witnesses_[1]->http_port();
  witnesses_[1]->Stop();
  StartWitness(1, port);
  Append(chain, 2);
  const std::string note = WaitForWitnessed(chain.ledger_id(), 5, {0, 1}, 2);
  ASSERT_FALSE(note.empty());
  EXPECT_TRUE(absl::StartsWith(note, absl::StrCat(chain.ledger_id(), "\n5\n")));
}

TEST_F(HostWitnessTest, AHangingWitnessDelaysNoAppendAndNoOtherWitness) {
  // Requests to a hanging witness time out after 60 s; every append has a
  // 20 s deadline, so an append that waited for it would fail.
  StartHost(/*quorum=*/1, /*timeout_ms=*/60000);
  OwnerChain chain = CreateChain(*stub_);
  Append(chain, 2);
  ASSERT_FALSE(WaitForWitnessed(chain.ledger_id(), 2, {0, 1}, 2).empty());
  ASSERT_TRUE(StopProcess(witnesses_[0]->pid()));  // SIGSTOP: it hangs.
  Append(chain, 5);
  // Witness two alone cosigns a newer checkpoint.
  const std::string note = WaitForWitnessed(chain.ledger_id(), 3, {1}, 1);
  EXPECT_FALSE(note.empty());
  ContinueProcess(witnesses_[0]->pid());
}

}  // namespace
}  // namespace microledger
