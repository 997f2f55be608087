// The group committer against a fake store whose writes the test completes
// one at a time (OK or failed), so that the groups are known.
#include "host_service/group_committer.h"

#include <deque>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "host_service/host_metrics.h"
#include "ledger_store/kv_store.h"
#include "ledger_store/ledger_entry.h"
#include "serving/metrics.h"

namespace microledger {
namespace {

constexpr absl::Duration kWait = absl::Seconds(10);

// Each Write waits for the test to give it a result (unless `auto_ok`), and
// keeps the batches written successfully.
class FakeStore : public KvStore {
 public:
  explicit FakeStore(bool auto_ok = false) : auto_ok_(auto_ok) {}

  absl::StatusOr<std::string> Get(absl::string_view) const override {
    return absl::NotFoundError("fake store");
  }
  std::vector<absl::StatusOr<std::string>> MultiGet(
      absl::Span<const std::string> keys) const override {
    return std::vector<absl::StatusOr<std::string>>(keys.size(),
                                                    absl::NotFoundError("fake store"));
  }
  absl::StatusOr<std::vector<std::pair<std::string, std::string>>> Scan(
      absl::string_view, absl::string_view, size_t) const override {
    return std::vector<std::pair<std::string, std::string>>();
  }
  absl::Status Write(const KvBatch& batch) override {
    absl::MutexLock lock(&mu_);
    ++writes_started_;
    absl::Status result = absl::OkStatus();
    if (!auto_ok_) {
      auto ready = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return !results_.empty(); };
      if (!mu_.AwaitWithTimeout(absl::Condition(&ready), kWait)) {
        return absl::DeadlineExceededError("the test gave no result");
      }
      result = results_.front();
      results_.pop_front();
    }
    if (result.ok()) {
      for (const auto& [key, value] : batch.puts) written_.push_back(key);
    }
    return result;
  }

  // The result of the next write not yet given one.
  void Complete(absl::Status result) {
    absl::MutexLock lock(&mu_);
    results_.push_back(std::move(result));
  }
  bool WaitForWritesStarted(int count) {
    absl::MutexLock lock(&mu_);
    auto started = [this, count]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return writes_started_ >= count;
    };
    return mu_.AwaitWithTimeout(absl::Condition(&started), kWait);
  }
  std::vector<std::string> written() {
    absl::MutexLock lock(&mu_);
    return written_;
  }

 private:
  const bool auto_ok_;
  absl::Mutex mu_;
  int writes_started_ ABSL_GUARDED_BY(mu_) = 0;
  std::deque<absl::Status> results_ ABSL_GUARDED_BY(mu_);
  std::vector<std::string> written_ ABSL_GUARDED_BY(mu_);
};

// The callbacks' outcomes, by append name ("A1").
class Outcomes {
 public:
  AppendCallback For(std::string name) {
    return [this, name](absl::StatusOr<AppendResult> result) {
      absl::MutexLock lock(&mu_);
      outcomes_.emplace(name, result.status());
    };
  }
  bool WaitFor(size_t count) {
    absl::MutexLock lock(&mu_);
    auto done = [this, count]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return outcomes_.size() >= count;
    };
    return mu_.AwaitWithTimeout(absl::Condition(&done), kWait);
  }
  absl::Status Of(const std::string& name) {
    absl::MutexLock lock(&mu_);
    auto it = outcomes_.find(name);
    return it == outcomes_.end() ? absl::InternalError("no outcome") : it->second;
  }

 private:
  absl::Mutex mu_;
  std::map<std::string, absl::Status> outcomes_ ABSL_GUARDED_BY(mu_);
};

// Queues block `number` of `entry` as the append pipeline does: counted in
// flight, with the entry's current epoch and one put named `name`.
void Enqueue(GroupCommitter& committer, const std::shared_ptr<LedgerEntry>& entry,
             const std::string& name, uint64_t number, Outcomes& outcomes) {
  {
    absl::MutexLock lock(&entry->commit_mu);
    ++entry->inflight;
  }
  auto append = std::make_unique<PreparedAppend>();
  append->entry = entry;
  append->epoch = entry->epoch.load();
  append->batch.puts.emplace_back(name, "value");
  append->result.number = number;
  append->done = outcomes.For(name);
  committer.Enqueue(std::move(append));
}

uint64_t CommittedHead(LedgerEntry& entry) {
  absl::MutexLock lock(&entry.commit_mu);
  return entry.committed_head;
}

