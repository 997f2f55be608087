// The owner agent's ledger locator over the memory DHT: the servers of
// verified records only, host records first, each address once, the scheme
// of the agent's host channels only; DHT errors come back as Unavailable.
#include "owner_agent/ledger_locator.h"

#include "common/ed25519.h"
#include "common/encoding.h"
#include "common/locator.h"
#include "common/timestamp.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "serving/dht_client.h"

namespace microledger {
namespace {

class LedgerLocatorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dht_ = NewMemoryDht();
    ledger_ = LedgerIdFromPublicKeyText(ledger_key_.public_key_text());
  }

  // Puts a record of `role` with `urls` signed by `signer`.
  void Put(LocatorRole role, std::vector<std::string> urls, const SigningKey& signer,
           int64_t seq = NowMillis()) {
    LocatorRecord record;
    record.ledger = ledger_;
    record.role = role;
    record.seq = seq;
    record.expires = FormatTimestampMillis(seq + 3600 * 1000);
    record.urls = std::move(urls);
    absl::StatusOr<std::string> plaintext = SignLocatorRecord(record, signer);
    ASSERT_TRUE(plaintext.ok()) << plaintext.status();
    absl::StatusOr<std::string> value = EncryptValueData(ledger_, *plaintext);
    ASSERT_TRUE(value.ok()) << value.status();
    ASSERT_TRUE(dht_->Put(*DhtKeyHex(ledger_), *value, DhtValueId(*value)).ok());
  }

  std::vector<std::string> Addresses(const LedgerLocator& locator) {
    absl::StatusOr<std::vector<LocatedServer>> located = locator.Locate(ledger_);
    EXPECT_TRUE(located.ok()) << located.status();
    std::vector<std::string> addresses;
    if (!located.ok()) return addresses;
    for (const LocatedServer& server : *located) {
      addresses.push_back(absl::StrCat(
          server.role == LocatorRole::kHost ? "host " : "mirror ", server.address));
    }
    return addresses;
  }

  std::shared_ptr<DhtClient> dht_;
  SigningKey ledger_key_ = *SigningKey::Generate();
  SigningKey mirror_key_ = *SigningKey::Generate();
  SigningKey other_key_ = *SigningKey::Generate();
  std::string ledger_;
};

TEST_F(LedgerLocatorTest, VerifiedRecordsHostFirstEachAddressOnce) {
  Put(LocatorRole::kMirror, {"grpc://10.0.0.2:7500", "https://m.example/ml"}, mirror_key_,
      NowMillis() - 1000);
  Put(LocatorRole::kHost, {"grpc://10.0.0.1:7400", "grpcs://h.example:7443"}, ledger_key_);
  // A newer mirror record naming the host's address too; junk is dropped.
  Put(LocatorRole::kMirror, {"grpc://10.0.0.1:7400", "grpc://10.0.0.9:1"}, other_key_);
  ASSERT_TRUE(dht_->Put(*DhtKeyHex(ledger_), "junk", 7).ok());

  EXPECT_THAT(Addresses(LedgerLocator(dht_, /*tls=*/false)),
              ::testing::ElementsAre("host 10.0.0.1:7400", "mirror 10.0.0.9:1",
                                     "mirror 10.0.0.2:7500"));
  EXPECT_THAT(Addresses(LedgerLocator(dht_, /*tls=*/true)),
              ::testing::ElementsAre("host h.example:7443"));
}

TEST_F(LedgerLocatorTest, NewestHostRecordOnly) {
  Put(LocatorRole::kHost, {"grpc://127.0.0.1:1000"}, ledger_key_, NowMillis() - 1000);
  Put(LocatorRole::kHost, {"grpc://127.0.0.1:2000"}, ledger_key_);
  EXPECT_THAT(Addresses(LedgerLocator(dht_, false)),
              ::testing::ElementsAre("host 127.0.0.1:2000"));
}

TEST_F(LedgerLocatorTest, NothingFoundAndUnreachableProxy) {
  EXPECT_THAT(Addresses(LedgerLocator(dht_, false)), ::testing::IsEmpty());
  absl::StatusOr<std::unique_ptr<DhtClient>> dead =
      NewDhtProxyClient("http://127.0.0.1:1", absl::Seconds(2));
  ASSERT_TRUE(dead.ok());
  LedgerLocator locator(std::shared_ptr<DhtClient>(*std::move(dead)), false);
  absl::StatusOr<std::vector<LocatedServer>> located = locator.Locate(ledger_);
  EXPECT_TRUE(absl::IsUnavailable(located.status())) << located.status();
  EXPECT_THAT(std::string(located.status().message()),
              ::testing::Not(::testing::HasSubstr(ledger_)));
}

TEST(ServerUnreachableTest, UnavailableAndDeadlineOnly) {
  EXPECT_TRUE(ServerUnreachable(absl::UnavailableError("x")));
  EXPECT_TRUE(ServerUnreachable(absl::DeadlineExceededError("x")));
  EXPECT_FALSE(ServerUnreachable(absl::DataLossError("x")));
  EXPECT_FALSE(ServerUnreachable(absl::NotFoundError("x")));
}

}  // namespace
}  // namespace microledger
