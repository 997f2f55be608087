// ml-witness as a process (issue #14): the C2SP add-checkpoint status codes
// over HTTP and their gRPC mapping, the reads, the concurrent-request race,
// and a kill -9 restart on RocksDB, with ledgers made by common/test_chain.h
// (no host) and the witness's key checked through its C2SP vkey.
#include <signal.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/cosignature.h"
#include "common/evidence.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "httplib.h"
#include "tests/process/server_process.h"
#include "tests/witness/witness_process.h"
#include "witness/add_checkpoint_request.h"
#include "witness/witness_store.h"
#include "witness/witness_testing.h"

namespace microledger {
namespace {

std::string NoteText(const std::string& note) { return note.substr(0, note.find("\n\n") + 1); }

class WitnessProcessTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = NewTempDir("witness");
    key_flag_ = WitnessKeyFileFlag(signer_, dir_);
    ASSERT_FALSE(key_flag_.empty());
    // The reader's view of the witness: its vkey only.
    absl::StatusOr<WitnessKey> vkey = ParseWitnessVkey(FormatWitnessVkey(signer_.key()));
    ASSERT_TRUE(vkey.ok()) << vkey.status();
    vkey_ = *vkey;
    StartWitness();
  }

  void StartWitness(const std::vector<std::string>& more_flags = {}) {
    client_.reset();
    witness_.reset();
    std::vector<std::string> flags = {key_flag_, "--storage=rocksdb",
                                      "--data_dir=" + dir_ + "/data"};
    flags.insert(flags.end(), more_flags.begin(), more_flags.end());
    absl::StatusOr<std::unique_ptr<WitnessProcess>> started = WitnessProcess::Start(flags);
    ASSERT_TRUE(started.ok()) << started.status();
    witness_ = *std::move(started);
    client_ = std::make_unique<httplib::Client>(witness_->http_host(), witness_->http_port());
    client_->set_connection_timeout(10);
    client_->set_read_timeout(30);
  }

  httplib::Result Post(const AddCheckpointRequest& request) {
    return client_->Post("/add-checkpoint", AddCheckpointBody(request), "text/plain");
  }
  httplib::Result Post(uint64_t old_size, const std::string& note) {
    AddCheckpointRequest request;
    request.old_size = old_size;
    request.note = note;
    return Post(request);
  }
  int StatusOf(httplib::Result result) { return result ? result->status : -1; }

  std::string Path(const std::string& ledger_id, const std::string& what) {
    return absl::StrCat("/", OriginHashHex(OriginHash(ledger_id)), "/", what);
  }

  const WitnessSigner signer_ = NewTestWitnessSigner("witness.example/process");
  WitnessKey vkey_;
  std::string dir_;
  std::string key_flag_;
  std::unique_ptr<WitnessProcess> witness_;
  std::unique_ptr<httplib::Client> client_;
};

