// The timed phase shared by every network scenario and the verify scenario:
// starts the workers, stops them after --total requests or --duration, and
// fills the report's counts, rate, latencies and the host's (and agent's) CPU
// per block, with one sample per 1/--windows of the run.
//
// Thread-safety: TimedRun is called from one thread; it starts `concurrency`
// worker threads (and a timer and a sampling thread) and joins them all
// before returning.
#ifndef MICROLEDGER_TOOLS_LOAD_TIMED_RUN_H_
#define MICROLEDGER_TOOLS_LOAD_TIMED_RUN_H_

#include <cstdint>
#include <functional>

#include "tools/load/options.h"
#include "tools/load/report.h"
#include "tools/load/workers.h"

namespace microledger {
namespace load {

// Runs `worker(w, stats)` for w in [0, concurrency) on threads of its own,
// after the host CPU is read, and summarises the run into `report`. `expected`
// is the number of requests the windows divide (0: no windows).
void TimedRun(const LoadOptions& options, RunControl& control, uint64_t expected,
              const std::function<void(int worker, WorkerStats& stats)>& worker,
              LoadReport& report);

}  // namespace load
}  // namespace microledger

#endif  // MICROLEDGER_TOOLS_LOAD_TIMED_RUN_H_
