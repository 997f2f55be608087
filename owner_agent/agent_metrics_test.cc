#include "owner_agent/agent_metrics.h"

#include <string>

#include "absl/status/status.h"
#include "gtest/gtest.h"
#include "serving/metrics.h"

namespace microledger {
namespace {

TEST(AgentMetricsTest, AppendsByOutcomeAndCode) {
  MetricsRegistry registry;
  AgentMetrics metrics(registry);
  metrics.AppendAnswered(absl::OkStatus());
  metrics.AppendAnswered(absl::OkStatus());
  metrics.AppendAnswered(absl::FailedPreconditionError("ledger: closed"));
  metrics.AppendAnswered(absl::UnavailableError("host: unreachable"));
  metrics.AppendAnswered(absl::DataLossError("host equivocation"));
  const std::string text = registry.Exposition();
  for (const char* line :
       {"microledger_agent_appends_total{outcome=\"committed\",rule=\"OK\"} 2\n",
        "microledger_agent_appends_total{outcome=\"rejected\",rule=\"FailedPrecondition\"} 1\n",
        "microledger_agent_appends_total{outcome=\"failed\",rule=\"Unavailable\"} 1\n",
        "microledger_agent_appends_total{outcome=\"failed\",rule=\"DataLoss\"} 1\n",
        "microledger_agent_host_replies_rejected_total 0\n",
        "microledger_agent_equivocations_detected_total 0\n",
        "microledger_agent_registry_write_failures_total 0\n"}) {
    EXPECT_NE(text.find(line), std::string::npos) << line << text;
  }
  // Status messages may name ledgers: they never become labels.
  EXPECT_EQ(text.find("closed"), std::string::npos);
}

}  // namespace
}  // namespace microledger
