#include "tools/load/discovery_bench.h"

#include <signal.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <random>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "common/ed25519.h"
#include "common/encoding.h"
#include "common/locator.h"
#include "common/timestamp.h"
#include "nlohmann/json.hpp"
#include "serving/dht_client.h"
#include "serving/locator_announcer.h"
#include "tools/load/dht_nodes.h"
#include "tools/load/floor.h"
#include "tools/load/process_stats.h"

namespace microledger {
namespace load {
namespace {

// The URL every benchmark record carries (a host record: role host, signed
// with the ledger's key).
constexpr char kAnnouncedUrl[] = "grpcs://host.example:7400";

double Ms(Clock::duration d) { return Seconds(d) * 1e3; }

double ThreadCpuSeconds() {
  timespec now{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now);
  return now.tv_sec + now.tv_nsec / 1e9;
}

LatencySummary Summarize(std::vector<double> ms) {
  LatencySummary s;
  s.count = ms.size();
  if (ms.empty()) return s;
  std::sort(ms.begin(), ms.end());
  auto at = [&](double q) {
    const size_t i = static_cast<size_t>(std::ceil(q * ms.size()));
    return ms[std::min(ms.size() - 1, i == 0 ? 0 : i - 1)];
  };
  s.p50_ms = at(0.50);
  s.p99_ms = at(0.99);
  s.max_ms = ms.back();
  return s;
}

// The ledgers of a run: one key each (host records are signed with the
// ledger's key), generated before any clock starts.
struct Ledgers {
  std::vector<std::string> ids;
  absl::flat_hash_map<std::string, SigningKey> keys;
};

absl::StatusOr<Ledgers> MakeLedgers(int count) {
  Ledgers ledgers;
  ledgers.ids.reserve(count);
  for (int i = 0; i < count; ++i) {
    absl::StatusOr<SigningKey> key = SigningKey::Generate();
    if (!key.ok()) return key.status();
    std::string id = LedgerIdFromPublicKeyText(key->public_key_text());
    ledgers.ids.push_back(id);
    ledgers.keys.emplace(std::move(id), *std::move(key));
  }
  return ledgers;
}

absl::StatusOr<std::shared_ptr<DhtClient>> Client(const std::string& url, int64_t timeout_ms) {
  absl::StatusOr<std::unique_ptr<DhtClient>> client =
      NewDhtProxyClient(url, absl::Milliseconds(timeout_ms));
  if (!client.ok()) return client.status();
  return std::shared_ptr<DhtClient>(*std::move(client));
}

// A DhtClient that times each Put of the one it wraps (the announcer's).
class TimedDht : public DhtClient {
 public:
  explicit TimedDht(std::shared_ptr<DhtClient> inner) : inner_(std::move(inner)) {}
  absl::Status Put(absl::string_view key_hex, absl::string_view value,
                   uint64_t value_id) override {
    const Clock::time_point start = Clock::now();
    absl::Status status = inner_->Put(key_hex, value, value_id);
    const double ms = Ms(Clock::now() - start);
    absl::MutexLock lock(&mu_);
    put_ms_.push_back(ms);
    return status;
  }
  absl::StatusOr<std::vector<std::string>> Get(absl::string_view key_hex) override {
    return inner_->Get(key_hex);
  }
  // The put times so far, and forgets them.
  std::vector<double> Take() {
    absl::MutexLock lock(&mu_);
    return std::exchange(put_ms_, {});
  }

