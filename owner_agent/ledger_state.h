// Internal to owner_agent/: the agent's in-memory state of one ledger and of
// one append in flight, shared by the OwnerAgent facade, the append pipeline
// and the host auditor. Not part of the agent's interface.
//
// Thread safety: every mutable member is guarded by the struct's own `mu`;
// helpers that read or change them say so with
// ABSL_EXCLUSIVE_LOCKS_REQUIRED(ledger.mu). A ledger's mutex is taken before
// a PendingAppend's, never the other way round.
#ifndef MICROLEDGER_OWNER_AGENT_LEDGER_STATE_H_
#define MICROLEDGER_OWNER_AGENT_LEDGER_STATE_H_

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "common/chain_validator.h"
#include "common/merkle.h"
#include "microledger/v1/owner.pb.h"
#include "owner_agent/host_client.h"
#include "owner_agent/ledger_registry.h"

namespace microledger {

// Always owned by a shared_ptr (OwnerAgent::NewLedger).
struct LedgerState : std::enable_shared_from_this<LedgerState> {
  absl::Mutex mu;
  LedgerRecord record ABSL_GUARDED_BY(mu);  // The verified head.
  MerkleFrontier frontier ABSL_GUARDED_BY(mu);
  ChainState drafted ABSL_GUARDED_BY(mu);  // Verified + in flight.
  // Bumped whenever `drafted` is reset to the verified head, so that a late
  // failure of an older draft does not reset a newer one.
  uint64_t draft_epoch ABSL_GUARDED_BY(mu) = 0;
  int inflight ABSL_GUARDED_BY(mu) = 0;
  // Re-read the head from the host before the next block.
  bool needs_sync ABSL_GUARDED_BY(mu) = true;
  // False while CosignBlock checks a proposal for a ledger the agent does
  // not know yet: nothing of it is saved until the checks pass.
  bool saved_in_registry ABSL_GUARDED_BY(mu) = true;
  // The complete host-signed head block when this process verified it ("" =
  // not at hand): one side of a SPEC §11 `blocks` object.
  std::string head_block ABSL_GUARDED_BY(mu);
  // The evidence id a server's GetLedger named (frozen = true) when it
  // served no valid evidence: writes are refused until a sync says
  // otherwise; never saved.
  std::string server_frozen_id ABSL_GUARDED_BY(mu);
};

// For LedgerState::mu.Await: no append of the ledger is in flight. Await
// evaluates it with the mutex held.
inline bool NoneInflight(LedgerState* ledger) ABSL_EXCLUSIVE_LOCKS_REQUIRED(ledger->mu) {
  return ledger->inflight == 0;
}

using CommittedCallback = std::function<void(absl::StatusOr<v1::CommittedBlock>)>;

// One block sent to a host and not answered yet.
// When the verified head after an ordinary block goes to disk.
enum class HeadSave {
  // Before the append is reported (RecordFlusher::SaveHead).
  kBeforeReport,
  // At the next RecordFlusher::Flush, which the caller runs before it
  // reports the append (AppendEvents: one flush per stream).
  kAtFlush,
};

struct PendingAppend {
  absl::Mutex mu;
  bool done ABSL_GUARDED_BY(mu) = false;
  // The outcome, for a waiting caller (no `on_done`).
  absl::StatusOr<v1::CommittedBlock> result ABSL_GUARDED_BY(mu);
  // Async appends: the outcome goes here, once; the watchdog sets timed_out
  // after `deadline` and cancels the host stream.
  CommittedCallback on_done ABSL_GUARDED_BY(mu);
  bool timed_out ABSL_GUARDED_BY(mu) = false;
  std::chrono::steady_clock::time_point deadline ABSL_GUARDED_BY(mu);
  // Set before the block is submitted, constant afterwards.
  std::shared_ptr<HostClient> host;
  HeadSave head_save = HeadSave::kBeforeReport;
};

}  // namespace microledger

#endif  // MICROLEDGER_OWNER_AGENT_LEDGER_STATE_H_
