// ml-load: a ghz-like load generator for the Micro Ledger host (and owner
// agent). RunLoad sets up (ledgers, pre-signed blocks, stored ranges) before
// the clock starts, runs one scenario with `concurrency` workers until `total`
// requests are done or `duration` has passed, and returns a LoadReport:
// counts, rate, latency percentiles, status-code counts and, for appends, the
// host's CPU per block (from /proc/PID/stat) beside the libsodium floor (one
// Ed25519 sign + one verify, measured in the same run).
//
// Scenarios:
//   host-append         unary Append of pre-drafted, owner-signed blocks
//   host-append-stream  AppendStream, pipelined (window per stream)
//   agent-append        OwnerAgent AppendEvent, end to end (--addr = the agent;
//                       ledgers created through the agent, untimed; with
//                       --agent_pid the agent's CPU per block too)
//   read-range          GetBlocks over stored ranges (blocks/s)
//   proof               GetInclusionProof of random blocks
//   verify              in-process VerifyBundle of a large bundle (mlctl verify)
//   many-ledgers        --ledgers ledgers of two blocks each on one host; at each
//                       count of --sample_sizes: idle host CPU, unary append
//                       latency to random ledgers, host RSS, bytes on disk
//                       (many_ledgers.h)
//
// Append cost vs ledger size (host-append / host-append-stream with
// --sample_sizes): one ledger is filled through AppendStream to each of the
// sizes in turn, its blocks drafted and owner-signed in chunks while the
// stream runs (times near the host's clock, client memory bounded however
// large the ledger grows); at each size a window of `sample_window` blocks,
// drafted before its clock starts, is appended in the scenario's mode and
// measured: host CPU per block (and the part of it in RocksDB's background
// threads), blocks/s and host RSS (VmRSS, VmHWM).
//
#ifndef MICROLEDGER_TOOLS_LOAD_LOAD_H_
#define MICROLEDGER_TOOLS_LOAD_LOAD_H_

#include "absl/status/statusor.h"
#include "tools/load/floor.h"
#include "tools/load/options.h"
#include "tools/load/process_stats.h"
#include "tools/load/report.h"

namespace microledger {
namespace load {

absl::StatusOr<LoadReport> RunLoad(const LoadOptions& options);

}  // namespace load
}  // namespace microledger

#endif  // MICROLEDGER_TOOLS_LOAD_LOAD_H_
