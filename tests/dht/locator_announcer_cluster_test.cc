// The locator announcer with the real DHT proxy client, through a private
// OpenDHT network of three dhtnode processes: what a host or mirror announces
// through one node, a reader resolves through another.
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "common/ed25519.h"
#include "common/encoding.h"
#include "common/locator.h"
#include "common/timestamp.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "serving/dht_client.h"
#include "serving/locator_announcer.h"
#include "tests/dht/dht_cluster.h"

namespace microledger {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::SizeIs;

std::shared_ptr<DhtClient> Client(const std::string& url) {
  absl::StatusOr<std::unique_ptr<DhtClient>> client = NewDhtProxyClient(url, absl::Seconds(5));
  EXPECT_TRUE(client.ok()) << client.status();
  return client.ok() ? std::shared_ptr<DhtClient>(*std::move(client)) : NewMemoryDht();
}

// Waits (at most 10 s) until `done` holds.
bool WaitFor(const std::function<bool()>& done) {
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (!done()) {
    if (absl::Now() > deadline) return false;
    absl::SleepFor(absl::Milliseconds(5));
  }
  return true;
}

// Resolves `ledger` through `reader` until it has `records` records (at most
// 10 s); the last resolution.
ResolvedLedger ResolveAtLeast(DhtClient& reader, const std::string& ledger, size_t records) {
  const std::string key = *DhtKeyHex(ledger);
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  ResolvedLedger resolved;
  while (true) {
    absl::StatusOr<std::vector<std::string>> values = reader.Get(key);
    if (values.ok()) resolved = ResolveLocatorValues(ledger, *values, NowMillis());
    if (resolved.records.size() >= records || absl::Now() > deadline) return resolved;
    absl::SleepFor(absl::Milliseconds(20));
  }
}

using LocatorAnnouncerClusterTest = ThreeNodeDhtTest;

TEST_F(LocatorAnnouncerClusterTest, HostAndMirrorRecordsAreFoundThroughAnotherNode) {
  SigningKey ledger_key = *SigningKey::Generate();
  SigningKey mirror_key = *SigningKey::Generate();
  const std::string ledger = LedgerIdFromPublicKeyText(ledger_key.public_key_text());

  LocatorAnnouncerOptions host_options;
  host_options.urls = {"grpcs://host.example:7400"};
  auto host = LocatorAnnouncer::Create(
      host_options, Client(cluster_->proxy_url(0)),
      [&](const std::string&, LocatorRecord record) {
        return SignLocatorRecord(std::move(record), ledger_key);
      });
  ASSERT_TRUE(host.ok()) << host.status();
  LocatorAnnouncerOptions mirror_options;
  mirror_options.program = "ml-mirror";
  mirror_options.role = LocatorRole::kMirror;
  mirror_options.urls = {"grpc://192.0.2.7:7500", "https://mirror.example/ml"};
  auto mirror = LocatorAnnouncer::Create(
      mirror_options, Client(cluster_->proxy_url(1)),
      [&](const std::string&, LocatorRecord record) {
        return SignLocatorRecord(std::move(record), mirror_key);
      });
  ASSERT_TRUE(mirror.ok()) << mirror.status();

  std::shared_ptr<DhtClient> reader = Client(cluster_->proxy_url(2));
  const absl::Time start = absl::Now();
  (*mirror)->Touch(ledger);
  (*host)->Touch(ledger);
  const ResolvedLedger resolved = ResolveAtLeast(*reader, ledger, 2);
  std::printf("announced via nodes 0 and 1, resolved via node 2 after %.1f ms\n",
              absl::ToDoubleMilliseconds(absl::Now() - start));
  ASSERT_THAT(resolved.records, SizeIs(2));
  EXPECT_EQ(resolved.records[0].role, LocatorRole::kHost);
  EXPECT_EQ(resolved.records[1].role, LocatorRole::kMirror);
  EXPECT_EQ(resolved.records[1].key, mirror_key.public_key_text());
  EXPECT_THAT(resolved.urls, ElementsAre("grpcs://host.example:7400", "grpc://192.0.2.7:7500",
                                         "https://mirror.example/ml"));
  // The announcer counts a put once the proxy answered it, maybe after the
  // reader found the value.
  EXPECT_TRUE(WaitFor([&] { return (*host)->Stats().puts == 1; }));
  EXPECT_TRUE((*host)->Stats().dht_reachable);
}

TEST_F(LocatorAnnouncerClusterTest, EvidenceTravelsWithTheRecord) {
  SigningKey ledger_key = *SigningKey::Generate();
  const std::string ledger = LedgerIdFromPublicKeyText(ledger_key.public_key_text());
  LocatorAnnouncerOptions options;
  options.urls = {"grpcs://host.example:7400"};
  auto host = LocatorAnnouncer::Create(options, Client(cluster_->proxy_url(0)),
                                       [&](const std::string&, LocatorRecord record) {
                                         return SignLocatorRecord(std::move(record), ledger_key);
                                       });
  ASSERT_TRUE(host.ok()) << host.status();
  const std::string evidence = "{\"evidence\":\"opaque to the announcer\"}";
  ASSERT_TRUE((*host)->PutEvidence(ledger, evidence).ok());
  std::shared_ptr<DhtClient> reader = Client(cluster_->proxy_url(2));
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  std::vector<std::string> plaintexts;
  while (plaintexts.size() < 2 && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(20));
    plaintexts.clear();
    absl::StatusOr<std::vector<std::string>> values = reader->Get(*DhtKeyHex(ledger));
    if (!values.ok()) continue;
    for (const std::string& value : *values) {
      if (absl::StatusOr<std::string> plaintext = DecryptValueData(ledger, value); plaintext.ok()) {
        plaintexts.push_back(*plaintext);
      }
    }
  }
  ASSERT_THAT(plaintexts, SizeIs(2));
  EXPECT_THAT(plaintexts, testing::Contains(evidence));
}

