#include "ledger_store/read_metrics.h"

namespace microledger {

ReadMetrics MakeReadMetrics(MetricsRegistry& registry, const std::string& prefix) {
  CounterFamily& proofs = registry.AddCounter(prefix + "proof_reads_total",
                                              "Merkle proofs served, by kind.", {"kind"});
  ReadMetrics metrics;
  metrics.inclusion_proofs = &proofs.WithLabels({"inclusion"});
  metrics.consistency_proofs = &proofs.WithLabels({"consistency"});
  metrics.block_range_reads =
      &registry.AddCounter(prefix + "block_range_reads_total", "GetBlocks range reads started.")
           .WithLabels({});
  metrics.blocks_read =
      &registry.AddCounter(prefix + "blocks_read_total", "Blocks sent by GetBlocks range reads.")
           .WithLabels({});
  return metrics;
}

}  // namespace microledger