uint64_t Inflight(LedgerEntry& entry) {
  absl::MutexLock lock(&entry.commit_mu);
  return entry.inflight;
}

TEST(GroupCommitterTest, CommitsAGroupInOneWriteAndAdvancesHeadsBeforeCallbacks) {
  FakeStore store;
  auto a = std::make_shared<LedgerEntry>();
  auto b = std::make_shared<LedgerEntry>();
  Outcomes outcomes;
  GroupCommitter committer(&store);
  Enqueue(committer, a, "A1", 1, outcomes);
  ASSERT_TRUE(store.WaitForWritesStarted(1));
  // Queued while A1's write is in flight: one group, one write.
  Enqueue(committer, a, "A2", 2, outcomes);
  Enqueue(committer, b, "B1", 1, outcomes);
  store.Complete(absl::OkStatus());
  store.Complete(absl::OkStatus());
  ASSERT_TRUE(outcomes.WaitFor(3));
  EXPECT_TRUE(outcomes.Of("A1").ok());
  EXPECT_TRUE(outcomes.Of("A2").ok());
  EXPECT_TRUE(outcomes.Of("B1").ok());
  EXPECT_EQ(store.written(), (std::vector<std::string>{"A1", "A2", "B1"}));
  EXPECT_EQ(CommittedHead(*a), 2u);
  EXPECT_EQ(CommittedHead(*b), 1u);
  EXPECT_EQ(Inflight(*a), 0u);
  EXPECT_EQ(Inflight(*b), 0u);
  EXPECT_EQ(committer.failed_writes(), 0u);
}

TEST(GroupCommitterTest, AFailedWriteFailsEveryAppendOfItsGroupWithTheError) {
  FakeStore store;
  auto a = std::make_shared<LedgerEntry>();
  auto b = std::make_shared<LedgerEntry>();
  auto c = std::make_shared<LedgerEntry>();
  Outcomes outcomes;
  bool woken = false;
  {
    absl::MutexLock lock(&a->commit_mu);
    a->waiters.emplace_back(1, [&woken] { woken = true; });
  }
  GroupCommitter committer(&store);
  Enqueue(committer, c, "C1", 1, outcomes);
  ASSERT_TRUE(store.WaitForWritesStarted(1));
  Enqueue(committer, a, "A1", 1, outcomes);
  Enqueue(committer, a, "A2", 2, outcomes);
  Enqueue(committer, b, "B1", 1, outcomes);
  store.Complete(absl::OkStatus());
  store.Complete(absl::UnavailableError("storage: the disk is full"));
  ASSERT_TRUE(outcomes.WaitFor(4));
  EXPECT_TRUE(outcomes.Of("C1").ok());
  for (const auto& [name, number] :
       std::vector<std::pair<std::string, int>>{{"A1", 1}, {"A2", 2}, {"B1", 1}}) {
    const absl::Status status = outcomes.Of(name);
    EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable) << name;
    EXPECT_EQ(status.message(), absl::StrCat("block ", number, ": storage: the disk is full"))
        << name;
  }
  // Nothing of the group is visible: no head moved, no waiter woke, and the
  // failed ledgers reload their pending state on their next prepare.
  EXPECT_EQ(store.written(), std::vector<std::string>{"C1"});
  EXPECT_EQ(CommittedHead(*a), 0u);
  EXPECT_EQ(CommittedHead(*b), 0u);
  EXPECT_EQ(CommittedHead(*c), 1u);
  EXPECT_FALSE(woken);
  EXPECT_NE(a->epoch.load(), 0u);
  EXPECT_NE(b->epoch.load(), 0u);
  EXPECT_EQ(c->epoch.load(), 0u);
  EXPECT_EQ(Inflight(*a), 0u);
  EXPECT_EQ(Inflight(*b), 0u);
  EXPECT_EQ(committer.failed_writes(), 1u);
}

