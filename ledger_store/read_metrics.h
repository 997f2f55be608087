// Counters of the read side shared by the host and the mirror
// (LedgerReadService), under the prefix of the service that reads:
// PREFIX_proof_reads_total{kind="inclusion|consistency"} and
// PREFIX_blocks_read_total (blocks sent by GetBlocks range reads).
// Thread-safe (the counters are atomics); the registry must outlive them.
#ifndef MICROLEDGER_LEDGER_STORE_READ_METRICS_H_
#define MICROLEDGER_LEDGER_STORE_READ_METRICS_H_

#include <string>

#include "serving/metrics.h"

namespace microledger {

struct ReadMetrics {
  Counter* inclusion_proofs = nullptr;
  Counter* consistency_proofs = nullptr;
  Counter* block_range_reads = nullptr;
  Counter* blocks_read = nullptr;
};

// `prefix`: "microledger_host_" or "microledger_mirror_".
ReadMetrics MakeReadMetrics(MetricsRegistry& registry, const std::string& prefix);

}  // namespace microledger

#endif  // MICROLEDGER_LEDGER_STORE_READ_METRICS_H_
