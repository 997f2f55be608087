#include "host_service/ledger_host_testing.h"

#include <algorithm>
#include <memory>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"

namespace microledger {

absl::StatusOr<AppendResult> AppendAndWait(LedgerHost& host, const AppendInput& input) {
  absl::Notification done;
  absl::StatusOr<AppendResult> out;
  host.AppendAsync(input, [&](absl::StatusOr<AppendResult> result) {
    out = std::move(result);
    done.Notify();
  });
  done.WaitForNotification();
  return out;
}

absl::Status GetBlocks(const LedgerHost& host, absl::string_view ledger_id, uint64_t from,
                       uint64_t to,
                       const std::function<bool(uint64_t, const std::string&)>& sink) {
  constexpr size_t kChunk = 256;
  absl::StatusOr<LedgerReader::BlockRange> range = host.reader().ResolveBlockRange(ledger_id, from, to);
  if (!range.ok()) return range.status();
  for (uint64_t number = range->first; number <= range->last;) {
    absl::StatusOr<std::vector<std::string>> blocks =
        host.reader().ReadBlocks(ledger_id, *range, number, kChunk);
    if (!blocks.ok()) return blocks.status();
    for (const std::string& block : *blocks) {
      if (!sink(number++, block)) return absl::OkStatus();
    }
  }
  return absl::OkStatus();
}

absl::Status Subscribe(
    LedgerHost& host, absl::string_view ledger_id, uint64_t from,
    const std::function<bool(uint64_t, const std::string&, const std::string&)>& sink,
    const std::function<bool()>& cancelled, int poll_millis) {
  absl::StatusOr<std::string> key = LedgerKeyFromId(ledger_id);
  if (!key.ok()) return key.status();
  if (from == 0) {
    return absl::InvalidArgumentError("subscribe: from_number must be at least 1");
  }
  absl::StatusOr<std::shared_ptr<CommitWatch>> watch = host.reader().WatchLedger(ledger_id);
  if (!watch.ok()) return watch.status();
  uint64_t next = from;
  std::string block, checkpoint;
  while (!cancelled()) {
    CommitWatch::Poll poll = (*watch)->PollOrWait(next - 1, nullptr);
    if (poll.head < next && !poll.forgotten) {
      // Wait for a commit (or time out to poll `cancelled`).
      auto notified = std::make_shared<absl::Notification>();
      poll = (*watch)->PollOrWait(next - 1, [notified] { notified->Notify(); });
      if (poll.registered) {
        if (!notified->WaitForNotificationWithTimeout(absl::Milliseconds(poll_millis))) {
          (*watch)->CancelWait(poll.waiter_id);
        }
        continue;
      }
    }
    if (poll.forgotten) {
      return absl::NotFoundError(absl::StrCat("ledger: ", ledger_id, " was forgotten"));
    }
    // Every block <= head is committed: the head moves only after the write.
    for (; next <= poll.head; ++next) {
      if (cancelled()) return absl::OkStatus();
      if (absl::Status s = (*watch)->Read(next, &block, &checkpoint); !s.ok()) return s;
      if (!sink(next, block, checkpoint)) return absl::OkStatus();
    }
  }
  return absl::OkStatus();
}

}  // namespace microledger
