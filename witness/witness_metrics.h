// ml-witness's own metrics (prefix microledger_witness_, listed in
// docs/METRICS.md), made once from a MetricsRegistry and handed to the
// witness and its edges as a nullable pointer (null: not measured). No label
// is ever a ledger id. Thread-safe (all members are thread-safe metrics).
#ifndef MICROLEDGER_WITNESS_WITNESS_METRICS_H_
#define MICROLEDGER_WITNESS_WITNESS_METRICS_H_

#include "serving/metrics.h"

namespace microledger {

class WitnessMetrics {
 public:
  explicit WitnessMetrics(MetricsRegistry& registry);

  // One add-checkpoint answer (HTTP or gRPC), by its HTTP status code.
  void CountAnswer(int http_status);

  Counter& cosignatures;    // Checkpoints cosigned and stored.
  Counter& ledgers_frozen;  // Ledgers frozen by evidence the witness obtained.

 private:
  CounterFamily& answers_;
};

}  // namespace microledger

#endif  // MICROLEDGER_WITNESS_WITNESS_METRICS_H_
