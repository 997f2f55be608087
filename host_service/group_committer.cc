#include "host_service/group_committer.h"

#include <functional>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "serving/log.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace microledger {
namespace {

absl::Status AtBlock(uint64_t number, const absl::Status& status) {
  return absl::Status(status.code(),
                      absl::StrCat("block ", number, ": ", status.message()));
}

}  // namespace

GroupCommitter::GroupCommitter(KvStore* store, HostMetrics* metrics)
    : store_(store), metrics_(metrics) {
  thread_ = std::thread([this] { Loop(); });
}

GroupCommitter::~GroupCommitter() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  thread_.join();
}

void GroupCommitter::Enqueue(std::unique_ptr<PreparedAppend> append) {
  absl::MutexLock lock(&mu_);
  queue_.push_back(std::move(append));
}

void GroupCommitter::Loop() {
  std::vector<std::unique_ptr<PreparedAppend>> group;
  while (true) {
    {
      absl::MutexLock lock(&mu_);
      auto ready = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        return !queue_.empty() || stopping_;
      };
      mu_.Await(absl::Condition(&ready));
      if (queue_.empty()) return;  // Stopping, and everything is committed.
      group.swap(queue_);
    }
    CommitGroup(group);
    group.clear();
  }
}

void GroupCommitter::CommitGroup(std::vector<std::unique_ptr<PreparedAppend>>& group) {
  // Appends behind a failed commit of their ledger fail too.
  std::vector<bool> stale(group.size(), false);
  KvBatch merged;
  size_t puts = 0;
  for (const auto& append : group) puts += append->batch.puts.size();
  merged.puts.reserve(puts);
  size_t written_count = 0;
  for (size_t i = 0; i < group.size(); ++i) {
    PreparedAppend& append = *group[i];
    if (append.epoch != append.entry->epoch.load(std::memory_order_acquire)) {
      stale[i] = true;
      continue;
    }
    ++written_count;
    for (auto& put : append.batch.puts) merged.puts.push_back(std::move(put));
  }
  const absl::Time write_start = absl::Now();
  const absl::Status written =
      written_count > 0 ? store_->Write(merged) : absl::OkStatus();
  if (metrics_ != nullptr && written_count > 0) {
    metrics_->commit_write_seconds.Observe(absl::ToDoubleSeconds(absl::Now() - write_start));
    metrics_->commit_group_appends.Observe(static_cast<double>(written_count));
  }
  if (!written.ok()) {
    failed_writes_.fetch_add(1, std::memory_order_relaxed);
    Log(LogLevel::kError, "commit_failed",
        absl::StrCat("a commit group of ", written_count,
                     " appends failed to write; each fails: ", written.message()),
        {{"appends", static_cast<int64_t>(written_count)}});
    // Reload every affected ledger from storage; fail what is queued behind.
    for (size_t i = 0; i < group.size(); ++i) {
      if (!stale[i]) group[i]->entry->epoch.fetch_add(1, std::memory_order_acq_rel);
    }
  }
  // Every committed head of the group advances before any callback runs, so
  // a reader told of block N by one callback never sees a head below N.
  std::vector<std::function<void()>> wake;
  for (size_t i = 0; i < group.size(); ++i) {
    LedgerEntry& entry = *group[i]->entry;
    absl::MutexLock lock(&entry.commit_mu);
    --entry.inflight;
    if (!stale[i] && written.ok()) {
      entry.committed_exists = true;
      entry.committed_head = group[i]->result.number;
      for (auto& w : entry.TakeWaitersLocked()) wake.push_back(std::move(w));
    }
  }
  for (auto& w : wake) w();
  for (size_t i = 0; i < group.size(); ++i) {
    PreparedAppend& append = *group[i];
    if (stale[i]) {
      const absl::Status failed = AtBlock(
          append.result.number, absl::UnavailableError("storage: an earlier block of this ledger "
                                                       "failed to commit; nothing of this block "
                                                       "was stored"));
      if (metrics_ != nullptr) metrics_->AppendFailed(failed);
      append.done(failed);
    } else if (!written.ok()) {
      const absl::Status failed =
          AtBlock(append.result.number, absl::UnavailableError(written.message()));
      if (metrics_ != nullptr) metrics_->AppendFailed(failed);
      append.done(failed);
    } else {
      if (metrics_ != nullptr) metrics_->AppendCommitted();
      append.done(std::move(append.result));
    }
  }
}

}  // namespace microledger
