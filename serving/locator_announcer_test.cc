#include "serving/locator_announcer.h"

#include <atomic>
#include <cstdlib>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "common/ed25519.h"
#include "common/encoding.h"
#include "common/locator.h"
#include "common/timestamp.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace microledger {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::SizeIs;

const std::vector<std::string> kUrls = {"grpcs://h1.example:7400", "https://h1.example/ml"};

// Waits (at most 5 s) until `done` holds.
bool WaitFor(const std::function<bool()>& done) {
  const absl::Time deadline = absl::Now() + absl::Seconds(5);
  while (!done()) {
    if (absl::Now() > deadline) return false;
    absl::SleepFor(absl::Milliseconds(2));
  }
  return true;
}

// A memory DHT that counts puts, can be "down" (every put Unavailable, as
// the proxy client reports a refused connection) and can hold puts until
// released.
class TestDht : public DhtClient {
 public:
  absl::Status Put(absl::string_view key, absl::string_view value, uint64_t id) override {
    if (gate_ != nullptr) gate_->WaitForNotification();
    if (down_) {
      ++failures_;
      return absl::UnavailableError("the DHT proxy did not answer: Connection refused");
    }
    ++puts_;
    return memory_->Put(key, value, id);
  }
  absl::StatusOr<std::vector<std::string>> Get(absl::string_view key) override {
    return memory_->Get(key);
  }

  std::vector<std::string> Values(const std::string& ledger_id) {
    absl::StatusOr<std::vector<std::string>> values = memory_->Get(*DhtKeyHex(ledger_id));
    return values.ok() ? *values : std::vector<std::string>{};
  }

  std::atomic<bool> down_{false};
  std::atomic<int> puts_{0};
  std::atomic<int> failures_{0};
  absl::Notification* gate_ = nullptr;

 private:
  std::unique_ptr<DhtClient> memory_ = NewMemoryDht();
};

struct Ledger {
  SigningKey key;
  std::string id;
};

Ledger NewLedger() {
  SigningKey key = *SigningKey::Generate();
  std::string id = LedgerIdFromPublicKeyText(key.public_key_text());
  return Ledger{std::move(key), std::move(id)};
}

class LocatorAnnouncerTest : public ::testing::Test {
 protected:
  LocatorAnnouncerTest() {
    options_.urls = kUrls;
    options_.refresh = absl::Milliseconds(20);
    options_.backoff_min = absl::Milliseconds(5);
    options_.backoff_max = absl::Milliseconds(20);
    options_.log = [this](absl::string_view line) {
      absl::MutexLock lock(&mu_);
      log_.emplace_back(line);
    };
  }

  // Host records: each ledger signs with its own key.
  LocatorSigner HostSigner() {
    return [this](const std::string& ledger_id, LocatorRecord record) {
      absl::MutexLock lock(&mu_);
      records_.push_back(record);
      for (const Ledger& ledger : ledgers_) {
        if (ledger.id == ledger_id) return SignLocatorRecord(std::move(record), ledger.key);
      }
      return absl::StatusOr<std::string>(absl::NotFoundError("no such ledger"));
    };
  }

  std::unique_ptr<LocatorAnnouncer> Start(LocatorSigner signer) {
    absl::StatusOr<std::unique_ptr<LocatorAnnouncer>> announcer =
        LocatorAnnouncer::Create(options_, dht_, std::move(signer));
    EXPECT_TRUE(announcer.ok()) << announcer.status();
    return announcer.ok() ? *std::move(announcer) : nullptr;
  }

  const std::string& AddLedger() {
    absl::MutexLock lock(&mu_);
    ledgers_.push_back(NewLedger());
    return ledgers_.back().id;
  }

  std::vector<LocatorRecord> Records() {
    absl::MutexLock lock(&mu_);
    return records_;
  }
  std::vector<std::string> LogLines() {
    absl::MutexLock lock(&mu_);
    return log_;
  }

  LocatorAnnouncerOptions options_;
  std::shared_ptr<TestDht> dht_ = std::make_shared<TestDht>();
  absl::Mutex mu_;
  std::deque<Ledger> ledgers_ ABSL_GUARDED_BY(mu_);
  std::vector<LocatorRecord> records_ ABSL_GUARDED_BY(mu_);
  std::vector<std::string> log_ ABSL_GUARDED_BY(mu_);
};

