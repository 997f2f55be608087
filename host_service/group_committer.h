// The host's group committer (internal to host_service): one thread that
// takes every prepared append queued since its last write (many ledgers, many
// blocks of one ledger) and writes them as one KvStore batch, so they share
// one WAL sync (explicit group commit). Only after the write does each
// ledger's committed head advance; then its waiters are woken and the appends'
// callbacks run, in queue order, on the committer thread.
//
// Failures are never dropped: if a group's write fails, every append of the
// group fails with the store's error (Unavailable, "block N: <error>"), no
// committed head moves, and each affected ledger's epoch is bumped, so its
// pending state is reloaded from storage on its next prepare and every append
// of it queued behind the failed group (prepared against the lost state)
// fails too ("an earlier block of this ledger failed to commit"). Each failed
// write is also logged on stderr (without ledger ids) and counted.
//
// Thread safety: Enqueue is thread-safe. The caller keeps a ledger's order by
// enqueueing its appends under the ledger's prepare mutex. The destructor
// commits everything queued, then stops the thread.
#ifndef MICROLEDGER_HOST_SERVICE_GROUP_COMMITTER_H_
#define MICROLEDGER_HOST_SERVICE_GROUP_COMMITTER_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "host_service/append_result.h"
#include "host_service/host_metrics.h"
#include "ledger_store/kv_store.h"
#include "ledger_store/ledger_entry.h"

namespace microledger {

// One prepared append: its batch, and the result its callback gets once the
// batch is on disk. The entry's `inflight` counts it until it completes.
struct PreparedAppend {
  std::shared_ptr<LedgerEntry> entry;
  // The entry's epoch when the append was prepared.
  uint64_t epoch = 0;
  KvBatch batch;
  AppendResult result;
  AppendCallback done;
};

class GroupCommitter {
 public:
  // `store` and `metrics` (may be null: nothing is counted) must outlive the
  // committer.
  explicit GroupCommitter(KvStore* store, HostMetrics* metrics = nullptr);
  ~GroupCommitter();

  GroupCommitter(const GroupCommitter&) = delete;
  GroupCommitter& operator=(const GroupCommitter&) = delete;

  void Enqueue(std::unique_ptr<PreparedAppend> append);

  // Group writes that failed since the start.
  uint64_t failed_writes() const { return failed_writes_.load(std::memory_order_relaxed); }

 private:
  void Loop();
  void CommitGroup(std::vector<std::unique_ptr<PreparedAppend>>& group);

  KvStore* const store_;
  HostMetrics* const metrics_;
  std::atomic<uint64_t> failed_writes_{0};
  absl::Mutex mu_;
  std::vector<std::unique_ptr<PreparedAppend>> queue_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace microledger

#endif  // MICROLEDGER_HOST_SERVICE_GROUP_COMMITTER_H_
