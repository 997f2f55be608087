#include "owner_agent/agent_metrics.h"

namespace microledger {
namespace {

// Codes that say the request itself was refused, not that something failed.
bool RefusesRequest(absl::StatusCode code) {
  switch (code) {
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kNotFound:
    case absl::StatusCode::kAlreadyExists:
    case absl::StatusCode::kPermissionDenied:
    case absl::StatusCode::kUnauthenticated:
    case absl::StatusCode::kFailedPrecondition:
    case absl::StatusCode::kOutOfRange:
    case absl::StatusCode::kResourceExhausted:
      return true;
    default:
      return false;
  }
}

}  // namespace

AgentMetrics::AgentMetrics(MetricsRegistry& registry)
    : host_replies_rejected(
          registry
              .AddCounter("microledger_agent_host_replies_rejected_total",
                          "Host replies to appends that failed the agent's verification.")
              .WithLabels({})),
      equivocations_detected(registry
                                 .AddCounter("microledger_agent_equivocations_detected_total",
                                             "Host equivocations the agent detected.")
                                 .WithLabels({})),
      registry_write_failures(
          registry
              .AddCounter("microledger_agent_registry_write_failures_total",
                          "Writes to the ledger registry (records, head log, evidence) that failed.")
              .WithLabels({})),
      appends_(registry.AddCounter("microledger_agent_appends_total",
                                   "AppendEvent calls answered, by outcome (committed, rejected "
                                   "request, failed) and status code name.",
                                   {"outcome", "rule"})),
      committed_(appends_.WithLabels({"committed", "OK"})) {}

void AgentMetrics::AppendAnswered(const absl::Status& status) {
  if (status.ok()) {
    committed_.Increment();
    return;
  }
  appends_
      .WithLabels({RefusesRequest(status.code()) ? "rejected" : "failed",
                   StatusCodeName(static_cast<int>(status.code()))})
      .Increment();
}

}  // namespace microledger
