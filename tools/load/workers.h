// The workers of a run and their set-up: RunControl (when a run is over),
// the unary and streaming append workers over pre-signed blocks, StreamAppend
// (one pipelined AppendStream), and the untimed set-up that creates ledgers,
// appends their genesis blocks and fills them.
//
// Thread-safety: RunControl is shared by every worker (atomics only). Each
// worker owns its WorkerStats and the DraftedLedgers OwnedLedgers gives it
// (w, w+C, w+2C, ...), so workers share no other state; StreamAppend runs a
// reader thread of its own and joins it before returning.
#ifndef MICROLEDGER_TOOLS_LOAD_WORKERS_H_
#define MICROLEDGER_TOOLS_LOAD_WORKERS_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "tools/load/channels.h"
#include "tools/load/drafting.h"
#include "tools/load/options.h"
#include "tools/load/report.h"

namespace microledger {
namespace load {

// Shared control of the timed phase.
struct RunControl {
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> done{0};     // Requests completed (for --total and windows).
  std::atomic<uint64_t> issued{0};   // Requests claimed (for --total).
  uint64_t total = 0;                // 0 = unbounded (duration).
  // Claims one request; false when the run is over.
  bool Claim() {
    if (stop.load(std::memory_order_relaxed)) return false;
    if (total == 0) return true;
    return issued.fetch_add(1, std::memory_order_relaxed) < total;
  }
};

// Creates ledgers, drafts their chains and appends each genesis block (untimed).
absl::Status SetUpLedgers(const LoadOptions& options, Channels& channels,
                          std::vector<DraftedLedger>& ledgers,
                          const std::vector<uint64_t>& blocks_per_ledger);

// Unary appends: worker w owns its OwnedLedgers and appends to them
// round-robin, one call in flight.
void UnaryAppendWorker(int worker, const LoadOptions& options, Channels& channels,
                       std::vector<DraftedLedger>& ledgers, RunControl& control,
                       WorkerStats& stats);

// Sends the blocks `next_block` returns (nullptr: no more) on one AppendStream
// of `stub` with at most `window` unanswered, recording each reply in `stats`.
void StreamAppend(HostStub& stub, size_t window, int64_t deadline_ms, RunControl& control,
                  WorkerStats& stats, const std::function<const std::string*()>& next_block);

// As StreamAppend, for whole requests (a genesis block carries its ledger
// token): sends the requests `next_request` returns (nullptr: no more); each
// needs to stay valid only until the next call.
void StreamAppendRequests(HostStub& stub, size_t window, int64_t deadline_ms,
                          RunControl& control, WorkerStats& stats,
                          const std::function<const v1::AppendRequest*()>& next_request);

// Streaming appends: worker w owns its OwnedLedgers, sends their
// blocks round-robin on one AppendStream with at most `window` unanswered.
void StreamAppendWorker(int worker, const LoadOptions& options, Channels& channels,
                        std::vector<DraftedLedger>& ledgers, RunControl& control,
                        WorkerStats& stats);

// Appends every drafted block through AppendStream (untimed set-up of stored
// ranges for read-range and proof).
absl::Status FillLedgers(const LoadOptions& options, Channels& channels,
                         std::vector<DraftedLedger>& ledgers);

}  // namespace load
}  // namespace microledger

#endif  // MICROLEDGER_TOOLS_LOAD_WORKERS_H_