TEST_F(LocatorAnnouncerTest, TouchedLedgerIsFoundByAReader) {
  options_.refresh = absl::Minutes(5);
  auto announcer = Start(HostSigner());
  const std::string ledger = AddLedger();
  announcer->Touch(ledger);
  ASSERT_TRUE(WaitFor([&] { return !dht_->Values(ledger).empty(); }));
  const ResolvedLedger resolved =
      ResolveLocatorValues(ledger, dht_->Values(ledger), NowMillis());
  EXPECT_THAT(resolved.dropped, IsEmpty());
  ASSERT_THAT(resolved.records, SizeIs(1));
  EXPECT_EQ(resolved.urls, kUrls);
  const LocatorRecord& record = resolved.records[0];
  EXPECT_EQ(record.role, LocatorRole::kHost);
  EXPECT_EQ(record.key, ledger.substr(kLedgerIdPrefix.size()));
  EXPECT_LE(std::abs(record.seq - NowMillis()), 5000);
  EXPECT_EQ(*ParseTimestampMillis(record.expires), record.seq + 3600 * 1000);
  // Counted once the put returned, maybe after the reader found the value.
  ASSERT_TRUE(WaitFor([&] { return announcer->Stats().puts == 1; }));
  const LocatorAnnouncerStats stats = announcer->Stats();
  EXPECT_EQ(stats.ledgers, 1);
  EXPECT_EQ(stats.puts, 1);
  EXPECT_EQ(stats.put_failures, 0);
  EXPECT_TRUE(stats.dht_reachable);
}

TEST_F(LocatorAnnouncerTest, RePutsTheSameValueEveryRefresh) {
  auto announcer = Start(HostSigner());
  const std::string ledger = AddLedger();
  announcer->Touch(ledger);
  ASSERT_TRUE(WaitFor([&] { return announcer->Stats().puts >= 5; }));
  EXPECT_THAT(Records(), SizeIs(1));  // Signed once: the record is good for an hour.
  EXPECT_THAT(dht_->Values(ledger), SizeIs(1));  // Same value data, same value id.
  for (int i = 0; i < 100; ++i) announcer->Touch(ledger);
  EXPECT_THAT(Records(), SizeIs(1));  // Touching an announced ledger changes nothing.
}

TEST_F(LocatorAnnouncerTest, ResignsBeforeACopyInTheDhtCouldExpire) {
  // Re-signed once less than refresh + 10 min remain: 80 ms after signing.
  options_.record_lifetime = absl::Milliseconds(kDhtValueLifetimeMillis) + absl::Milliseconds(100);
  auto announcer = Start(HostSigner());
  const std::string ledger = AddLedger();
  announcer->Touch(ledger);
  ASSERT_TRUE(WaitFor([&] { return Records().size() >= 3; }));
  const std::vector<LocatorRecord> records = Records();
  for (size_t i = 1; i < records.size(); ++i) EXPECT_GT(records[i].seq, records[i - 1].seq);
  ASSERT_TRUE(WaitFor([&] { return dht_->Values(ledger).size() >= 3; }));
  const ResolvedLedger resolved =
      ResolveLocatorValues(ledger, dht_->Values(ledger), NowMillis());
  ASSERT_THAT(resolved.records, SizeIs(1));  // The newest record of the signer.
  EXPECT_GE(resolved.records[0].seq, records[2].seq);
}

TEST_F(LocatorAnnouncerTest, IdleLedgersAreDroppedAndComeBackWhenTouched) {
  options_.active_window = absl::Milliseconds(100);
  auto announcer = Start(HostSigner());
  const std::string ledger = AddLedger();
  announcer->Touch(ledger);
  ASSERT_TRUE(WaitFor([&] { return announcer->Stats().puts >= 1; }));
  ASSERT_TRUE(WaitFor([&] { return announcer->Stats().ledgers == 0; }));
  const int64_t puts = announcer->Stats().puts;
  absl::SleepFor(absl::Milliseconds(100));
  EXPECT_EQ(announcer->Stats().puts, puts);
  // A use older than the window announces nothing.
  announcer->Touch(ledger, absl::Now() - absl::Seconds(1));
  EXPECT_EQ(announcer->Stats().ledgers, 0);
  announcer->Touch(ledger);
  EXPECT_EQ(announcer->Stats().ledgers, 1);
  ASSERT_TRUE(WaitFor([&] { return announcer->Stats().puts > puts; }));
}

TEST_F(LocatorAnnouncerTest, ModeAllKeepsIdleLedgers) {
  options_.mode = AnnounceMode::kAll;
  options_.active_window = absl::Milliseconds(10);
  auto announcer = Start(HostSigner());
  const std::string ledger = AddLedger();
  announcer->Touch(ledger);
  ASSERT_TRUE(WaitFor([&] { return announcer->Stats().puts >= 10; }));
  EXPECT_EQ(announcer->Stats().ledgers, 1);
}

