#include "witness/witness_metrics.h"

#include <string>

namespace microledger {

WitnessMetrics::WitnessMetrics(MetricsRegistry& registry)
    : cosignatures(registry
                       .AddCounter("microledger_witness_cosignatures_total",
                                   "Checkpoints cosigned and stored.")
                       .WithLabels({})),
      ledgers_frozen(registry
                         .AddCounter("microledger_witness_ledgers_frozen_total",
                                     "Ledgers frozen by equivocation evidence the witness "
                                     "obtained (never cosigned again).")
                         .WithLabels({})),
      answers_(registry.AddCounter("microledger_witness_add_checkpoint_total",
                                   "add-checkpoint requests (HTTP and gRPC) by the HTTP status "
                                   "code of their answer.",
                                   {"code"})) {}

void WitnessMetrics::CountAnswer(int http_status) {
  answers_.WithLabels({std::to_string(http_status)}).Increment();
}

}  // namespace microledger