 private:
  const std::shared_ptr<DhtClient> inner_;
  absl::Mutex mu_;
  std::vector<double> put_ms_ ABSL_GUARDED_BY(mu_);
};

// Announce and refresh through a real LocatorAnnouncer on node 0.
absl::Status MeasureAnnouncer(const DhtNodes& cluster, const Ledgers& ledgers,
                              const DiscoveryBenchOptions& options, ClusterReport& report) {
  absl::StatusOr<std::shared_ptr<DhtClient>> dht =
      Client(cluster.proxy_url(0), options.dht_timeout_ms);
  if (!dht.ok()) return dht.status();
  auto timed = std::make_shared<TimedDht>(*dht);
  LocatorAnnouncerOptions announce;
  announce.program = "ml-discovery-bench";
  announce.dht_name = absl::StrCat("DHT proxy ", cluster.proxy_url(0));
  announce.role = LocatorRole::kHost;
  announce.urls = {kAnnouncedUrl};
  announce.mode = AnnounceMode::kAll;
  // Every ledger is due again 1 ms after its put: once all are announced the
  // thread re-puts without pause, as it would every 5 minutes per ledger.
  announce.refresh = absl::Milliseconds(1);
  announce.log = [](absl::string_view line) {
    std::fprintf(stderr, "%.*s\n", static_cast<int>(line.size()), line.data());
  };
  absl::StatusOr<std::unique_ptr<LocatorAnnouncer>> announcer = LocatorAnnouncer::Create(
      announce, timed, [&ledgers](const std::string& ledger_id, LocatorRecord record) {
        const auto it = ledgers.keys.find(ledger_id);
        if (it == ledgers.keys.end()) return absl::StatusOr<std::string>(absl::NotFoundError("?"));
        return SignLocatorRecord(std::move(record), it->second);
      });
  if (!announcer.ok()) return announcer.status();
  const int64_t n = static_cast<int64_t>(ledgers.ids.size());
  const absl::Duration limit = absl::Seconds(std::max<int64_t>(60, n / 10));

  double cpu0 = OwnCpuSeconds(), dht_cpu0 = cluster.CpuSeconds();
  Clock::time_point start = Clock::now();
  for (const std::string& id : ledgers.ids) (*announcer)->Touch(id);
  const absl::Time deadline = absl::Now() + limit;
  LocatorAnnouncerStats stats;
  while ((stats = (*announcer)->Stats()).puts < n) {
    if (absl::Now() > deadline) {
      return absl::DeadlineExceededError(absl::StrCat(
          "the announcer put ", stats.puts, " of ", n, " records in ",
          absl::FormatDuration(limit), " (", stats.put_failures, " failed puts)"));
    }
    absl::SleepFor(absl::Microseconds(500));
  }
  Clock::time_point end = Clock::now();
  double cpu1 = OwnCpuSeconds(), dht_cpu1 = cluster.CpuSeconds();
  report.announce_s = Seconds(end - start);
  report.announce_per_s = n / report.announce_s;
  report.announce_cpu_us = (cpu1 - cpu0) * 1e6 / stats.puts;
  report.announce_dht_cpu_us = (dht_cpu1 - dht_cpu0) * 1e6 / stats.puts;
  report.announce_failures = stats.put_failures;
  report.announce_put_latency = Summarize(timed->Take());

  // Refresh: re-puts only (a record is re-signed when fewer than refresh +
  // 10 min of its 1 h remain: not within this run).
  const int64_t puts0 = stats.puts;
  timed->Take();
  cpu0 = OwnCpuSeconds();
  dht_cpu0 = cluster.CpuSeconds();
  const double node0_cpu0 = cluster.NodeCpuSeconds(0);
  start = Clock::now();
  absl::SleepFor(absl::Seconds(options.refresh_seconds));
  stats = (*announcer)->Stats();
  end = Clock::now();
  cpu1 = OwnCpuSeconds();
  dht_cpu1 = cluster.CpuSeconds();
  const double node0_cpu1 = cluster.NodeCpuSeconds(0);
  report.refresh_puts = stats.puts - puts0;
  report.refresh_per_s = report.refresh_puts / Seconds(end - start);
  if (report.refresh_puts > 0) {
    report.refresh_cpu_us = (cpu1 - cpu0) * 1e6 / report.refresh_puts;
    report.refresh_dht_cpu_us = (dht_cpu1 - dht_cpu0) * 1e6 / report.refresh_puts;
    report.refresh_node0_cpu_us = (node0_cpu1 - node0_cpu0) * 1e6 / report.refresh_puts;
  }
  report.ledgers_per_5min = report.refresh_per_s * kDhtRefreshMillis / 1000.0;
  report.refresh_put_latency = Summarize(timed->Take());
  if (stats.put_failures > report.announce_failures) {
    absl::StrAppend(&report.note, "refresh: ", stats.put_failures - report.announce_failures,
                    " failed puts; ");
  }
  if (stats.sign_failures > 0) absl::StrAppend(&report.note, stats.sign_failures, " sign failures; ");
  announcer->reset();  // Waits for the put in flight.
  return absl::OkStatus();
}

// Resolutions through random nodes other than node 0.
absl::Status MeasureResolve(const DhtNodes& cluster, const Ledgers& ledgers,
                            const DiscoveryBenchOptions& options, std::mt19937_64& random,
                            ClusterReport& report) {
  std::vector<std::shared_ptr<DhtClient>> readers;
  for (int k = 1; k < cluster.size(); ++k) {
    absl::StatusOr<std::shared_ptr<DhtClient>> client =
        Client(cluster.proxy_url(k), options.dht_timeout_ms);
    if (!client.ok()) return client.status();
    readers.push_back(*std::move(client));
  }
  if (readers.empty()) return absl::InvalidArgumentError("resolving needs 2 nodes or more");
  // Distinct ledgers while there are enough.
  std::vector<std::string> pool = ledgers.ids;
  std::shuffle(pool.begin(), pool.end(), random);
  std::vector<std::pair<std::string, int>> samples;
  for (int i = 0; i < options.samples; ++i) {
    samples.emplace_back(pool[i % pool.size()],
                         static_cast<int>(random() % readers.size()));
  }
  auto run = [&](LatencySummary& summary, uint64_t& found) {
    std::vector<double> ms;
    found = 0;
    for (const auto& [ledger, reader] : samples) {
      const std::string key = *DhtKeyHex(ledger);
      const Clock::time_point start = Clock::now();
      absl::StatusOr<std::vector<std::string>> values = readers[reader]->Get(key);
      ResolvedLedger resolved;
      if (values.ok()) resolved = ResolveLocatorValues(ledger, *values, NowMillis());
      ms.push_back(Ms(Clock::now() - start));
      if (!resolved.urls.empty() && resolved.urls[0] == kAnnouncedUrl) ++found;
    }
    summary = Summarize(std::move(ms));
  };
  run(report.resolve_cold, report.cold_found);
  run(report.resolve_again, report.again_found);
  return absl::OkStatus();
}

// Sign + encrypt + put, step by step on this thread, through node 0.
absl::Status MeasureCost(const DhtNodes& cluster, const Ledgers& ledgers,
                         const DiscoveryBenchOptions& options, ClusterReport& report) {
  absl::StatusOr<std::shared_ptr<DhtClient>> dht =
      Client(cluster.proxy_url(0), options.dht_timeout_ms);
  if (!dht.ok()) return dht.status();
  const int n = std::min<int>(options.cost_records, static_cast<int>(ledgers.ids.size()));
  double make_cpu = 0, put_cpu = 0;
  std::vector<double> put_ms;
  std::vector<std::pair<std::string, std::string>> made;  // DHT key, value data.
  int64_t last_seq = 0;
  const double dht_cpu0 = cluster.CpuSeconds();
  const Clock::time_point start = Clock::now();
  for (int i = 0; i < n; ++i) {
    const std::string& ledger = ledgers.ids[i];
    const double t0 = ThreadCpuSeconds();
    LocatorRecord record;
    record.ledger = ledger;
    record.role = LocatorRole::kHost;
    record.seq = last_seq = std::max(NowMillis(), last_seq + 1);
    record.expires = FormatTimestampMillis(record.seq + 3600 * 1000);
    record.urls = {kAnnouncedUrl};
    absl::StatusOr<std::string> plaintext =
        SignLocatorRecord(std::move(record), ledgers.keys.at(ledger));
    if (!plaintext.ok()) return plaintext.status();
    absl::StatusOr<std::string> value = EncryptValueData(ledger, *plaintext);
    if (!value.ok()) return value.status();
    const std::string key = *DhtKeyHex(ledger);
    const uint64_t id = DhtValueId(*value);
    const double t1 = ThreadCpuSeconds();
    const Clock::time_point put_start = Clock::now();
    if (absl::Status status = (*dht)->Put(key, *value, id); !status.ok()) return status;
    put_ms.push_back(Ms(Clock::now() - put_start));
    const double t2 = ThreadCpuSeconds();
    make_cpu += t1 - t0;
    put_cpu += t2 - t1;
    made.push_back({key, *std::move(value)});
  }
  const double elapsed = Seconds(Clock::now() - start);
  const double dht_cpu = cluster.CpuSeconds() - dht_cpu0;
  report.cost_records = n;
  if (n > 0) {
    report.sign_encrypt_cpu_us = make_cpu * 1e6 / n;
    report.put_cpu_us = put_cpu * 1e6 / n;
    report.put_dht_cpu_us = dht_cpu * 1e6 / n;
    report.cost_per_s = n / elapsed;
  }
  report.put_latency = Summarize(std::move(put_ms));

  // The same values put again (a refresh), on the same thread.
  std::vector<double> reput_ms;
  const double reput_cpu0 = ThreadCpuSeconds();
  const Clock::time_point reput_start = Clock::now();
  for (const auto& [key, value] : made) {
    const Clock::time_point put_start = Clock::now();
    if (absl::Status status = (*dht)->Put(key, value, DhtValueId(value)); !status.ok()) {
      return status;
    }
    reput_ms.push_back(Ms(Clock::now() - put_start));
  }
  if (!made.empty()) {
    report.reput_cpu_us = (ThreadCpuSeconds() - reput_cpu0) * 1e6 / made.size();
    report.reput_per_s = made.size() / Seconds(Clock::now() - reput_start);
  }
  report.reput_latency = Summarize(std::move(reput_ms));
  return absl::OkStatus();
}

std::string Fixed(double value, int digits = 1) { return absl::StrFormat("%.*f", digits, value); }

nlohmann::json LatencyJson(const LatencySummary& s) {
  return {{"count", s.count}, {"p50_ms", s.p50_ms}, {"p99_ms", s.p99_ms}, {"max_ms", s.max_ms}};
}

}  // namespace

absl::StatusOr<DiscoveryBenchReport> RunDiscoveryBench(const DiscoveryBenchOptions& options) {
  if (options.ledgers < 1 || options.samples < 1 || options.cost_records < 0 ||
      options.refresh_seconds <= 0) {
    return absl::InvalidArgumentError(
        "--ledgers and --samples must be positive, --refresh_seconds > 0");
  }
  for (const int size : options.cluster_sizes) {
    if (size < 2) return absl::InvalidArgumentError("a cluster needs 2 nodes or more");
  }
  DiscoveryBenchReport report;
  report.sign_us = MeasureFloor().sign_us;
  std::mt19937_64 random(options.seed != 0 ? options.seed
                                           : static_cast<uint64_t>(absl::GetCurrentTimeNanos()));
  absl::StatusOr<Ledgers> ledgers = MakeLedgers(options.ledgers);
  if (!ledgers.ok()) return ledgers.status();
  // Each DHT's node outputs go to a directory of its own.
  std::string base = options.work_dir;
  bool remove_base = false;
  if (base.empty()) {
    char pattern[] = "/tmp/ml-discovery-bench.XXXXXX";
    if (mkdtemp(pattern) == nullptr) return absl::InternalError("mkdtemp failed");
    base = pattern;
    remove_base = true;
  }
  absl::Status status;
  for (const int size : options.cluster_sizes) {
    ClusterReport cluster_report;
    cluster_report.nodes = size;
    cluster_report.ledgers = options.ledgers;
    DhtNodesOptions nodes_options;
    nodes_options.nodes = size;
    nodes_options.dir = absl::StrCat(base, "/dht", size);
    nodes_options.rate_limit = options.rate_limit;
    nodes_options.ready_timeout = absl::Seconds(options.ready_timeout_s);
    std::error_code error;
    std::filesystem::create_directories(nodes_options.dir, error);
    std::fprintf(stderr, "ml-discovery-bench: starting %d dhtnode processes\n", size);
    const Clock::time_point start = Clock::now();
    absl::StatusOr<std::unique_ptr<DhtNodes>> cluster = DhtNodes::Start(nodes_options);
    if (!cluster.ok()) {
      status = cluster.status();
    } else {
      cluster_report.start_s = Seconds(Clock::now() - start);
      std::fprintf(stderr,
                   "ml-discovery-bench: %d nodes ready in %.1f s; announcing %d ledgers\n", size,
                   cluster_report.start_s, options.ledgers);
      status = MeasureAnnouncer(**cluster, *ledgers, options, cluster_report);
      if (status.ok()) {
        std::fprintf(stderr, "ml-discovery-bench: resolving %d samples\n", options.samples);
        status = MeasureResolve(**cluster, *ledgers, options, random, cluster_report);
      }
      if (status.ok()) status = MeasureCost(**cluster, *ledgers, options, cluster_report);
      (*cluster)->Stop();
    }
    if (!status.ok()) {
      status = absl::Status(status.code(), absl::StrCat(size, "-node DHT: ", status.message(),
                                                        " (node output in ", nodes_options.dir,
                                                        ")"));
      break;
    }
    report.clusters.push_back(std::move(cluster_report));
  }
  if (status.ok() && remove_base) {
    std::error_code error;
    std::filesystem::remove_all(base, error);
  }
  if (!status.ok()) return status;
  report.sign_us_end = MeasureFloor().sign_us;
  return report;
}

std::string DiscoveryBenchTable(const DiscoveryBenchReport& report,
                                const DiscoveryBenchOptions& options, const std::string& setting) {
  const double floor = std::min(report.sign_us, report.sign_us_end);
  auto ratio = [&](double cost) { return cost > 0 ? Fixed(floor / cost, 3) : std::string("-"); };
  auto latency = [](const LatencySummary& s) {
    return absl::StrCat(Fixed(s.p50_ms, 2), " / ", Fixed(s.p99_ms, 2), " / ", Fixed(s.max_ms, 2));
  };
  std::string out;
  if (!setting.empty()) absl::StrAppend(&out, "Setting: ", setting, "\n\n");
  absl::StrAppend(&out,
                  "| discovery | DHT | setting | result | p50 / p99 / max ms | floor us | cost "
                  "us/record | ratio |\n| --- | --- | --- | --- | --- | --- | --- | --- |\n");
  for (const ClusterReport& c : report.clusters) {
    const std::string dht =
        absl::StrCat(c.nodes, " nodes, ", c.ledgers, " values (started in ", Fixed(c.start_s),
                     " s)");
    absl::StrAppend(
        &out, "| resolve, first get | ", dht, " | Get + ResolveLocatorValues via a random node ",
        "other than the announcing one; ", c.resolve_cold.count, " samples, first get of each key | ",
        c.cold_found, "/", c.resolve_cold.count, " found | ", latency(c.resolve_cold),
        " | - | - | - |\n");
    absl::StrAppend(&out, "| resolve, again | ", dht, " | the same samples again, same nodes | ",
                    c.again_found, "/", c.resolve_again.count, " found | ",
                    latency(c.resolve_again), " | - | - | - |\n");
    absl::StrAppend(
        &out, "| announce (LocatorAnnouncer) | ", dht, " | ", c.ledgers,
        " ledgers touched at once; sign + encrypt + put each, one thread, via node 0; "
        "dhtnode CPU ",
        Fixed(c.announce_dht_cpu_us), " us/record (all nodes) | ", Fixed(c.announce_per_s, 0),
        " records/s (", Fixed(c.announce_s, 2), " s) | put ", latency(c.announce_put_latency),
        " | ", Fixed(floor, 1), " | ",
        Fixed(c.announce_cpu_us), " | ", ratio(c.announce_cpu_us), " |\n");
    absl::StrAppend(
        &out, "| refresh (LocatorAnnouncer) | ", dht, " | the same announcer re-putting the same ",
        "value data (refresh 1 ms) for ", Fixed(options.refresh_seconds, 1), " s; dhtnode CPU ",
        Fixed(c.refresh_dht_cpu_us), " us/put (all nodes), of which node 0 (the host's own) ",
        Fixed(c.refresh_node0_cpu_us), " | ", Fixed(c.refresh_per_s, 0), " puts/s = ",
        Fixed(c.ledgers_per_5min, 0), " ledgers per 5 min | put ",
        latency(c.refresh_put_latency), " | ", Fixed(floor, 1), " | ",
        Fixed(c.refresh_cpu_us), " | ", ratio(c.refresh_cpu_us), " |\n");
    absl::StrAppend(&out, "| sign + encrypt | ", dht, " | SignLocatorRecord + EncryptValueData, ",
                    "thread CPU, ", c.cost_records, " records | - | - | ", Fixed(floor, 1), " | ",
                    Fixed(c.sign_encrypt_cpu_us), " | ", ratio(c.sign_encrypt_cpu_us), " |\n");
    absl::StrAppend(&out, "| put (DhtClient) | ", dht, " | one Put of a new value via node 0, ",
                    "thread CPU (client side); dhtnode CPU ", Fixed(c.put_dht_cpu_us),
                    " us/put (all nodes) | ", Fixed(c.cost_per_s, 0),
                    " records/s made and put on one thread | ", latency(c.put_latency),
                    " | ", Fixed(floor, 1), " | ", Fixed(c.put_cpu_us), " | ",
                    ratio(c.put_cpu_us), " |\n");
    absl::StrAppend(&out, "| re-put (DhtClient) | ", dht, " | the same values put again ",
                    "(same value id and data: a refresh), one thread | ", Fixed(c.reput_per_s, 0),
                    " puts/s | ", latency(c.reput_latency), " | ", Fixed(floor, 1), " | ",
                    Fixed(c.reput_cpu_us), " | ", ratio(c.reput_cpu_us), " |\n");
  }
  absl::StrAppend(&out, "\nfloor = one Ed25519 sign (libsodium, best of rounds; ",
                  Fixed(report.sign_us, 1), " us at the start, ", Fixed(report.sign_us_end, 1),
                  " us at the end of the run); ratio = floor / cost; cost us/record = CPU of ",
                  "this process per record (announcer rows: whole process; others: the ",
                  "measuring thread); ledgers per 5 min = refresh puts/s x 300 s (SPEC §13 ",
                  "re-put interval, one announcer thread).\n");
  for (const ClusterReport& c : report.clusters) {
    if (!c.note.empty()) absl::StrAppend(&out, "note (", c.nodes, " nodes): ", c.note, "\n");
  }
  return out;
}

std::string DiscoveryBenchJson(const DiscoveryBenchReport& report) {
  nlohmann::json j;
  j["sign_us"] = report.sign_us;
  j["sign_us_end"] = report.sign_us_end;
  j["clusters"] = nlohmann::json::array();
  for (const ClusterReport& c : report.clusters) {
    j["clusters"].push_back({
        {"nodes", c.nodes},
        {"start_s", c.start_s},
        {"ledgers", c.ledgers},
        {"announce_s", c.announce_s},
        {"announce_per_s", c.announce_per_s},
        {"announce_cpu_us", c.announce_cpu_us},
        {"announce_dht_cpu_us", c.announce_dht_cpu_us},
        {"announce_failures", c.announce_failures},
        {"refresh_puts", c.refresh_puts},
        {"refresh_per_s", c.refresh_per_s},
        {"refresh_cpu_us", c.refresh_cpu_us},
        {"refresh_dht_cpu_us", c.refresh_dht_cpu_us},
        {"refresh_node0_cpu_us", c.refresh_node0_cpu_us},
        {"ledgers_per_5min", c.ledgers_per_5min},
        {"resolve_cold", LatencyJson(c.resolve_cold)},
        {"resolve_again", LatencyJson(c.resolve_again)},
        {"cold_found", c.cold_found},
        {"again_found", c.again_found},
        {"cost_records", c.cost_records},
        {"sign_encrypt_cpu_us", c.sign_encrypt_cpu_us},
        {"put_cpu_us", c.put_cpu_us},
        {"put_dht_cpu_us", c.put_dht_cpu_us},
        {"put_latency", LatencyJson(c.put_latency)},
        {"cost_per_s", c.cost_per_s},
        {"announce_put_latency", LatencyJson(c.announce_put_latency)},
        {"refresh_put_latency", LatencyJson(c.refresh_put_latency)},
        {"reput_latency", LatencyJson(c.reput_latency)},
        {"reput_cpu_us", c.reput_cpu_us},
        {"reput_per_s", c.reput_per_s},
        {"note", c.note},
    });
  }
  return j.dump();
}

namespace {
volatile sig_atomic_t hold_stop = 0;
void OnStopSignal(int) { hold_stop = 1; }
}  // namespace

absl::Status HoldDhtNodes(const DhtNodesOptions& options, const std::string& urls_file) {
  // Handlers, not a blocked mask (and a node's mask is cleared before exec).
  struct sigaction action {};
  action.sa_handler = &OnStopSignal;
  sigemptyset(&action.sa_mask);
  for (const int signal : {SIGTERM, SIGINT, SIGHUP}) sigaction(signal, &action, nullptr);
  absl::StatusOr<std::unique_ptr<DhtNodes>> nodes = DhtNodes::Start(options);
  if (!nodes.ok()) return nodes.status();
  std::vector<std::string> urls;
  for (int k = 0; k < options.nodes; ++k) urls.push_back((*nodes)->proxy_url(k));
  const std::string partial = urls_file + ".partial";
  {
    std::ofstream out(partial);
    out << absl::StrJoin(urls, "\n") << "\n";
    if (!out.good()) return absl::InternalError(absl::StrCat("cannot write ", partial));
  }
  std::error_code error;
  std::filesystem::rename(partial, urls_file, error);
  if (error) return absl::InternalError(absl::StrCat("cannot write ", urls_file));
  while (hold_stop == 0) absl::SleepFor(absl::Milliseconds(50));
  (*nodes)->Stop();
  return absl::OkStatus();
}

}  // namespace load
}  // namespace microledger
