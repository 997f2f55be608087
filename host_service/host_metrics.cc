#include "host_service/host_metrics.h"

namespace microledger {

HostMetrics::HostMetrics(MetricsRegistry& registry)
    : commit_group_appends(
          registry
              .AddHistogram("microledger_host_commit_group_appends",
                            "Appends written together by one group commit (one WAL sync).", {},
                            ExponentialBuckets(1, 2, 12))
              .WithLabels({})),
      commit_write_seconds(
          registry
              .AddHistogram("microledger_host_commit_write_seconds",
                            "Duration of one group commit write to storage, WAL sync included.",
                            {}, LatencySecondsBuckets())
              .WithLabels({})),
      checkpoint_sign_seconds(
          registry
              .AddHistogram("microledger_host_checkpoint_sign_seconds",
                            "Duration of signing one checkpoint.", {},
                            ExponentialBuckets(0.00001, 4, 8))
              .WithLabels({})),
      reads(MakeReadMetrics(registry, "microledger_host_")),
      appends_(registry.AddCounter("microledger_host_appends_total",
                                   "Appends answered, by outcome (committed, rejected before "
                                   "queueing, failed to store) and status code name.",
                                   {"outcome", "rule"})),
      committed_(appends_.WithLabels({"committed", "OK"})) {}

void HostMetrics::AppendRejected(const absl::Status& status) {
  appends_.WithLabels({"rejected", StatusCodeName(static_cast<int>(status.code()))}).Increment();
}

void HostMetrics::AppendFailed(const absl::Status& status) {
  appends_.WithLabels({"failed", StatusCodeName(static_cast<int>(status.code()))}).Increment();
}

}  // namespace microledger
