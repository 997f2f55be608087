// mlctl's discovery commands (tools/resolve_commands.h) over the memory DHT:
// resolve's lines, exit codes and --verbose; URL to gRPC target; --from=dht
// skipping https:// and dead servers for the first one that answers (a real
// ml-host on loopback). The real DHT: tests/discovery.
#include "tools/resolve_commands.h"

#include <algorithm>
#include <sstream>

#include "common/checkpoint.h"
#include "common/ed25519.h"
#include "common/encoding.h"
#include "common/evidence.h"
#include "common/locator.h"
#include "common/timestamp.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/host/host_process.h"
#include "tools/offline_commands.h"

namespace microledger {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

class ResolveCommandsTest : public ::testing::Test {
 protected:
  void SetUp() override { ledger_ = LedgerIdFromPublicKeyText(key_.public_key_text()); }

  void PutPlaintext(const std::string& plaintext) {
    absl::StatusOr<std::string> value = EncryptValueData(ledger_, plaintext);
    ASSERT_TRUE(value.ok()) << value.status();
    ASSERT_TRUE(dht_->Put(*DhtKeyHex(ledger_), *value, DhtValueId(*value)).ok());
  }
  void PutRecord(LocatorRole role, std::vector<std::string> urls, const SigningKey& signer) {
    LocatorRecord record;
    record.ledger = ledger_;
    record.role = role;
    record.seq = seq_;
    record.expires = FormatTimestampMillis(seq_ + 3600 * 1000);
    record.urls = std::move(urls);
    absl::StatusOr<std::string> plaintext = SignLocatorRecord(record, signer);
    ASSERT_TRUE(plaintext.ok()) << plaintext.status();
    PutPlaintext(*plaintext);
  }
  int Resolve(bool verbose = false) {
    out_.str("");
    err_.str("");
    return RunResolve(*dht_, ledger_, NowMillis(), verbose, out_, err_);
  }

  std::unique_ptr<DhtClient> dht_ = NewMemoryDht();
  SigningKey key_ = *SigningKey::Generate();
  SigningKey mirror_key_ = *SigningKey::Generate();
  std::string ledger_;
  const int64_t seq_ = NowMillis();
  std::ostringstream out_, err_;
};

TEST_F(ResolveCommandsTest, RecordsInOrderDroppedOnlyWithVerbose) {
  PutRecord(LocatorRole::kMirror, {"grpc://10.0.0.2:7500", "https://m.example/ml"},
            mirror_key_);
  PutRecord(LocatorRole::kHost, {"grpcs://h.example:7443"}, key_);
  ASSERT_TRUE(dht_->Put(*DhtKeyHex(ledger_), "junk", 9).ok());
  const std::string expires = FormatTimestampMillis(seq_ + 3600 * 1000);
  EXPECT_EQ(Resolve(), kExitOk);
  EXPECT_EQ(out_.str(), absl::StrCat("host grpcs://h.example:7443 expires ", expires, " seq ",
                                     seq_, "\nmirror grpc://10.0.0.2:7500 https://m.example/ml",
                                     " expires ", expires, " seq ", seq_, "\n"));
  EXPECT_EQ(err_.str(), "");
  EXPECT_EQ(Resolve(/*verbose=*/true), kExitOk);
  const std::string dropped = err_.str();
  EXPECT_THAT(dropped, StartsWith("dropped: value "));
  EXPECT_EQ(std::count(dropped.begin(), dropped.end(), '\n'), 1) << dropped;
}

TEST_F(ResolveCommandsTest, EvidenceSaysFrozen) {
  Checkpoint a{ledger_, 2, {}};
  Checkpoint b{ledger_, 2, {}};
  b.root_hash[5] = 7;
  absl::StatusOr<std::string> evidence =
      BuildCheckpointsEvidence(ledger_, SignCheckpoint(a, key_), SignCheckpoint(b, key_));
  ASSERT_TRUE(evidence.ok()) << evidence.status();
  PutPlaintext(*evidence);
  EXPECT_EQ(Resolve(), kExitOk);
  EXPECT_THAT(out_.str(), StartsWith("evidence checkpoints " + EvidenceId(*evidence) + "\n"
                                     "frozen: "));
}

TEST_F(ResolveCommandsTest, NothingFoundIsExit1BadLedgerIsExit2) {
  EXPECT_EQ(Resolve(), kExitVerifyFailed);
  EXPECT_EQ(out_.str(), "");
  EXPECT_EQ(err_.str(), "mlctl resolve: no locator record found\n");
  std::ostringstream out, err;
  EXPECT_EQ(RunResolve(*dht_, "jlinx:nope", NowMillis(), false, out, err), kExitUsageOrInput);
  EXPECT_THAT(err.str(), StartsWith("mlctl resolve: LEDGER: "));
}

TEST(GrpcTargetTest, Schemes) {
  EXPECT_EQ(GrpcTargetOf("grpc://127.0.0.1:7400")->address, "127.0.0.1:7400");
  EXPECT_FALSE(GrpcTargetOf("grpc://127.0.0.1:7400")->tls);
  EXPECT_EQ(GrpcTargetOf("grpcs://[::1]:7443")->address, "[::1]:7443");
  EXPECT_TRUE(GrpcTargetOf("grpcs://[::1]:7443")->tls);
  EXPECT_FALSE(GrpcTargetOf("https://h.example/ml").has_value());
}

TEST_F(ResolveCommandsTest, ConnectsToTheFirstServerThatAnswers) {
  auto host = HostProcess::Start({"--storage=memory"});
  ASSERT_TRUE(host.ok()) << host.status();
  PutRecord(LocatorRole::kHost,
            {"https://h.example/ml", "grpc://127.0.0.1:1", "grpc://" + (*host)->address()},
            key_);
  ServerOptions options;
  options.timeout_seconds = 1;
  std::ostringstream err;
  absl::StatusOr<std::unique_ptr<ServerReader>> reader =
      ConnectThroughDht(*dht_, ledger_, options, NowMillis(), /*verbose=*/true, err);
  ASSERT_TRUE(reader.ok()) << reader.status();
  EXPECT_EQ((*reader)->address(), (*host)->address());
  EXPECT_THAT(err.str(), HasSubstr("mlctl: grpc://127.0.0.1:1: cannot reach the server"));
  EXPECT_THAT(err.str(), HasSubstr("reading from grpc://" + (*host)->address()));

  (*host)->Stop();
  reader = ConnectThroughDht(*dht_, ledger_, options, NowMillis(), false, err);
  EXPECT_TRUE(absl::IsUnavailable(reader.status())) << reader.status();
  EXPECT_THAT(std::string(reader.status().message()), HasSubstr("grpc://127.0.0.1:1: "));
}

TEST_F(ResolveCommandsTest, NoGrpcServerIsNotFound) {
  std::ostringstream err;
  ServerOptions options;
  absl::StatusOr<std::unique_ptr<ServerReader>> reader =
      ConnectThroughDht(*dht_, ledger_, options, NowMillis(), false, err);
  EXPECT_TRUE(absl::IsNotFound(reader.status())) << reader.status();
  PutRecord(LocatorRole::kHost, {"https://h.example/ml"}, key_);
  reader = ConnectThroughDht(*dht_, ledger_, options, NowMillis(), false, err);
  EXPECT_TRUE(absl::IsNotFound(reader.status())) << reader.status();
  EXPECT_THAT(std::string(reader.status().message()), HasSubstr("no gRPC server"));
}

}  // namespace
}  // namespace microledger
