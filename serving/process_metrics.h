// The standard Prometheus process metrics, read from /proc/self at scrape
// time (Linux): process_cpu_seconds_total, process_resident_memory_bytes,
// process_virtual_memory_bytes, process_open_fds, process_max_fds and
// process_start_time_seconds. A value that cannot be read is left out of the
// scrape. Thread-safe (each scrape reads /proc afresh).
#ifndef MICROLEDGER_SERVING_PROCESS_METRICS_H_
#define MICROLEDGER_SERVING_PROCESS_METRICS_H_

#include "serving/metrics.h"

namespace microledger {

// Registers the process metrics of this process in `registry` (once per
// registry).
void AddProcessMetrics(MetricsRegistry& registry);

}  // namespace microledger

#endif  // MICROLEDGER_SERVING_PROCESS_METRICS_H_
