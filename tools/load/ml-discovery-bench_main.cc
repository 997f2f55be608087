// ml-discovery-bench: resolve latency, announce cost and the announcer's
// sustained put rate on private OpenDHT networks of real dhtnode processes
// that it starts and stops itself (see discovery_bench.h; bench/discovery_bench.sh
// runs it). Prints a markdown table, or one JSON object with --format=json.
// With --hold_cluster=N it only keeps a DHT of N nodes up for other processes
// until SIGTERM. This file only parses flags.
#include <cstdio>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "tools/load/discovery_bench.h"

ABSL_FLAG(std::string, cluster_sizes, "3,20", "DHT sizes (dhtnode processes), comma-separated");
ABSL_FLAG(int, ledgers, 1000, "ledgers announced in each DHT (one host record each)");
ABSL_FLAG(int, samples, 300, "resolutions timed (first get of each key), then again");
ABSL_FLAG(int, cost_records, 200, "records made and put step by step (thread CPU)");
ABSL_FLAG(double, refresh_seconds, 5, "how long the announcer's re-put rate is measured");
ABSL_FLAG(int64_t, dht_timeout_ms, 5000, "deadline of each request to a DHT proxy");
ABSL_FLAG(int, ready_timeout_s, 60, "longest wait for a DHT's nodes to find peers");
ABSL_FLAG(uint64_t, seed, 0, "random seed of the samples (0: from the clock)");
ABSL_FLAG(std::string, setting, "", "a line describing the machine and run, for the table");
ABSL_FLAG(std::string, format, "table", "table (markdown) or json");
ABSL_FLAG(std::string, json_out, "", "also write the JSON report to this file");
ABSL_FLAG(int, hold_cluster, 0,
          "instead: start a DHT of this many nodes, write their proxy URLs to "
          "--urls_file, and keep it up until SIGTERM/SIGINT");
ABSL_FLAG(std::string, urls_file, "", "with --hold_cluster: where the proxy URLs go");
ABSL_FLAG(bool, dht_rate_limit, false,
          "keep OpenDHT's per-address request rate limit (on loopback every node is "
          "127.0.0.1, so it drops requests a real network would not; see dht_nodes.h)");
ABSL_FLAG(std::string, work_dir, "",
          "where dhtnode output goes (DIR/dht<N>/node<k>.out); empty: a temporary directory");

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "ml-discovery-bench [flags]: resolve latency (p50/p99), announce cost per record beside "
      "one Ed25519 sign, and the announcer's sustained put rate, on private loopback OpenDHT "
      "networks of dhtnode processes; or --hold_cluster=N --urls_file=PATH");
  absl::ParseCommandLine(argc, argv);
  if (const int nodes = absl::GetFlag(FLAGS_hold_cluster); nodes > 0) {
    const std::string path = absl::GetFlag(FLAGS_urls_file);
    if (path.empty()) {
      std::fprintf(stderr, "ml-discovery-bench: --hold_cluster needs --urls_file\n");
      return 2;
    }
    microledger::load::DhtNodesOptions hold;
    hold.nodes = nodes;
    hold.dir = absl::GetFlag(FLAGS_work_dir);
    if (hold.dir.empty()) {
      std::fprintf(stderr, "ml-discovery-bench: --hold_cluster needs --work_dir\n");
      return 2;
    }
    hold.rate_limit = absl::GetFlag(FLAGS_dht_rate_limit);
    hold.ready_timeout = absl::Seconds(absl::GetFlag(FLAGS_ready_timeout_s));
    const absl::Status status = microledger::load::HoldDhtNodes(hold, path);
    if (!status.ok()) {
      std::fprintf(stderr, "ml-discovery-bench: %s\n", std::string(status.message()).c_str());
      return 1;
    }
    return 0;
  }
  microledger::load::DiscoveryBenchOptions options;
  options.cluster_sizes.clear();
  for (absl::string_view part :
       absl::StrSplit(absl::GetFlag(FLAGS_cluster_sizes), ',', absl::SkipEmpty())) {
    int size = 0;
    if (!absl::SimpleAtoi(part, &size)) {
      std::fprintf(stderr, "ml-discovery-bench: bad --cluster_sizes\n");
      return 2;
    }
    options.cluster_sizes.push_back(size);
  }
  options.ledgers = absl::GetFlag(FLAGS_ledgers);
  options.samples = absl::GetFlag(FLAGS_samples);
  options.cost_records = absl::GetFlag(FLAGS_cost_records);
  options.refresh_seconds = absl::GetFlag(FLAGS_refresh_seconds);
  options.dht_timeout_ms = absl::GetFlag(FLAGS_dht_timeout_ms);
  options.ready_timeout_s = absl::GetFlag(FLAGS_ready_timeout_s);
  options.seed = absl::GetFlag(FLAGS_seed);
  options.rate_limit = absl::GetFlag(FLAGS_dht_rate_limit);
  options.work_dir = absl::GetFlag(FLAGS_work_dir);
  const std::string format = absl::GetFlag(FLAGS_format);
  if (format != "table" && format != "json") {
    std::fprintf(stderr, "ml-discovery-bench: --format must be table or json\n");
    return 2;
  }
  absl::StatusOr<microledger::load::DiscoveryBenchReport> report =
      microledger::load::RunDiscoveryBench(options);
  if (!report.ok()) {
    std::fprintf(stderr, "ml-discovery-bench: %s\n", std::string(report.status().message()).c_str());
    return 1;
  }
  const std::string json = microledger::load::DiscoveryBenchJson(*report) + "\n";
  const std::string text =
      format == "json" ? json
                       : microledger::load::DiscoveryBenchTable(*report, options,
                                                                absl::GetFlag(FLAGS_setting));
  std::fputs(text.c_str(), stdout);
  if (const std::string path = absl::GetFlag(FLAGS_json_out); !path.empty()) {
    std::FILE* file = std::fopen(path.c_str(), "w");
    if (file == nullptr || std::fputs(json.c_str(), file) < 0 || std::fclose(file) != 0) {
      std::fprintf(stderr, "ml-discovery-bench: cannot write %s\n", path.c_str());
      return 1;
    }
  }
  return 0;
}
