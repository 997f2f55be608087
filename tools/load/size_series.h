// Append cost vs ledger size (--sample_sizes): fills one ledger through
// AppendStream to each sample size, its blocks drafted and signed alongside,
// waits until the host is idle, then measures a window of --sample_window
// blocks appended in the scenario's mode (host CPU per block and its RocksDB
// background part, blocks/s, host RSS).
//
// Thread-safety: RunSizeSeries is called from one thread; it starts a drafting
// and a sending thread per fill and joins them before returning.
#ifndef MICROLEDGER_TOOLS_LOAD_SIZE_SERIES_H_
#define MICROLEDGER_TOOLS_LOAD_SIZE_SERIES_H_

#include "absl/status/status.h"
#include "tools/load/options.h"
#include "tools/load/report.h"

namespace microledger {
namespace load {

// OK when `options` describe a size series ml-load can run.
absl::Status CheckSizeSeries(const LoadOptions& options);

// Append cost vs ledger size (see load.h): fills one ledger to each sample
// size, then measures `sample_window` blocks appended in the scenario's mode.
absl::Status RunSizeSeries(const LoadOptions& options, LoadReport& report);
}  // namespace load
}  // namespace microledger

#endif  // MICROLEDGER_TOOLS_LOAD_SIZE_SERIES_H_