TEST(GroupCommitterTest, CountsCommittedAndFailedAppendsAndGroupSizes) {
  FakeStore store;
  MetricsRegistry registry;
  HostMetrics metrics(registry);
  auto a = std::make_shared<LedgerEntry>();
  auto b = std::make_shared<LedgerEntry>();
  Outcomes outcomes;
  {
    GroupCommitter committer(&store, &metrics);
    Enqueue(committer, a, "A1", 1, outcomes);
    ASSERT_TRUE(store.WaitForWritesStarted(1));
    Enqueue(committer, a, "A2", 2, outcomes);
    Enqueue(committer, b, "B1", 1, outcomes);
    store.Complete(absl::OkStatus());
    store.Complete(absl::UnavailableError("storage: the disk is full"));
    ASSERT_TRUE(outcomes.WaitFor(3));
  }
  const std::string text = registry.Exposition();
  EXPECT_NE(text.find("microledger_host_appends_total{outcome=\"committed\",rule=\"OK\"} 1\n"),
            std::string::npos)
      << text;
  EXPECT_NE(
      text.find("microledger_host_appends_total{outcome=\"failed\",rule=\"Unavailable\"} 2\n"),
      std::string::npos)
      << text;
  // Two group writes: one of 1 append, one of 2.
  EXPECT_NE(text.find("microledger_host_commit_group_appends_count 2\n"), std::string::npos);
  EXPECT_NE(text.find("microledger_host_commit_group_appends_sum 3\n"), std::string::npos);
  EXPECT_NE(text.find("microledger_host_commit_write_seconds_count 2\n"), std::string::npos);
}

TEST(GroupCommitterTest, AppendsQueuedBehindAFailedWriteOfTheirLedgerFailToo) {
  FakeStore store;
  auto a = std::make_shared<LedgerEntry>();
  auto b = std::make_shared<LedgerEntry>();
  Outcomes outcomes;
  GroupCommitter committer(&store);
  Enqueue(committer, a, "A1", 1, outcomes);
  ASSERT_TRUE(store.WaitForWritesStarted(1));
  // Prepared against A1's state while A1's write is in flight.
  Enqueue(committer, a, "A2", 2, outcomes);
  Enqueue(committer, b, "B1", 1, outcomes);
  store.Complete(absl::UnavailableError("storage: the disk is full"));
  store.Complete(absl::OkStatus());
  ASSERT_TRUE(outcomes.WaitFor(3));
  EXPECT_EQ(outcomes.Of("A1").message(), "block 1: storage: the disk is full");
  const absl::Status behind = outcomes.Of("A2");
  EXPECT_EQ(behind.code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(behind.message(),
            "block 2: storage: an earlier block of this ledger failed to commit; "
            "nothing of this block was stored");
  EXPECT_TRUE(outcomes.Of("B1").ok());
  EXPECT_EQ(store.written(), std::vector<std::string>{"B1"});
  EXPECT_EQ(CommittedHead(*a), 0u);
  EXPECT_EQ(CommittedHead(*b), 1u);
  EXPECT_EQ(Inflight(*a), 0u);
  // An append prepared after the reload (the new epoch) commits again.
  Enqueue(committer, a, "A1 again", 1, outcomes);
  store.Complete(absl::OkStatus());
  ASSERT_TRUE(outcomes.WaitFor(4));
  EXPECT_TRUE(outcomes.Of("A1 again").ok());
  EXPECT_EQ(CommittedHead(*a), 1u);
}

TEST(GroupCommitterTest, WakesWaitersOfCommittedLedgers) {
  FakeStore store(/*auto_ok=*/true);
  auto a = std::make_shared<LedgerEntry>();
  Outcomes outcomes;
  absl::Notification woken;
  {
    absl::MutexLock lock(&a->commit_mu);
    a->waiters.emplace_back(1, [&woken] { woken.Notify(); });
  }
  GroupCommitter committer(&store);
  Enqueue(committer, a, "A1", 1, outcomes);
  ASSERT_TRUE(outcomes.WaitFor(1));
  EXPECT_TRUE(woken.WaitForNotificationWithTimeout(kWait));
  absl::MutexLock lock(&a->commit_mu);
  EXPECT_TRUE(a->waiters.empty());
}

TEST(GroupCommitterTest, TheDestructorCommitsEverythingQueued) {
  FakeStore store(/*auto_ok=*/true);
  auto a = std::make_shared<LedgerEntry>();
  Outcomes outcomes;
  {
    GroupCommitter committer(&store);
    for (int i = 1; i <= 20; ++i) Enqueue(committer, a, absl::StrCat("A", i), i, outcomes);
  }
  ASSERT_TRUE(outcomes.WaitFor(20));
  EXPECT_EQ(store.written().size(), 20u);
  EXPECT_EQ(CommittedHead(*a), 20u);
}

}  // namespace
}  // namespace microledger