TEST_F(LocatorAnnouncerClusterTest, AnnouncesOnceAStoppedProxyIsBack) {
  SigningKey ledger_key = *SigningKey::Generate();
  const std::string ledger = LedgerIdFromPublicKeyText(ledger_key.public_key_text());
  absl::Mutex mu;
  std::vector<std::string> log;
  LocatorAnnouncerOptions options;
  options.urls = {"grpcs://host.example:7400"};
  options.dht_name = "DHT proxy " + cluster_->proxy_url(1);
  options.backoff_min = absl::Milliseconds(50);
  options.backoff_max = absl::Milliseconds(200);
  options.log = [&](absl::string_view line) {
    absl::MutexLock lock(&mu);
    log.emplace_back(line);
  };
  cluster_->StopNode(1);
  auto host = LocatorAnnouncer::Create(options, Client(cluster_->proxy_url(1)),
                                       [&](const std::string&, LocatorRecord record) {
                                         return SignLocatorRecord(std::move(record), ledger_key);
                                       });
  ASSERT_TRUE(host.ok()) << host.status();
  (*host)->Touch(ledger);
  const absl::Time deadline = absl::Now() + absl::Seconds(5);
  while ((*host)->Stats().put_failures < 3 && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(10));
  }
  EXPECT_FALSE((*host)->Stats().dht_reachable);
  ASSERT_TRUE(cluster_->RestartNode(1).ok());
  std::shared_ptr<DhtClient> reader = Client(cluster_->proxy_url(2));
  EXPECT_THAT(ResolveAtLeast(*reader, ledger, 1).records, SizeIs(1));
  EXPECT_TRUE(WaitFor([&] { return (*host)->Stats().dht_reachable; }));
  absl::MutexLock lock(&mu);
  ASSERT_THAT(log, SizeIs(2));
  EXPECT_THAT(log[0], HasSubstr(absl::StrCat("ml-host: DHT proxy ", cluster_->proxy_url(1),
                                             " unreachable; ledgers are not announced until it "
                                             "answers (the DHT proxy did not answer: ")));
  EXPECT_EQ(log[1], absl::StrCat("ml-host: DHT proxy ", cluster_->proxy_url(1),
                                 " answers again; announcing ledgers"));
  for (const std::string& line : log) {
    EXPECT_THAT(line, testing::Not(HasSubstr(ledger_key.public_key_text())));
    EXPECT_THAT(line, testing::Not(HasSubstr(*DhtKeyHex(ledger))));
  }
}

}  // namespace
}  // namespace microledger
