// The many-ledgers scenario (issue #16, "a million ledgers per host"): fills
// one ml-host with --ledgers ledgers of two blocks each (CreateLedger, then
// the owner-signed genesis block and one more, pipelined over --concurrency
// AppendStreams with --window unanswered each; blocks drafted and signed by
// the stream threads as they go, so client memory stays bounded), and at each
// ledger count of --sample_sizes (and at --ledgers), once the host is idle:
// the host's CPU over --idle_seconds with no request, then --sample_window
// unary appends (one in flight) of one more block to distinct random ledgers
// (so the host's ledger cache misses as in real life), each followed by one
// to a hot ledger (always cached: the same moment's reference, so the
// machine's load cancels out of the ratio), with their p50/p99, the host's
// RSS (VmRSS, VmHWM) and, with --host_data_dir, its bytes on disk.
//
// Thread-safety: RunManyLedgers is called from one thread; it starts
// --concurrency stream threads per fill and joins them before returning.
#ifndef MICROLEDGER_TOOLS_LOAD_MANY_LEDGERS_H_
#define MICROLEDGER_TOOLS_LOAD_MANY_LEDGERS_H_

#include "absl/status/status.h"
#include "tools/load/options.h"
#include "tools/load/report.h"

namespace microledger {
namespace load {

// OK when `options` describe a many-ledgers run ml-load can do.
absl::Status CheckManyLedgers(const LoadOptions& options);

absl::Status RunManyLedgers(const LoadOptions& options, LoadReport& report);

}  // namespace load
}  // namespace microledger

#endif  // MICROLEDGER_TOOLS_LOAD_MANY_LEDGERS_H_
