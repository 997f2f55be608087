// Watches of a ledger's committed head, for asynchronous subscribers (the
// Subscribe stream of host_grpc_service): poll the head, or register a waiter
// that the GroupCommitter (or a forget) wakes when the head moves, and read
// committed blocks with their checkpoints.
//
// Thread safety: a CommitWatch is thread-safe; waiters live in the ledger's
// LedgerEntry under its commit_mu and run without host locks held.
#ifndef MICROLEDGER_LEDGER_STORE_COMMIT_WATCH_H_
#define MICROLEDGER_LEDGER_STORE_COMMIT_WATCH_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "ledger_store/kv_store.h"
#include "ledger_store/ledger_entry.h"

namespace microledger {

class CommitWatch {
 public:
  virtual ~CommitWatch() = default;
  struct Poll {
    uint64_t head = 0;        // The committed head number.
    bool forgotten = false;   // The ledger was forgotten since the watch opened.
    bool registered = false;  // `wake` was registered (see below).
    uint64_t waiter_id = 0;
  };
  // The committed head. If it is <= `seen` and the ledger was not forgotten,
  // registers `wake` to run once, on the committing thread and without host
  // locks held, when either changes (registered = true).
  virtual Poll PollOrWait(uint64_t seen, std::function<void()> wake) = 0;
  // Removes a registered waiter; true if it was still registered (then `wake`
  // will never run).
  virtual bool CancelWait(uint64_t waiter_id) = 0;
  // Block `number` and the checkpoint of that tree size (committed only).
  // NotFound if the ledger was forgotten meanwhile.
  virtual absl::Status Read(uint64_t number, std::string* block,
                            std::string* checkpoint) const = 0;
};

// A watch of the ledger of `entry` (loaded, existing), which saw
// `forget_count` forgets when it opened. `store` must outlive the watch.
std::shared_ptr<CommitWatch> NewCommitWatch(const KvStore* store,
                                            std::shared_ptr<LedgerEntry> entry,
                                            std::string ledger_id, std::string ledger_key,
                                            uint64_t forget_count);

}  // namespace microledger

#endif  // MICROLEDGER_LEDGER_STORE_COMMIT_WATCH_H_
