#include "witness/witness_http.h"

#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "common/cosignature.h"
#include "common/evidence.h"
#include "gtest/gtest.h"
#include "httplib.h"
#include "ledger_store/kv_store.h"
#include "serving/metrics.h"
#include "witness/client_limits.h"
#include "serving/client_rate_limiter.h"
#include "witness/witness_store.h"
#include "witness/witness_testing.h"

namespace microledger {
namespace {

class WitnessHttpTest : public ::testing::Test {
 protected:
  void SetUp() override { Serve({}); }

  void Serve(ClientLimits limits) {
    server_.reset();
    metrics_ = std::make_unique<MetricsRegistry>();
    witness_metrics_ = std::make_unique<WitnessMetrics>(*metrics_);
    witness_ = std::make_unique<Witness>(
        std::make_unique<WitnessStore>(NewMemoryKvStore()),
        [this](absl::string_view note_text) { return signer_.Cosign(note_text, 1700000000); },
        witness_metrics_.get());
    HttpServerOptions options;
    options.max_request_body_bytes = 65536;
    server_ = std::make_unique<HttpServer>(options);
    RegisterWitnessHttp(*server_, witness_.get(), limits, witness_metrics_.get());
    ASSERT_TRUE(server_->Start("127.0.0.1:0").ok());
    client_ = std::make_unique<httplib::Client>("127.0.0.1", server_->port());
  }

  httplib::Result Post(const AddCheckpointRequest& request) {
    return client_->Post("/add-checkpoint", AddCheckpointBody(request), "text/plain");
  }

  std::string Path(const TestLedger& ledger, const std::string& what) {
    return absl::StrCat("/", OriginHashHex(OriginHash(ledger.ledger_id())), "/", what);
  }

  const WitnessSigner signer_ = NewTestWitnessSigner();
  std::unique_ptr<MetricsRegistry> metrics_;
  std::unique_ptr<WitnessMetrics> witness_metrics_;
  std::unique_ptr<Witness> witness_;
  std::unique_ptr<HttpServer> server_;
  std::unique_ptr<httplib::Client> client_;
};

TEST_F(WitnessHttpTest, AnswersTheProtocolByteForByte) {
  const TestLedger ledger(6);
  httplib::Result malformed = client_->Post("/add-checkpoint", "old 01\n\n", "text/plain");
  ASSERT_TRUE(malformed);
  EXPECT_EQ(malformed->status, 400);

  httplib::Result first = Post(ledger.Request(0, 3));
  ASSERT_TRUE(first);
  ASSERT_EQ(first->status, 200) << first->body;
  const std::string note_text = ledger.Checkpoint(3).substr(0, ledger.Checkpoint(3).find("\n\n") + 1);
  EXPECT_TRUE(VerifyCosignatureLine(first->body, note_text, signer_.key()).ok()) << first->body;

  httplib::Result stale = Post(ledger.Request(0, 5));
  ASSERT_TRUE(stale);
  EXPECT_EQ(stale->status, 409);
  EXPECT_EQ(stale->body, "3\n");
  EXPECT_EQ(stale->get_header_value("Content-Type"), "text/x.tlog.size");

  httplib::Result checkpoint = client_->Get(Path(ledger, "checkpoint").c_str());
  ASSERT_TRUE(checkpoint);
  EXPECT_EQ(checkpoint->status, 200);
  EXPECT_EQ(checkpoint->body, ledger.Checkpoint(3) + first->body);
  httplib::Result no_evidence = client_->Get(Path(ledger, "evidence").c_str());
  ASSERT_TRUE(no_evidence);
  EXPECT_EQ(no_evidence->status, 404);

  AddCheckpointRequest fork;
  fork.old_size = 3;
  fork.note = ledger.ForkedCheckpoint(3);
  httplib::Result forked = Post(fork);
  ASSERT_TRUE(forked);
  EXPECT_EQ(forked->status, 422);
  httplib::Result evidence = client_->Get(Path(ledger, "evidence").c_str());
  ASSERT_TRUE(evidence);
  ASSERT_EQ(evidence->status, 200);
  ASSERT_FALSE(evidence->body.empty());
  ASSERT_EQ(evidence->body.back(), '\n');
  const std::string object = evidence->body.substr(0, evidence->body.size() - 1);
  absl::StatusOr<EvidenceInfo> info = ValidateEvidence(object);
  ASSERT_TRUE(info.ok()) << info.status();

  httplib::Result frozen = Post(ledger.Request(3, 5));
  ASSERT_TRUE(frozen);
  EXPECT_EQ(frozen->status, 422);
  EXPECT_EQ(frozen->body, absl::StrCat("frozen ", info->id, "\n"));

  const std::string exposition = metrics_->Exposition();
  EXPECT_NE(exposition.find("microledger_witness_add_checkpoint_total{code=\"409\"} 1"),
            std::string::npos)
      << exposition;
  EXPECT_NE(exposition.find("microledger_witness_ledgers_frozen_total 1"), std::string::npos);
  EXPECT_NE(exposition.find("microledger_witness_cosignatures_total 1"), std::string::npos);
}

TEST_F(WitnessHttpTest, UnknownPathsAndOriginHashes) {
  const TestLedger ledger(2);
  for (const std::string& path :
       {Path(ledger, "checkpoint"), std::string("/ABCD/checkpoint"),
        absl::StrCat("/", std::string(64, 'A'), "/checkpoint"), std::string("/checkpoint"),
        absl::StrCat("/", std::string(64, 'a'), "/other")}) {
    httplib::Result got = client_->Get(path.c_str());
    ASSERT_TRUE(got) << path;
    EXPECT_EQ(got->status, 404) << path;
  }
}

TEST_F(WitnessHttpTest, RefusesLargeBodiesAndClientsOverTheirLimits) {
  httplib::Result large =
      client_->Post("/add-checkpoint", std::string(65537, 'x'), "text/plain");
  ASSERT_TRUE(large);
  EXPECT_EQ(large->status, 413);

  RateLimit one_new_ledger;
  one_new_ledger.per_second = 0.001;
  one_new_ledger.burst = 1;
  ClientRateLimiter new_ledgers(one_new_ledger);
  Serve({nullptr, &new_ledgers});
  const TestLedger a(3);
  const TestLedger b(3);
  EXPECT_EQ(Post(a.Request(0, 1))->status, 200);
  EXPECT_EQ(Post(b.Request(0, 1))->status, 429);  // A second new ledger.
  EXPECT_EQ(Post(a.Request(1, 2))->status, 200);  // A known ledger is not charged.

  RateLimit two_requests;
  two_requests.per_second = 0.001;
  two_requests.burst = 2;
  ClientRateLimiter requests(two_requests);
  Serve({&requests, nullptr});
  EXPECT_EQ(Post(a.Request(0, 1))->status, 200);
  EXPECT_EQ(Post(a.Request(1, 2))->status, 200);
  EXPECT_EQ(Post(a.Request(2, 3))->status, 429);
  server_->Stop();  // Before the limiters go.
}

}  // namespace
}  // namespace microledger
