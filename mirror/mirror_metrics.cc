#include "mirror/mirror_metrics.h"

namespace microledger {

MirrorMetrics::MirrorMetrics(MetricsRegistry& registry)
    : blocks_stored(registry
                        .AddCounter("microledger_mirror_blocks_stored_total",
                                    "Blocks received from upstreams, verified and stored.")
                        .WithLabels({})),
      follow_errors(registry
                        .AddCounter("microledger_mirror_follow_errors_total",
                                    "Errors followers met (each is retried with backoff).")
                        .WithLabels({})),
      reads(MakeReadMetrics(registry, "microledger_mirror_")) {}

}  // namespace microledger
