// The host's own metrics (prefix microledger_host_, listed in
// docs/METRICS.md), made once from a MetricsRegistry and handed to the
// components as a nullable pointer (null: not measured). Hot paths touch only
// the atomics of children looked up here; no label is ever a ledger id.
// Thread-safe (all members are thread-safe metrics).
#ifndef MICROLEDGER_HOST_SERVICE_HOST_METRICS_H_
#define MICROLEDGER_HOST_SERVICE_HOST_METRICS_H_

#include <string>

#include "absl/status/status.h"
#include "ledger_store/read_metrics.h"
#include "serving/metrics.h"

namespace microledger {

// The `rule` label of a refused append: the rule name that starts its message
// ("block 7: previous: ..." gives "previous") when it is one of the SPEC rules
// the host checks, else the status code name ("ResourceExhausted"), so the
// label's values stay a small fixed set whatever a message says.
std::string AppendRuleLabel(const absl::Status& status);

class HostMetrics {
 public:
  explicit HostMetrics(MetricsRegistry& registry);

  // microledger_host_appends_total{outcome, rule}: for a rejected append the
  // SPEC rule it broke (AppendRuleLabel), otherwise the status code name of
  // the answer (OK for committed ones); a bounded set.
  void AppendCommitted() { committed_.Increment(); }
  void AppendRejected(const absl::Status& status);  // Refused before queueing.
  void AppendFailed(const absl::Status& status);    // Queued, but not stored.

  Histogram& commit_group_appends;  // Appends per group write.
  Histogram& commit_write_seconds;  // One group write, WAL sync included.
  Histogram& checkpoint_sign_seconds;
  // microledger_host_witness_submissions_total{outcome}: checkpoints sent to
  // witnesses, by answer (WitnessSubmitter).
  CounterFamily& witness_submissions;
  // Reads of the shared read side (ledger_store).
  const ReadMetrics reads;

 private:
  CounterFamily& appends_;
  Counter& committed_;
};

}  // namespace microledger

#endif  // MICROLEDGER_HOST_SERVICE_HOST_METRICS_H_