TEST_F(LocatorAnnouncerTest, ModeNoneAnnouncesNothing) {
  options_.mode = AnnounceMode::kNone;
  options_.urls.clear();
  auto announcer = Start(HostSigner());
  const std::string ledger = AddLedger();
  announcer->Touch(ledger);
  EXPECT_TRUE(announcer->PutEvidence(ledger, "{}").ok());
  absl::SleepFor(absl::Milliseconds(50));
  EXPECT_THAT(dht_->Values(ledger), IsEmpty());
  EXPECT_THAT(Records(), IsEmpty());
  EXPECT_EQ(announcer->Stats().ledgers, 0);
}

TEST_F(LocatorAnnouncerTest, ForgottenLedgersAreNoLongerPut) {
  auto announcer = Start(HostSigner());
  const std::string ledger = AddLedger();
  announcer->Touch(ledger);
  ASSERT_TRUE(WaitFor([&] { return announcer->Stats().puts >= 2; }));
  announcer->Forget(ledger);
  EXPECT_EQ(announcer->Stats().ledgers, 0);
  absl::SleepFor(absl::Milliseconds(30));  // A put in flight may still finish.
  const int64_t puts = announcer->Stats().puts;
  absl::SleepFor(absl::Milliseconds(100));
  EXPECT_EQ(announcer->Stats().puts, puts);
}

