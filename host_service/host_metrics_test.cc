#include "host_service/host_metrics.h"

#include <string>

#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "serving/metrics.h"

namespace microledger {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

TEST(AppendRuleLabelTest, TheRuleThatStartsTheMessageAfterTheBlockNumber) {
  EXPECT_EQ(AppendRuleLabel(absl::FailedPreconditionError("block 7: previous: expected u…")),
            "previous");
  EXPECT_EQ(AppendRuleLabel(absl::InvalidArgumentError("canonical form: not JCS")),
            "canonical form");
  EXPECT_EQ(AppendRuleLabel(absl::FailedPreconditionError("block 12: owner signatures: 1 of 2")),
            "owner signatures");
}

TEST(AppendRuleLabelTest, AnythingElseIsTheStatusCodeName) {
  // A quoted event name or any other text never becomes a label value.
  EXPECT_EQ(AppendRuleLabel(absl::FailedPreconditionError("block 3: event \"x\": not allowed")),
            "FailedPrecondition");
  EXPECT_EQ(AppendRuleLabel(absl::ResourceExhaustedError("--max_concurrent_appends: 4096")),
            "ResourceExhausted");
  EXPECT_EQ(AppendRuleLabel(absl::NotFoundError("ledger jlinx:uABC is unknown")), "NotFound");
  EXPECT_EQ(AppendRuleLabel(absl::InvalidArgumentError("block : previous: x")), "InvalidArgument");
  EXPECT_EQ(AppendRuleLabel(absl::InvalidArgumentError("")), "InvalidArgument");
}

TEST(HostMetricsTest, RejectedAppendsAreCountedByRuleAndCommittedOnesAsOk) {
  MetricsRegistry registry;
  HostMetrics metrics(registry);
  metrics.AppendCommitted();
  metrics.AppendRejected(absl::FailedPreconditionError("block 2: time: goes back"));
  metrics.AppendFailed(absl::UnavailableError("storage: write failed"));
  const std::string text = registry.Exposition();
  EXPECT_THAT(text, HasSubstr("microledger_host_appends_total{outcome=\"committed\",rule=\"OK\"} 1"));
  EXPECT_THAT(text, HasSubstr("microledger_host_appends_total{outcome=\"rejected\",rule=\"time\"} 1"));
  EXPECT_THAT(text,
              HasSubstr("microledger_host_appends_total{outcome=\"failed\",rule=\"Unavailable\"} 1"));
  EXPECT_THAT(text, Not(HasSubstr("goes back")));
}

}  // namespace
}  // namespace microledger