TEST_F(WitnessProcessTest, StatusCodeSequenceOverHttp) {
  const TestLedger ledger(8);
  const std::string id = ledger.ledger_id();

  std::string unknown = ledger.Checkpoint(3);
  unknown.replace(0, id.size(), "example.com/log");
  EXPECT_EQ(StatusOf(Post(0, unknown)), 404);
  std::string tampered = ledger.Checkpoint(3);
  tampered.replace(tampered.find('\n') + 1, 1, "4");
  EXPECT_EQ(StatusOf(Post(0, tampered)), 403);
  EXPECT_EQ(StatusOf(Post(4, ledger.Checkpoint(3))), 400);
  EXPECT_EQ(StatusOf(client_->Post("/add-checkpoint", "old 1\nnot base64\n\n", "text/plain")),
            400);

  httplib::Result first = Post(ledger.Request(0, 3));
  ASSERT_TRUE(first);
  ASSERT_EQ(first->status, 200) << first->body;
  EXPECT_TRUE(VerifyCosignatureLine(first->body, NoteText(ledger.Checkpoint(3)), vkey_).ok())
      << first->body;

  httplib::Result stale = Post(ledger.Request(0, 5));
  ASSERT_TRUE(stale);
  EXPECT_EQ(stale->status, 409);
  EXPECT_EQ(stale->body, "3\n");
  EXPECT_EQ(stale->get_header_value("Content-Type"), "text/x.tlog.size");
  httplib::Result retry = Post(ledger.Request(3, 5));
  ASSERT_TRUE(retry);
  EXPECT_EQ(retry->status, 200);
  EXPECT_TRUE(VerifyCosignatureLine(retry->body, NoteText(ledger.Checkpoint(5)), vkey_).ok());

  httplib::Result checkpoint = client_->Get(Path(id, "checkpoint").c_str());
  ASSERT_TRUE(checkpoint);
  EXPECT_EQ(checkpoint->status, 200);
  EXPECT_EQ(checkpoint->body, ledger.Checkpoint(5) + retry->body);
  EXPECT_EQ(StatusOf(client_->Get(Path(id, "evidence").c_str())), 404);

  std::vector<MerkleHash> bad_proof = ledger.Proof(5, 8);
  bad_proof.back()[7] ^= 0x40;
  AddCheckpointRequest bad;
  bad.old_size = 5;
  bad.proof = bad_proof;
  bad.note = ledger.Checkpoint(8);
  EXPECT_EQ(StatusOf(Post(bad)), 422);

  EXPECT_EQ(StatusOf(Post(5, ledger.ForkedCheckpoint(5))), 422);
  httplib::Result evidence = client_->Get(Path(id, "evidence").c_str());
  ASSERT_TRUE(evidence);
  ASSERT_EQ(evidence->status, 200);
  ASSERT_FALSE(evidence->body.empty());
  EXPECT_EQ(evidence->body.back(), '\n');
  absl::StatusOr<EvidenceInfo> info =
      ValidateEvidence(evidence->body.substr(0, evidence->body.size() - 1));
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_EQ(info->ledger, id);
  EXPECT_EQ(info->kind, EvidenceKind::kCheckpoints);

  httplib::Result frozen = Post(ledger.Request(5, 8));
  ASSERT_TRUE(frozen);
  EXPECT_EQ(frozen->status, 422);
  EXPECT_EQ(frozen->body, absl::StrCat("frozen ", info->id, "\n"));
}

