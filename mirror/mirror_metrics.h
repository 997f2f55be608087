// The mirror's own metrics (prefix microledger_mirror_, listed in
// docs/METRICS.md), made once from a MetricsRegistry and handed to the
// followers and the read service as a nullable pointer (null: not measured).
// No label is ever a ledger id. Thread-safe (all members are thread-safe
// metrics).
#ifndef MICROLEDGER_MIRROR_MIRROR_METRICS_H_
#define MICROLEDGER_MIRROR_MIRROR_METRICS_H_

#include "ledger_store/read_metrics.h"
#include "serving/metrics.h"

namespace microledger {

struct MirrorMetrics {
  explicit MirrorMetrics(MetricsRegistry& registry);

  Counter& blocks_stored;  // Followed blocks verified and stored.
  Counter& follow_errors;  // Errors a follower met (it retries).
  const ReadMetrics reads;
};

}  // namespace microledger

#endif  // MICROLEDGER_MIRROR_MIRROR_METRICS_H_