TEST_F(LocatorAnnouncerTest, EvidenceIsPutWithTheRecordAndKeptOnce) {
  options_.refresh = absl::Minutes(5);
  auto announcer = Start(HostSigner());
  const std::string ledger = AddLedger();
  const std::string evidence = "{\"evidence\":\"test object\"}";
  ASSERT_TRUE(announcer->PutEvidence(ledger, evidence).ok());
  ASSERT_TRUE(WaitFor([&] { return dht_->Values(ledger).size() == 2; }));
  std::vector<std::string> plaintexts;
  for (const std::string& value : dht_->Values(ledger)) {
    plaintexts.push_back(*DecryptValueData(ledger, value));
  }
  EXPECT_THAT(plaintexts, testing::Contains(evidence));
  // Known evidence changes nothing; new evidence is put at once.
  ASSERT_TRUE(announcer->PutEvidence(ledger, evidence).ok());
  ASSERT_TRUE(announcer->PutEvidence(ledger, "{\"evidence\":\"another\"}").ok());
  ASSERT_TRUE(WaitFor([&] { return dht_->Values(ledger).size() == 3; }));
  absl::SleepFor(absl::Milliseconds(50));
  EXPECT_THAT(dht_->Values(ledger), SizeIs(3));
  EXPECT_EQ(announcer->PutEvidence(ledger, std::string(kMaxValueDataBytes, 'x')).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(announcer->PutEvidence("jlinx:nope", "{}").code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(LocatorAnnouncerTest, UnreachableDhtIsReportedOnceAndRecoveryOnce) {
  dht_->down_ = true;
  auto announcer = Start(HostSigner());
  std::vector<std::string> ledgers;
  for (int i = 0; i < 3; ++i) {
    ledgers.push_back(AddLedger());
    announcer->Touch(ledgers.back());
  }
  ASSERT_TRUE(WaitFor([&] { return announcer->Stats().put_failures >= 10; }));
  EXPECT_FALSE(announcer->Stats().dht_reachable);
  EXPECT_THAT(LogLines(),
              ElementsAre("ml-host: DHT proxy unreachable; ledgers are not announced until it "
                          "answers (the DHT proxy did not answer: Connection refused)"));
  dht_->down_ = false;
  ASSERT_TRUE(WaitFor([&] {
    for (const std::string& ledger : ledgers) {
      if (dht_->Values(ledger).empty()) return false;
    }
    return true;
  }));
  ASSERT_TRUE(WaitFor([&] { return announcer->Stats().dht_reachable; }));
  const std::vector<std::string> lines = LogLines();
  ASSERT_THAT(lines, SizeIs(2));
  EXPECT_EQ(lines[1], "ml-host: DHT proxy answers again; announcing ledgers");
}

TEST_F(LocatorAnnouncerTest, BacksOffWhileTheDhtIsUnreachable) {
  dht_->down_ = true;
  options_.backoff_min = absl::Milliseconds(20);
  options_.backoff_max = absl::Milliseconds(80);
  auto announcer = Start(HostSigner());
  announcer->Touch(AddLedger());
  absl::SleepFor(absl::Milliseconds(500));
  // Pauses of 20, 40, 80, 80, ... ms: about 8 attempts in 500 ms, not hundreds.
  EXPECT_GE(dht_->failures_, 3);
  EXPECT_LE(dht_->failures_, 12);
}

TEST_F(LocatorAnnouncerTest, CallersNeverWaitForTheDht) {
  absl::Notification gate;
  dht_->gate_ = &gate;
  auto announcer = Start(HostSigner());
  announcer->Touch(AddLedger());
  ASSERT_TRUE(WaitFor([&] { return !Records().empty(); }));  // The thread is in Put.
  const absl::Time start = absl::Now();
  for (int i = 0; i < 1000; ++i) announcer->Touch(AddLedger());
  ASSERT_TRUE(announcer->PutEvidence(AddLedger(), "{}").ok());
  EXPECT_EQ(announcer->Stats().ledgers, 1002);
  EXPECT_LT(absl::Now() - start, absl::Seconds(2));  // 1002 key generations included.
  gate.Notify();
  ASSERT_TRUE(WaitFor([&] { return announcer->Stats().puts >= 1003; }));
}

TEST_F(LocatorAnnouncerTest, SignerErrorsAreLoggedOnceWithoutTheLedger) {
  auto announcer = Start([](const std::string& ledger_id, LocatorRecord) {
    return absl::StatusOr<std::string>(
        absl::InternalError(absl::StrCat("no key for ", ledger_id, " (", ledger_id.substr(6), ")")));
  });
  const std::string ledger = AddLedger();
  announcer->Touch(ledger);
  announcer->Touch(AddLedger());
  ASSERT_TRUE(WaitFor([&] { return announcer->Stats().sign_failures >= 4; }));
  EXPECT_THAT(LogLines(), ElementsAre("ml-host: cannot make a locator record (reported once): "
                                      "no key for <ledger> (<ledger key>)"));
  EXPECT_EQ(announcer->Stats().puts, 0);
  EXPECT_EQ(announcer->Stats().ledgers, 2);
}

TEST_F(LocatorAnnouncerTest, LedgersTheSignerDoesNotKnowAreForgotten) {
  auto announcer = Start(HostSigner());
  announcer->Touch(NewLedger().id);  // Not in ledgers_: NotFound.
  ASSERT_TRUE(WaitFor([&] { return Records().size() == 1 && announcer->Stats().ledgers == 0; }));
  EXPECT_EQ(announcer->Stats().puts, 0);
  EXPECT_THAT(LogLines(), IsEmpty());
}

TEST_F(LocatorAnnouncerTest, MirrorSeqGrowsAcrossLedgers) {
  options_.role = LocatorRole::kMirror;
  options_.refresh = absl::Minutes(5);
  SigningKey mirror_key = *SigningKey::Generate();
  std::vector<int64_t> seqs;
  auto announcer = Start([&](const std::string&, LocatorRecord record) {
    seqs.push_back(record.seq);  // The announcer's thread only.
    return SignLocatorRecord(std::move(record), mirror_key);
  });
  std::vector<std::string> ledgers;
  for (int i = 0; i < 50; ++i) {
    ledgers.push_back(NewLedger().id);
    announcer->Touch(ledgers.back());
  }
  ASSERT_TRUE(WaitFor([&] { return announcer->Stats().puts == 50; }));
  announcer.reset();  // Joins the thread: seqs is complete.
  ASSERT_THAT(seqs, SizeIs(50));
  for (size_t i = 1; i < seqs.size(); ++i) EXPECT_GT(seqs[i], seqs[i - 1]);
  for (const std::string& ledger : ledgers) {
    const ResolvedLedger resolved =
        ResolveLocatorValues(ledger, dht_->Values(ledger), NowMillis());
    ASSERT_THAT(resolved.records, SizeIs(1));
    EXPECT_EQ(resolved.records[0].role, LocatorRole::kMirror);
    EXPECT_EQ(resolved.records[0].key, mirror_key.public_key_text());
  }
}

TEST_F(LocatorAnnouncerTest, CreateRejectsBadOptions) {
  const auto rejects = [&](LocatorAnnouncerOptions options) {
    return LocatorAnnouncer::Create(std::move(options), dht_, HostSigner()).status().code() ==
           absl::StatusCode::kInvalidArgument;
  };
  LocatorAnnouncerOptions options = options_;
  options.urls = {"http://h1.example:80"};
  EXPECT_TRUE(rejects(options));
  options.urls = {};
  EXPECT_TRUE(rejects(options));
  options.urls = {"grpc://a:1", "grpc://b:1", "grpc://c:1", "grpc://d:1", "grpc://e:1"};
  EXPECT_TRUE(rejects(options));
  options = options_;
  options.record_lifetime = absl::Hours(49);
  EXPECT_TRUE(rejects(options));
  options.record_lifetime = options.refresh + absl::Minutes(10);
  EXPECT_TRUE(rejects(options));
  options = options_;
  options.refresh = absl::ZeroDuration();
  EXPECT_TRUE(rejects(options));
  options = options_;
  options.backoff_max = absl::Milliseconds(1);
  EXPECT_TRUE(rejects(options));
  EXPECT_EQ(LocatorAnnouncer::Create(options_, nullptr, HostSigner()).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(LocatorAnnouncer::Create(options_, dht_, nullptr).status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace microledger
