#include "serving/metrics.h"

#include <cmath>
#include <limits>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"

namespace microledger {
namespace {

TEST(MetricsTest, CounterAndGaugeExposition) {
  MetricsRegistry registry;
  CounterFamily& appends =
      registry.AddCounter("test_appends_total", "Appends by outcome.", {"outcome"});
  appends.WithLabels({"rejected"}).Increment(2);
  appends.WithLabels({"committed"}).Increment();
  appends.WithLabels({"committed"}).Increment(4);
  registry.AddGauge("test_open", "Open things.").WithLabels({}).Set(-3);

  EXPECT_EQ(registry.Exposition(),
            "# HELP test_appends_total Appends by outcome.\n"
            "# TYPE test_appends_total counter\n"
            "test_appends_total{outcome=\"committed\"} 5\n"
            "test_appends_total{outcome=\"rejected\"} 2\n"
            "# HELP test_open Open things.\n"
            "# TYPE test_open gauge\n"
            "test_open -3\n");
}

TEST(MetricsTest, UnlabelledFamiliesShowZeroBeforeUse) {
  MetricsRegistry registry;
  registry.AddCounter("test_events_total", "Events.");
  EXPECT_EQ(registry.Exposition(),
            "# HELP test_events_total Events.\n"
            "# TYPE test_events_total counter\n"
            "test_events_total 0\n");
}

TEST(MetricsTest, EscapesLabelValuesAndHelp) {
  MetricsRegistry registry;
  registry.AddCounter("test_odd_total", "Back\\slash and\nnewline.", {"value"})
      .WithLabels({"a\"b\\c\nd"})
      .Increment();
  EXPECT_EQ(registry.Exposition(),
            "# HELP test_odd_total Back\\\\slash and\\nnewline.\n"
            "# TYPE test_odd_total counter\n"
            "test_odd_total{value=\"a\\\"b\\\\c\\nd\"} 1\n");
}

TEST(MetricsTest, HistogramExposition) {
  MetricsRegistry registry;
  HistogramFamily& latency =
      registry.AddHistogram("test_seconds", "Latency.", {"method"}, {0.25, 1, 2.5});
  Histogram& append = latency.WithLabels({"Append"});
  append.Observe(0.125);
  append.Observe(0.25);  // On a bound: counted in that bucket (le).
  append.Observe(2);
  append.Observe(7);

  EXPECT_EQ(registry.Exposition(),
            "# HELP test_seconds Latency.\n"
            "# TYPE test_seconds histogram\n"
            "test_seconds_bucket{method=\"Append\",le=\"0.25\"} 2\n"
            "test_seconds_bucket{method=\"Append\",le=\"1\"} 2\n"
            "test_seconds_bucket{method=\"Append\",le=\"2.5\"} 3\n"
            "test_seconds_bucket{method=\"Append\",le=\"+Inf\"} 4\n"
            "test_seconds_sum{method=\"Append\"} 9.375\n"
            "test_seconds_count{method=\"Append\"} 4\n");
}

TEST(MetricsTest, FamiliesSortedByNameAndChildrenByLabels) {
  MetricsRegistry registry;
  registry.AddGauge("zz_last", "Z.");
  CounterFamily& middle = registry.AddCounter("mm_total", "M.", {"a", "b"});
  middle.WithLabels({"y", "1"}).Increment();
  middle.WithLabels({"x", "2"}).Increment();
  middle.WithLabels({"x", "1"}).Increment();
  registry.AddGauge("aa_first", "A.");

  const std::string text = registry.Exposition();
  const size_t first = text.find("aa_first 0");
  const size_t x1 = text.find("mm_total{a=\"x\",b=\"1\"}");
  const size_t x2 = text.find("mm_total{a=\"x\",b=\"2\"}");
  const size_t y1 = text.find("mm_total{a=\"y\",b=\"1\"}");
  const size_t last = text.find("zz_last 0");
  ASSERT_NE(last, std::string::npos) << text;
  EXPECT_LT(first, x1);
  EXPECT_LT(x1, x2);
  EXPECT_LT(x2, y1);
  EXPECT_LT(y1, last);
  EXPECT_EQ(text, registry.Exposition());
}

TEST(MetricsTest, CallbacksAreReadAtScrapeTime) {
  MetricsRegistry registry;
  double bytes = 10;
  std::optional<double> missing;
  registry.AddGaugeCallback("test_size_bytes", "Size.", [&bytes] { return bytes; });
  registry.AddCounterCallback("test_cpu_seconds_total", "CPU.", [&missing] { return missing; });
  bytes = 4096;
  EXPECT_EQ(registry.Exposition(),
            "# HELP test_cpu_seconds_total CPU.\n"
            "# TYPE test_cpu_seconds_total counter\n"
            "# HELP test_size_bytes Size.\n"
            "# TYPE test_size_bytes gauge\n"
            "test_size_bytes 4096\n");
  missing = 1.5;
  EXPECT_NE(registry.Exposition().find("test_cpu_seconds_total 1.5\n"), std::string::npos);
}

TEST(MetricsTest, SameRegistrationReturnsTheSameFamily) {
  MetricsRegistry registry;
  CounterFamily& first = registry.AddCounter("test_calls_total", "Calls.", {"code"});
  CounterFamily& second = registry.AddCounter("test_calls_total", "Calls.", {"code"});
  EXPECT_EQ(&first, &second);
  EXPECT_EQ(&first.WithLabels({"OK"}), &second.WithLabels({"OK"}));
}

TEST(MetricsDeathTest, MisuseAborts) {
  MetricsRegistry registry;
  registry.AddCounter("test_calls_total", "Calls.", {"code"});
  EXPECT_DEATH(registry.AddGauge("test_calls_total", "Calls."), "registered twice");
  EXPECT_DEATH(registry.AddCounter("test_calls", "Calls."), "must end in _total");
  EXPECT_DEATH(registry.AddGauge("bad-name", "Bad."), "invalid metric name");
  EXPECT_DEATH(registry.AddHistogram("test_h", "H.", {"le"}, {1}), "invalid label name");
  EXPECT_DEATH(registry.AddCounter("test_calls_total", "Calls.", {"code"}).WithLabels({}),
               "takes 1 label values");
}

TEST(MetricsTest, FormatsValues) {
  EXPECT_EQ(FormatMetricValue(0), "0");
  EXPECT_EQ(FormatMetricValue(12345678901234.0), "12345678901234");
  EXPECT_EQ(FormatMetricValue(0.005), "0.005");
  EXPECT_EQ(FormatMetricValue(1e-9), "1e-09");
  EXPECT_EQ(FormatMetricValue(std::numeric_limits<double>::infinity()), "+Inf");
  EXPECT_EQ(FormatMetricValue(-std::numeric_limits<double>::infinity()), "-Inf");
  EXPECT_EQ(FormatMetricValue(std::nan("")), "NaN");
}

TEST(MetricsTest, ConcurrentIncrementsAreAllCounted) {
  MetricsRegistry registry;
  CounterFamily& family = registry.AddCounter("test_hits_total", "Hits.", {"worker"});
  Histogram& histogram = registry.AddHistogram("test_h", "H.", {}, {1}).WithLabels({});
  constexpr int kThreads = 4;
  constexpr int kPerThread = 10000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&family, &histogram] {
      Counter& counter = family.WithLabels({"shared"});
      for (int i = 0; i < kPerThread; ++i) {
        counter.Increment();
        histogram.Observe(2);
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(family.WithLabels({"shared"}).value(), uint64_t{kThreads * kPerThread});
  const Histogram::Snapshot snapshot = histogram.Read();
  EXPECT_EQ(snapshot.cumulative_counts.back(), uint64_t{kThreads * kPerThread});
  EXPECT_EQ(snapshot.sum, 2.0 * kThreads * kPerThread);
}

}  // namespace
}  // namespace microledger
