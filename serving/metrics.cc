#include "serving/metrics.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace microledger {
namespace {

[[noreturn]] void Die(const std::string& message) {
  std::fprintf(stderr, "metrics: %s\n", message.c_str());
  std::abort();
}

bool ValidName(const std::string& name, bool allow_colon) {
  if (name.empty()) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    const bool ok = absl::ascii_isalpha(c) || c == '_' || (allow_colon && c == ':') ||
                    (i > 0 && absl::ascii_isdigit(c));
    if (!ok) return false;
  }
  return true;
}

void CheckNames(const std::string& name, const std::vector<std::string>& label_names,
                bool histogram) {
  if (!ValidName(name, /*allow_colon=*/true)) Die(absl::StrCat("invalid metric name ", name));
  for (const std::string& label : label_names) {
    if (!ValidName(label, /*allow_colon=*/false) || absl::StartsWith(label, "__") ||
        (histogram && label == "le")) {
      Die(absl::StrCat("invalid label name ", label, " of ", name));
    }
  }
}

// HELP text: backslash and newline escaped.
std::string EscapeHelp(const std::string& help) {
  std::string out;
  for (const char c : help) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

// Label values: backslash, double quote and newline escaped.
std::string EscapeLabelValue(const std::string& value) {
  std::string out;
  for (const char c : value) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

const char* TypeName(MetricsRegistry::Family::Type type) {
  switch (type) {
    case MetricsRegistry::Family::Type::kCounter:
      return "counter";
    case MetricsRegistry::Family::Type::kGauge:
      return "gauge";
    case MetricsRegistry::Family::Type::kHistogram:
      return "histogram";
  }
  return "untyped";
}

double AsDouble(const Counter& counter) { return static_cast<double>(counter.value()); }
double AsDouble(const Gauge& gauge) { return static_cast<double>(gauge.value()); }

// A family with one unlabelled sample read at scrape time.
class CallbackFamily final : public MetricsRegistry::Family {
 public:
  CallbackFamily(std::string name, std::string help, Type type, MetricsRegistry::ValueReader read)
      : Family(std::move(name), std::move(help), type, {}), read_(std::move(read)) {}

  bool SameAs(const Family&) const override { return false; }

 private:
  void WriteSamples(std::string& out) const override {
    if (const std::optional<double> value = read_(); value.has_value()) {
      WriteSample(out, name(), {}, {}, "", *value);
    }
  }

  const MetricsRegistry::ValueReader read_;
};

}  // namespace

const char* StatusCodeName(int code) {
  static constexpr const char* kNames[] = {
      "OK",         "Canceled",          "Unknown",            "InvalidArgument",
      "DeadlineExceeded", "NotFound",    "AlreadyExists",      "PermissionDenied",
      "ResourceExhausted", "FailedPrecondition", "Aborted",    "OutOfRange",
      "Unimplemented", "Internal",       "Unavailable",        "DataLoss",
      "Unauthenticated"};
  return code >= 0 && code < 17 ? kNames[code] : "Unknown";
}

std::string FormatMetricValue(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  if (value == std::floor(value) && std::fabs(value) < 9007199254740992.0) {
    return absl::StrCat(static_cast<int64_t>(value));
  }
  char text[32];
  for (int precision = 1; precision <= 17; ++precision) {
    std::snprintf(text, sizeof text, "%.*g", precision, value);
    if (std::strtod(text, nullptr) == value) break;
  }
  return text;
}

Histogram::Histogram(std::vector<double> upper_bounds)
    : upper_bounds_(std::move(upper_bounds)),
      bucket_counts_(new std::atomic<uint64_t>[upper_bounds_.size() + 1]) {
  for (size_t i = 0; i < upper_bounds_.size(); ++i) {
    if (!std::isfinite(upper_bounds_[i]) || (i > 0 && upper_bounds_[i] <= upper_bounds_[i - 1])) {
      Die("histogram bounds must be finite and strictly increasing");
    }
  }
  for (size_t i = 0; i <= upper_bounds_.size(); ++i) bucket_counts_[i].store(0);
}

void Histogram::Observe(double value) {
  size_t bucket = 0;
  while (bucket < upper_bounds_.size() && value > upper_bounds_[bucket]) ++bucket;
  bucket_counts_[bucket].fetch_add(1, std::memory_order_relaxed);
  double sum = sum_.load(std::memory_order_relaxed);
  while (!sum_.compare_exchange_weak(sum, sum + value, std::memory_order_relaxed)) {
  }
}

Histogram::Snapshot Histogram::Read() const {
  Snapshot snapshot;
  uint64_t total = 0;
  for (size_t i = 0; i <= upper_bounds_.size(); ++i) {
    total += bucket_counts_[i].load(std::memory_order_relaxed);
    snapshot.cumulative_counts.push_back(total);
  }
  snapshot.sum = sum_.load(std::memory_order_relaxed);
  return snapshot;
}

std::vector<double> LatencySecondsBuckets() {
  return {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
}

std::vector<double> ExponentialBuckets(double start, double factor, int count) {
  std::vector<double> bounds;
  double bound = start;
  for (int i = 0; i < count; ++i) {
    bounds.push_back(bound);
    bound *= factor;
  }
  return bounds;
}

MetricsRegistry::Family::Family(std::string name, std::string help, Type type,
                                std::vector<std::string> label_names)
    : name_(std::move(name)),
      help_(std::move(help)),
      type_(type),
      label_names_(std::move(label_names)) {
  CheckNames(name_, label_names_, type_ == Type::kHistogram);
  if (type_ == Type::kCounter && !absl::EndsWith(name_, "_total")) {
    Die(absl::StrCat("counter ", name_, " must end in _total"));
  }
}

bool MetricsRegistry::Family::SameAs(const Family& other) const {
  return name_ == other.name_ && type_ == other.type_ && label_names_ == other.label_names_;
}

void MetricsRegistry::Family::Write(std::string& out) const {
  absl::StrAppend(&out, "# HELP ", name_, " ", EscapeHelp(help_), "\n");
  absl::StrAppend(&out, "# TYPE ", name_, " ", TypeName(type_), "\n");
  WriteSamples(out);
}

void MetricsRegistry::Family::WriteSample(std::string& out, const std::string& name,
                                          const std::vector<std::string>& label_names,
                                          const std::vector<std::string>& label_values,
                                          const std::string& extra, double value) {
  out += name;
  if (!label_names.empty() || !extra.empty()) {
    std::vector<std::string> pairs;
    for (size_t i = 0; i < label_names.size(); ++i) {
      pairs.push_back(absl::StrCat(label_names[i], "=\"", EscapeLabelValue(label_values[i]), "\""));
    }
    if (!extra.empty()) pairs.push_back(extra);
    absl::StrAppend(&out, "{", absl::StrJoin(pairs, ","), "}");
  }
  absl::StrAppend(&out, " ", FormatMetricValue(value), "\n");
}

template <typename Metric>
MetricFamily<Metric>::MetricFamily(std::string name, std::string help, Type type,
                                   std::vector<std::string> label_names,
                                   std::vector<double> upper_bounds)
    : Family(std::move(name), std::move(help), type, std::move(label_names)),
      upper_bounds_(std::move(upper_bounds)) {
  if (this->label_names().empty()) WithLabels({});
}

template <typename Metric>
Metric& MetricFamily<Metric>::WithLabels(const std::vector<std::string>& label_values) {
  if (label_values.size() != label_names().size()) {
    Die(absl::StrCat(name(), " takes ", label_names().size(), " label values, not ",
                     label_values.size()));
  }
  absl::MutexLock lock(&mu_);
  std::unique_ptr<Metric>& child = children_[label_values];
  if (child == nullptr) {
    if constexpr (std::is_same_v<Metric, Histogram>) {
      child = std::make_unique<Histogram>(upper_bounds_);
    } else {
      child = std::make_unique<Metric>();
    }
  }
  return *child;
}

template <typename Metric>
bool MetricFamily<Metric>::SameAs(const MetricsRegistry::Family& other) const {
  if (!Family::SameAs(other)) return false;
  const auto* same = dynamic_cast<const MetricFamily<Metric>*>(&other);
  return same != nullptr && same->upper_bounds_ == upper_bounds_;
}

template <typename Metric>
void MetricFamily<Metric>::WriteSamples(std::string& out) const {
  absl::MutexLock lock(&mu_);
  for (const auto& [label_values, child] : children_) {
    if constexpr (std::is_same_v<Metric, Histogram>) {
      const Histogram::Snapshot snapshot = child->Read();
      for (size_t i = 0; i < snapshot.cumulative_counts.size(); ++i) {
        const std::string bound = i < upper_bounds_.size()
                                      ? FormatMetricValue(upper_bounds_[i])
                                      : std::string("+Inf");
        WriteSample(out, name() + "_bucket", label_names(), label_values,
                    absl::StrCat("le=\"", bound, "\""),
                    static_cast<double>(snapshot.cumulative_counts[i]));
      }
      WriteSample(out, name() + "_sum", label_names(), label_values, "", snapshot.sum);
      WriteSample(out, name() + "_count", label_names(), label_values, "",
                  static_cast<double>(snapshot.cumulative_counts.back()));
    } else {
      WriteSample(out, name(), label_names(), label_values, "", AsDouble(*child));
    }
  }
}

template class MetricFamily<Counter>;
template class MetricFamily<Gauge>;
template class MetricFamily<Histogram>;

MetricsRegistry::MetricsRegistry() = default;
MetricsRegistry::~MetricsRegistry() = default;

MetricsRegistry::Family& MetricsRegistry::Add(std::unique_ptr<Family> family) {
  absl::MutexLock lock(&mu_);
  std::unique_ptr<Family>& slot = families_[family->name()];
  if (slot == nullptr) {
    slot = std::move(family);
  } else if (!slot->SameAs(*family)) {
    Die(absl::StrCat("metric ", family->name(), " is registered twice, differently"));
  }
  return *slot;
}

CounterFamily& MetricsRegistry::AddCounter(const std::string& name, const std::string& help,
                                           std::vector<std::string> label_names) {
  return static_cast<CounterFamily&>(Add(std::make_unique<CounterFamily>(
      name, help, Family::Type::kCounter, std::move(label_names))));
}

GaugeFamily& MetricsRegistry::AddGauge(const std::string& name, const std::string& help,
                                       std::vector<std::string> label_names) {
  return static_cast<GaugeFamily&>(Add(
      std::make_unique<GaugeFamily>(name, help, Family::Type::kGauge, std::move(label_names))));
}

HistogramFamily& MetricsRegistry::AddHistogram(const std::string& name, const std::string& help,
                                               std::vector<std::string> label_names,
                                               std::vector<double> upper_bounds) {
  return static_cast<HistogramFamily&>(
      Add(std::make_unique<HistogramFamily>(name, help, Family::Type::kHistogram,
                                            std::move(label_names), std::move(upper_bounds))));
}

void MetricsRegistry::AddGaugeCallback(const std::string& name, const std::string& help,
                                       ValueReader read) {
  Add(std::make_unique<CallbackFamily>(name, help, Family::Type::kGauge, std::move(read)));
}

void MetricsRegistry::AddCounterCallback(const std::string& name, const std::string& help,
                                         ValueReader read) {
  Add(std::make_unique<CallbackFamily>(name, help, Family::Type::kCounter, std::move(read)));
}

std::string MetricsRegistry::Exposition() const {
  std::string out;
  absl::MutexLock lock(&mu_);
  for (const auto& [name, family] : families_) family->Write(out);
  return out;
}

}  // namespace microledger
