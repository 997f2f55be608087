// The scenarios of a plain run (see load.h): each sets up untimed, runs the
// timed phase (TimedRun) and fills `report`. host-append and
// host-append-stream with --sample_sizes are in size_series.h instead.
//
// Thread-safety: each Run* is called from one thread and joins every thread
// it starts before returning.
#ifndef MICROLEDGER_TOOLS_LOAD_SCENARIOS_H_
#define MICROLEDGER_TOOLS_LOAD_SCENARIOS_H_

#include "absl/status/status.h"
#include "tools/load/options.h"
#include "tools/load/report.h"

namespace microledger {
namespace load {

// host-append, host-append-stream: pre-signed blocks spread over --ledgers,
// one writer per ledger.
absl::Status RunAppend(const LoadOptions& options, LoadReport& report);

// End to end through the owner agent: --ledgers ledgers are created through
// the agent's CreateLedger with one agent key (untimed); in the timed phase
// each worker calls AppendEvent on its ledgers round-robin, one call in
// flight. With more workers than ledgers several workers share a ledger (the
// agent orders and pipelines their blocks).
absl::Status RunAgentAppend(const LoadOptions& options, LoadReport& report);

// One ledger (per worker), bulk: each worker creates a ledger through the
// agent (untimed) and streams --total / --concurrency events into it through
// one AppendEvents call, --events_per_message per message; the clock runs
// until every stream's summary is in. Blocks/s counts the blocks the
// summaries report appended; there is no per-block latency (one answer per
// stream).
absl::Status RunAgentBulk(const LoadOptions& options, LoadReport& report);

// read-range, proof: GetBlocks over stored ranges, or GetInclusionProof of
// random blocks, of ledgers filled before the clock starts.
absl::Status RunRead(const LoadOptions& options, LoadReport& report);

// verify: in-process VerifyBundle of a bundle (generated, untimed, unless
// --bundle names one).
absl::Status RunVerify(const LoadOptions& options, LoadReport& report);

}  // namespace load
}  // namespace microledger

#endif  // MICROLEDGER_TOOLS_LOAD_SCENARIOS_H_
