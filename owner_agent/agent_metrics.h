// The owner agent's own metrics (prefix microledger_agent_, listed in
// docs/METRICS.md), made once from a MetricsRegistry and handed to the
// components as a nullable pointer (null: not measured). No label is ever a
// ledger id. Thread-safe (all members are thread-safe metrics).
#ifndef MICROLEDGER_OWNER_AGENT_AGENT_METRICS_H_
#define MICROLEDGER_OWNER_AGENT_AGENT_METRICS_H_

#include "absl/status/status.h"
#include "serving/metrics.h"

namespace microledger {

class AgentMetrics {
 public:
  explicit AgentMetrics(MetricsRegistry& registry);

  // microledger_agent_appends_total{outcome, rule}: outcome committed,
  // rejected (the request was refused: a code that blames the request) or
  // failed (the host, the network or storage failed); rule is the status
  // code name, a bounded set.
  void AppendAnswered(const absl::Status& status);

  Counter& host_replies_rejected;  // A host reply that failed verification.
  Counter& equivocations_detected;
  Counter& registry_write_failures;  // A ledger record that could not be saved.

 private:
  CounterFamily& appends_;
  Counter& committed_;
};

}  // namespace microledger

#endif  // MICROLEDGER_OWNER_AGENT_AGENT_METRICS_H_
