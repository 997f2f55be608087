// A small Prometheus metrics registry (Debian 12 has no prometheus-cpp):
// counter, gauge and histogram families with fixed label names, label values
// given at use, values read by callbacks at scrape time, and the Prometheus
// text exposition format 0.0.4 (HELP and TYPE lines, escaped label values,
// histograms as _bucket{le=...} with +Inf, _sum and _count; families sorted by
// name and samples by label values, so the output is stable).
//
// Labels are for bounded sets only (a method, an outcome, a rule name): never
// a ledger id, a key or anything a client chooses freely.
//
// Thread safety: everything is thread-safe. Counter, Gauge and Histogram
// updates are lock-free atomics; finding a child by label values takes the
// family's mutex, so hot paths look a child up once and keep the pointer
// (children live as long as the registry). Registering a family that exists
// with the same type, labels (and buckets) returns it; any other clash, an
// invalid name or a wrong number of label values is a programming error and
// aborts with a message.
#ifndef MICROLEDGER_SERVING_METRICS_H_
#define MICROLEDGER_SERVING_METRICS_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"

namespace microledger {

class Counter {
 public:
  void Increment(uint64_t by = 1) { value_.fetch_add(by, std::memory_order_relaxed); }
  uint64_t value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> value_{0};
};

class Gauge {
 public:
  void Set(int64_t value) { value_.store(value, std::memory_order_relaxed); }
  void Add(int64_t delta) { value_.fetch_add(delta, std::memory_order_relaxed); }
  int64_t value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<int64_t> value_{0};
};

class Histogram {
 public:
  // `upper_bounds`: strictly increasing, finite; the +Inf bucket is implicit.
  explicit Histogram(std::vector<double> upper_bounds);

  void Observe(double value);

  struct Snapshot {
    std::vector<uint64_t> cumulative_counts;  // One per bound, then +Inf.
    double sum = 0;
  };
  Snapshot Read() const;
  const std::vector<double>& upper_bounds() const { return upper_bounds_; }

 private:
  const std::vector<double> upper_bounds_;
  // Per bucket (not cumulative), the last one above every bound.
  std::unique_ptr<std::atomic<uint64_t>[]> bucket_counts_;
  std::atomic<double> sum_{0};
};

// Latency buckets in seconds, 0.5 ms to 10 s.
std::vector<double> LatencySecondsBuckets();
// start, start*factor, ... (`count` bounds).
std::vector<double> ExponentialBuckets(double start, double factor, int count);

// The children of one metric family, one per combination of label values.
template <typename Metric>
class MetricFamily;

using CounterFamily = MetricFamily<Counter>;
using GaugeFamily = MetricFamily<Gauge>;
using HistogramFamily = MetricFamily<Histogram>;

class MetricsRegistry {
 public:
  MetricsRegistry();
  ~MetricsRegistry();
  MetricsRegistry(const MetricsRegistry&) = delete;
  MetricsRegistry& operator=(const MetricsRegistry&) = delete;

  // A counter's name ends in _total (Prometheus naming rules).
  CounterFamily& AddCounter(const std::string& name, const std::string& help,
                            std::vector<std::string> label_names = {});
  GaugeFamily& AddGauge(const std::string& name, const std::string& help,
                        std::vector<std::string> label_names = {});
  HistogramFamily& AddHistogram(const std::string& name, const std::string& help,
                                std::vector<std::string> label_names,
                                std::vector<double> upper_bounds);

  // A value read at scrape time, with no labels; nullopt omits the sample
  // (the HELP and TYPE lines stay). `read` must stay callable for the
  // registry's lifetime, or until nothing calls Exposition any more.
  using ValueReader = std::function<std::optional<double>()>;
  void AddGaugeCallback(const std::string& name, const std::string& help, ValueReader read);
  void AddCounterCallback(const std::string& name, const std::string& help, ValueReader read);

  // The text exposition format 0.0.4 of everything registered.
  std::string Exposition() const;

  class Family;

 private:
  Family& Add(std::unique_ptr<Family> family);

  mutable absl::Mutex mu_;
  std::map<std::string, std::unique_ptr<Family>> families_ ABSL_GUARDED_BY(mu_);
};

// The Content-Type of Exposition().
inline constexpr char kExpositionContentType[] = "text/plain; version=0.0.4; charset=utf-8";

// Base of every family: name, help, type, and how its samples are written.
class MetricsRegistry::Family {
 public:
  enum class Type { kCounter, kGauge, kHistogram };
  Family(std::string name, std::string help, Type type, std::vector<std::string> label_names);
  virtual ~Family() = default;

  const std::string& name() const { return name_; }
  Type type() const { return type_; }
  const std::vector<std::string>& label_names() const { return label_names_; }
  // Whether `other` (just built, not registered) describes the same family.
  virtual bool SameAs(const Family& other) const;
  // HELP, TYPE and the samples.
  void Write(std::string& out) const;

 protected:
  virtual void WriteSamples(std::string& out) const = 0;
  // `name{labels} value` for the given label names and values (plus `extra`,
  // already formatted as `name="value"`, when not empty).
  static void WriteSample(std::string& out, const std::string& name,
                          const std::vector<std::string>& label_names,
                          const std::vector<std::string>& label_values,
                          const std::string& extra, double value);

 private:
  const std::string name_;
  const std::string help_;
  const Type type_;
  const std::vector<std::string> label_names_;
};

template <typename Metric>
class MetricFamily final : public MetricsRegistry::Family {
 public:
  MetricFamily(std::string name, std::string help, Type type,
               std::vector<std::string> label_names, std::vector<double> upper_bounds = {});

  // The child with these label values (one per label name, in order), made on
  // first use. Aborts on a wrong number of values.
  Metric& WithLabels(const std::vector<std::string>& label_values);
  bool SameAs(const MetricsRegistry::Family& other) const override;

 private:
  void WriteSamples(std::string& out) const override;

  const std::vector<double> upper_bounds_;  // Histograms only.
  mutable absl::Mutex mu_;
  std::map<std::vector<std::string>, std::unique_ptr<Metric>> children_ ABSL_GUARDED_BY(mu_);
};

extern template class MetricFamily<Counter>;
extern template class MetricFamily<Gauge>;
extern template class MetricFamily<Histogram>;

// The name of a canonical status code as go-grpc-prometheus labels it ("OK",
// "Canceled", "InvalidArgument", ...; absl and gRPC number the codes alike),
// "Unknown" for a number outside 0..16. A bounded label value.
const char* StatusCodeName(int code);

// Formats a sample value the way Prometheus reads it: integers without a
// fraction, +Inf, -Inf, NaN, otherwise the shortest exact decimal.
std::string FormatMetricValue(double value);

}  // namespace microledger

#endif  // MICROLEDGER_SERVING_METRICS_H_