TEST_F(WitnessProcessTest, GrpcMapsTheStatusCodes) {
  const TestLedger ledger(6);
  std::unique_ptr<v1::WitnessService::Stub> stub = witness_->Stub();
  const auto add = [&stub](const AddCheckpointRequest& request, v1::AddCheckpointResponse* response,
                           std::string* size_trailer) {
    v1::AddCheckpointRequest message;
    message.set_old_size(request.old_size);
    for (const MerkleHash& hash : request.proof) message.add_proof(MerkleHashBytes(hash));
    message.set_note(request.note);
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
    const grpc::Status status = stub->AddCheckpoint(&context, message, response);
    if (size_trailer != nullptr) {
      const auto& trailers = context.GetServerTrailingMetadata();
      auto found = trailers.find("x-tlog-size");
      *size_trailer = found == trailers.end() ? "" : std::string(found->second.data(),
                                                                 found->second.size());
    }
    return status.error_code();
  };
  v1::AddCheckpointResponse response;
  std::string unknown = ledger.Checkpoint(2);
  unknown.replace(0, ledger.ledger_id().size(), "example.com/log");
  EXPECT_EQ(add({0, {}, unknown}, &response, nullptr), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(add({0, {}, ledger.Checkpoint(2) + "x\n"}, &response, nullptr),
            grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(add({3, {}, ledger.Checkpoint(2)}, &response, nullptr),
            grpc::StatusCode::INVALID_ARGUMENT);
  ASSERT_EQ(add(ledger.Request(0, 2), &response, nullptr), grpc::StatusCode::OK);
  EXPECT_TRUE(
      VerifyCosignatureLine(response.cosignature_line(), NoteText(ledger.Checkpoint(2)), vkey_)
          .ok());
  std::string size;
  EXPECT_EQ(add(ledger.Request(0, 4), &response, &size), grpc::StatusCode::ABORTED);
  EXPECT_EQ(size, "2");
  // HTTP and gRPC share the state: the HTTP edge continues from size 2.
  EXPECT_EQ(StatusOf(Post(ledger.Request(2, 4))), 200);
  EXPECT_EQ(add({4, {}, ledger.ForkedCheckpoint(4)}, &response, nullptr),
            grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(add(ledger.Request(4, 6), &response, nullptr), grpc::StatusCode::FAILED_PRECONDITION);

  v1::GetWitnessedCheckpointRequest get;
  get.set_ledger_id(ledger.ledger_id());
  v1::GetWitnessedCheckpointResponse got;
  grpc::ClientContext get_context;
  ASSERT_TRUE(stub->GetCheckpoint(&get_context, get, &got).ok());
  EXPECT_EQ(NoteText(got.note()), NoteText(ledger.Checkpoint(4)));
  v1::GetWitnessEvidenceRequest get_evidence;
  get_evidence.set_ledger_id(ledger.ledger_id());
  v1::GetWitnessEvidenceResponse evidence;
  grpc::ClientContext evidence_context;
  ASSERT_TRUE(stub->GetEvidence(&evidence_context, get_evidence, &evidence).ok());
  ASSERT_EQ(evidence.evidence_size(), 1);
  EXPECT_TRUE(ValidateEvidence(evidence.evidence(0)).ok());
  const TestLedger unseen(1);
  get.set_ledger_id(unseen.ledger_id());
  grpc::ClientContext unseen_context;
  EXPECT_EQ(stub->GetCheckpoint(&unseen_context, get, &got).error_code(),
            grpc::StatusCode::NOT_FOUND);
}

TEST_F(WitnessProcessTest, ConcurrentRequestsWithTheSameOldSizeGetOneCosignature) {
  // A worker per connection: every client connects (and is served a read on
  // its kept-alive connection) before the race, so the race is between
  // requests, not connection set-ups.
  StartWitness({"--http_threads=20"});
  const TestLedger ledger(30);
  ASSERT_EQ(StatusOf(Post(ledger.Request(0, 4))), 200);
  constexpr int kThreads = 16;
  std::vector<AddCheckpointRequest> requests;
  for (int i = 0; i < kThreads; ++i) requests.push_back(ledger.Request(4, 5 + i));
  std::vector<int> codes(kThreads, 0);
  std::atomic<int> ready{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      httplib::Client client(witness_->http_host(), witness_->http_port());
      client.set_read_timeout(30);
      client.set_keep_alive(true);
      const std::string checkpoint_path =
          absl::StrCat("/", OriginHashHex(OriginHash(ledger.ledger_id())), "/checkpoint");
      httplib::Result connected = client.Get(checkpoint_path.c_str());
      if (!connected || connected->status != 200) return;
      ready.fetch_add(1);
      const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(60);
      while (ready.load() < kThreads && std::chrono::steady_clock::now() < give_up) {
        std::this_thread::yield();
      }
      httplib::Result result =
          client.Post("/add-checkpoint", AddCheckpointBody(requests[i]), "text/plain");
      codes[i] = result ? result->status : -static_cast<int>(result.error());
    });
  }
  for (std::thread& thread : threads) thread.join();
  int cosigned = 0;
  int conflicts = 0;
  for (const int code : codes) {
    if (code == 200) ++cosigned;
    if (code == 409) ++conflicts;
  }
  const std::string answers = absl::StrJoin(codes, " ");
  EXPECT_EQ(cosigned, 1) << answers;
  EXPECT_EQ(conflicts, kThreads - 1) << answers;
}

TEST_F(WitnessProcessTest, NeverCosignsAForkOfWhatItCosignedBeforeAKill9) {
  const TestLedger ledger(12);
  ASSERT_EQ(StatusOf(Post(ledger.Request(0, 3))), 200);
  ASSERT_EQ(StatusOf(Post(ledger.Request(3, 7))), 200);
  witness_->Kill9();
  StartWitness();

  httplib::Result stale = Post(ledger.Request(0, 9));
  ASSERT_TRUE(stale);
  EXPECT_EQ(stale->status, 409);
  EXPECT_EQ(stale->body, "7\n");
  // A fork of size 7 is refused, kept as evidence and freezes the ledger.
  EXPECT_EQ(StatusOf(Post(7, ledger.ForkedCheckpoint(7))), 422);
  EXPECT_EQ(StatusOf(Post(ledger.Request(7, 9))), 422);  // Frozen now.
  const TestLedger other(12);
  ASSERT_EQ(StatusOf(Post(other.Request(0, 5))), 200);
  witness_->Kill9();
  StartWitness();
  EXPECT_EQ(StatusOf(Post(other.Request(3, 8))), 409);
  EXPECT_EQ(StatusOf(Post(5, other.ForkedCheckpoint(8))), 422);
  EXPECT_EQ(StatusOf(Post(other.Request(5, 8))), 200);
  // The first ledger is still frozen after the restart.
  EXPECT_EQ(StatusOf(Post(ledger.Request(7, 9))), 422);
}

TEST_F(WitnessProcessTest, StopsCleanlyAtSigterm) {
  ASSERT_GT(witness_->pid(), 0);
  kill(witness_->pid(), SIGTERM);
  EXPECT_EQ(witness_->WaitForExit(20), 0);
}

TEST_F(WitnessProcessTest, MetricsCountAnswersWithoutLedgerIds) {
  witness_->Stop();
  absl::StatusOr<std::unique_ptr<WitnessProcess>> started = WitnessProcess::Start(
      {key_flag_, "--storage=memory", "--metrics_listen=127.0.0.1:0"});
  ASSERT_TRUE(started.ok()) << started.status();
  witness_ = *std::move(started);
  ASSERT_GT(witness_->metrics_port(), 0);
  client_ = std::make_unique<httplib::Client>(witness_->http_host(), witness_->http_port());
  const TestLedger ledger(3);
  ASSERT_EQ(StatusOf(Post(ledger.Request(0, 2))), 200);
  EXPECT_EQ(StatusOf(Post(ledger.Request(0, 3))), 409);
  httplib::Client scraper("127.0.0.1", witness_->metrics_port());
  httplib::Result metrics = scraper.Get("/metrics");
  ASSERT_TRUE(metrics);
  ASSERT_EQ(metrics->status, 200);
  EXPECT_NE(metrics->body.find("microledger_witness_cosignatures_total 1"), std::string::npos)
      << metrics->body;
  EXPECT_NE(metrics->body.find("microledger_witness_add_checkpoint_total{code=\"409\"} 1"),
            std::string::npos);
  EXPECT_EQ(metrics->body.find(ledger.ledger_id()), std::string::npos);
  EXPECT_EQ(metrics->body.find(OriginHashHex(OriginHash(ledger.ledger_id()))), std::string::npos);
}

TEST_F(WitnessProcessTest, LogsNoLedgerIdAndNoSecretInEitherFormat) {
  const std::string private_key = FormatWitnessPrivateKey(signer_);
  const std::string secret = private_key.substr(private_key.rfind('+') + 1, 20);
  for (const std::string format : {"text", "json"}) {
    witness_->Stop();
    absl::StatusOr<std::unique_ptr<WitnessProcess>> started = WitnessProcess::Start(
        {key_flag_, "--storage=memory", "--log_level=debug", "--log_format=" + format});
    ASSERT_TRUE(started.ok()) << started.status();
    witness_ = *std::move(started);
    client_ = std::make_unique<httplib::Client>(witness_->http_host(), witness_->http_port());
    const TestLedger ledger(4);
    ASSERT_EQ(StatusOf(Post(ledger.Request(0, 3))), 200);
    EXPECT_EQ(StatusOf(Post(ledger.Request(0, 4))), 409);
    EXPECT_EQ(StatusOf(Post(3, ledger.ForkedCheckpoint(3))), 422);
    EXPECT_EQ(StatusOf(Post(ledger.Request(3, 4))), 422);
    witness_->Stop();
    const std::string output = witness_->Output();
    EXPECT_NE(output.find("the ledger is frozen"), std::string::npos) << output;
    EXPECT_EQ(output.find(ledger.ledger_id()), std::string::npos) << output;
    EXPECT_EQ(output.find(ledger.ledger_id().substr(7, 20)), std::string::npos) << output;
    EXPECT_EQ(output.find(OriginHashHex(OriginHash(ledger.ledger_id()))), std::string::npos);
    EXPECT_EQ(output.find(secret), std::string::npos) << output;
  }
}

TEST(WitnessStartTest, RefusesAMissingKeyFile) {
  const std::string dir = NewTempDir("witness_start");
  auto [code, output] = WitnessProcess::RunToExit({"--storage=memory"});
  EXPECT_EQ(code, 1) << output;
  EXPECT_NE(output.find("--key_file"), std::string::npos) << output;
  std::tie(code, output) =
      WitnessProcess::RunToExit({"--storage=memory", "--key_file=" + dir + "/absent.key"});
  EXPECT_EQ(code, 1) << output;
}

}  // namespace
}  // namespace microledger
