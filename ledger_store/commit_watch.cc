#include "ledger_store/commit_watch.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "ledger_store/storage_layout.h"

namespace microledger {
namespace {

class LedgerCommitWatch : public CommitWatch {
 public:
  LedgerCommitWatch(const KvStore* store, std::shared_ptr<LedgerEntry> entry,
                    std::string ledger_id, std::string ledger_key, uint64_t forget_count)
      : store_(store),
        entry_(std::move(entry)),
        ledger_id_(std::move(ledger_id)),
        ledger_key_(std::move(ledger_key)),
        forget_count_(forget_count) {}

  Poll PollOrWait(uint64_t seen, std::function<void()> wake) override {
    Poll poll;
    LedgerEntry& entry = *entry_;
    absl::MutexLock lock(&entry.commit_mu);
    poll.forgotten = entry.forget_count != forget_count_;
    poll.head = entry.committed_head;
    if (!poll.forgotten && poll.head <= seen && wake) {
      poll.registered = true;
      poll.waiter_id = ++entry.next_waiter;
      entry.waiters.emplace_back(poll.waiter_id, std::move(wake));
    }
    return poll;
  }

  bool CancelWait(uint64_t waiter_id) override {
    LedgerEntry& entry = *entry_;
    absl::MutexLock lock(&entry.commit_mu);
    auto& waiters = entry.waiters;
    for (auto it = waiters.begin(); it != waiters.end(); ++it) {
      if (it->first == waiter_id) {
        waiters.erase(it);
        return true;
      }
    }
    return false;
  }

  absl::Status Read(uint64_t number, std::string* block,
                    std::string* checkpoint) const override {
    absl::StatusOr<std::string> b = store_->Get(BlockKey(ledger_key_, number));
    absl::StatusOr<std::string> c = store_->Get(CheckpointKey(ledger_key_, number));
    if (absl::IsNotFound(b.status()) || absl::IsNotFound(c.status())) {
      return absl::NotFoundError(absl::StrCat("ledger: ", ledger_id_, " was forgotten"));
    }
    if (!b.ok()) return b.status();
    if (!c.ok()) return c.status();
    *block = *std::move(b);
    *checkpoint = *std::move(c);
    return absl::OkStatus();
  }

 private:
  const KvStore* const store_;
  const std::shared_ptr<LedgerEntry> entry_;
  const std::string ledger_id_;
  const std::string ledger_key_;
  const uint64_t forget_count_;
};

}  // namespace

std::shared_ptr<CommitWatch> NewCommitWatch(const KvStore* store,
                                            std::shared_ptr<LedgerEntry> entry,
                                            std::string ledger_id, std::string ledger_key,
                                            uint64_t forget_count) {
  return std::make_shared<LedgerCommitWatch>(store, std::move(entry), std::move(ledger_id),
                                             std::move(ledger_key), forget_count);
}

}  // namespace microledger
