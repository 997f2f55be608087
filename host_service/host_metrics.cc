#include "host_service/host_metrics.h"

#include <array>

#include "absl/strings/match.h"
#include "absl/strings/strip.h"
#include "absl/strings/string_view.h"

namespace microledger {

std::string AppendRuleLabel(const absl::Status& status) {
  // The rule names of common/ (block, chain and checkpoint rules) that an
  // append can break; each message starts with one.
  static constexpr std::array<absl::string_view, 21> kRules = {
      "alg",         "attachment",   "canonical form", "checkpoint", "controllers",
      "event",       "fingerprint",  "genesis event",  "header",     "host signature",
      "json",        "ledger",       "members",        "number",     "owner signatures",
      "previous",    "seals",        "signatures",     "terminal",   "threshold",
      "time"};
  absl::string_view message = status.message();
  if (absl::ConsumePrefix(&message, "block ")) {
    const size_t digits = message.find_first_not_of("0123456789");
    if (digits != 0 && digits != absl::string_view::npos &&
        absl::StartsWith(message.substr(digits), ": ")) {
      message.remove_prefix(digits + 2);
    }
  }
  const absl::string_view name = message.substr(0, message.find(": "));
  for (absl::string_view rule : kRules) {
    if (name == rule) return std::string(rule);
  }
  return StatusCodeName(static_cast<int>(status.code()));
}

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
      witness_submissions(registry.AddCounter(
          "microledger_host_witness_submissions_total",
          "Checkpoints submitted to the host's witnesses, by answer.", {"outcome"})),
      reads(MakeReadMetrics(registry, "microledger_host_")),
      appends_(registry.AddCounter("microledger_host_appends_total",
                                   "Appends answered, by outcome (committed, rejected before "
                                   "queueing, failed to store) and status code name.",
                                   {"outcome", "rule"})),
      committed_(appends_.WithLabels({"committed", "OK"})) {}

void HostMetrics::AppendRejected(const absl::Status& status) {
  appends_.WithLabels({"rejected", AppendRuleLabel(status)}).Increment();
}

void HostMetrics::AppendFailed(const absl::Status& status) {
  appends_.WithLabels({"failed", StatusCodeName(static_cast<int>(status.code()))}).Increment();
}

}  // namespace microledger
