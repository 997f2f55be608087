// ml-discovery-bench: what discovery (SPEC §13, OpenDHT through dhtnode's REST
// proxy) costs, measured against real private OpenDHT networks on this
// machine. For each cluster size (e.g. 3 and 20 nodes) the program starts that
// many `dhtnode` processes (dht_nodes.h: loopback bootstrap, random private
// network id, no request rate limit by default, every node stopped at the
// end) and measures, with
// `ledgers` ledgers whose keys are generated before any clock starts:
//
//   announce   a real LocatorAnnouncer (mode all) on node 0's proxy is
//              touched with every ledger at once; the clock runs until it has
//              put them all: host records signed with each ledger's key,
//              encrypted, put one at a time by its one thread. Records/s and
//              this process's CPU per record (announcer thread + libcurl).
//   refresh    the same announcer with refresh = 1 ms keeps re-putting the
//              same value data (what it does every 5 min per ledger in
//              steady state) for `refresh_seconds`: puts/s sustained, and
//              from it the ledgers one host keeps announced with SPEC §13's
//              5-minute re-put interval.
//   resolve    `samples` ledgers chosen at random (distinct, if there are
//              enough), each resolved through the proxy of a random node other
//              than node 0: DhtClient::Get + ResolveLocatorValues timed
//              together; the first get of each key on that node ("cold"),
//              then the same ledgers again through the same nodes ("again").
//              A sample counts as found when the record's URL comes back.
//   cost       `cost_records` records made and put on this thread, step by
//              step: thread CPU (CLOCK_THREAD_CPUTIME_ID) of SignLocatorRecord
//              + EncryptValueData, and of DhtClient::Put (the client side);
//              the CPU of all dhtnode processes (/proc) per put beside.
//
// The floor is one Ed25519 sign (libsodium through SigningKey::Sign, best of
// rounds), measured in the same run; ratio = floor / cost, as elsewhere in
// BENCHMARKS.md. Speed is reported, never asserted.
//
// Thread-safety: RunDiscoveryBench runs on the calling thread and joins or
// stops everything it starts.
#ifndef MICROLEDGER_TOOLS_LOAD_DISCOVERY_BENCH_H_
#define MICROLEDGER_TOOLS_LOAD_DISCOVERY_BENCH_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "tools/load/dht_nodes.h"

namespace microledger {
namespace load {

struct DiscoveryBenchOptions {
  std::vector<int> cluster_sizes = {3, 20};
  int ledgers = 1000;           // Ledgers announced in each cluster.
  int samples = 300;            // Resolutions timed (cold), then as many again.
  int cost_records = 200;       // Records made and put step by step.
  double refresh_seconds = 5;   // How long the refresh rate is measured.
  int64_t dht_timeout_ms = 5000;  // Per proxy request.
  int ready_timeout_s = 60;     // Longest wait for a cluster's nodes to have peers.
  uint64_t seed = 0;            // Random choice of samples; 0: from the clock.
  bool rate_limit = false;      // Keep OpenDHT's request rate limits (dht_nodes.h).
  // Where each DHT's node output goes (DIR/dht<N>/node<k>.out); empty: a
  // fresh directory under /tmp, removed after a successful run.
  std::string work_dir;
};

struct LatencySummary {
  uint64_t count = 0;
  double p50_ms = 0, p99_ms = 0, max_ms = 0;
};

struct ClusterReport {
  int nodes = 0;
  double start_s = 0;            // Starting the nodes until each has a peer.
  int ledgers = 0;               // Values stored (one record per ledger).
  // Announce (first put of every ledger).
  double announce_s = 0;
  double announce_per_s = 0;
  double announce_cpu_us = 0;    // This process, per record.
  double announce_dht_cpu_us = 0;  // All dhtnode processes, per record.
  int64_t announce_failures = 0;
  LatencySummary announce_put_latency;  // Each DhtClient::Put of the announcer.
  // Refresh (re-puts of the same value data).
  uint64_t refresh_puts = 0;
  double refresh_per_s = 0;
  double refresh_cpu_us = 0;
  double refresh_dht_cpu_us = 0;
  double refresh_node0_cpu_us = 0;  // Node 0 alone: the proxy the announcer uses.
  double ledgers_per_5min = 0;   // refresh_per_s * 300.
  LatencySummary refresh_put_latency;
  // Resolve.
  LatencySummary resolve_cold, resolve_again;
  uint64_t cold_found = 0, again_found = 0;
  // Cost, step by step on one thread.
  int cost_records = 0;
  double sign_encrypt_cpu_us = 0;  // Thread CPU per record.
  double put_cpu_us = 0;           // Thread CPU per put (client side).
  double put_dht_cpu_us = 0;       // All dhtnode processes, per put.
  LatencySummary put_latency;      // Wall time of each Put.
  double cost_per_s = 0;           // Records made and put per second.
  // The same values put again (a refresh: same value id and data).
  LatencySummary reput_latency;
  double reput_cpu_us = 0;         // Thread CPU per put.
  double reput_per_s = 0;
  std::string note;
};

struct DiscoveryBenchReport {
  double sign_us = 0;      // The floor: one Ed25519 sign (libsodium, this run).
  double sign_us_end = 0;  // The same, measured again at the end.
  std::vector<ClusterReport> clusters;
};

absl::StatusOr<DiscoveryBenchReport> RunDiscoveryBench(const DiscoveryBenchOptions& options);

// A markdown table (with a legend line) of the report.
std::string DiscoveryBenchTable(const DiscoveryBenchReport& report,
                                const DiscoveryBenchOptions& options, const std::string& setting);
// One JSON object.
std::string DiscoveryBenchJson(const DiscoveryBenchReport& report);

// For a script that needs a DHT for other processes (bench/discovery_bench.sh
// gives one to ml-host): starts the nodes, writes their proxy URLs, one a
// line, to `urls_file` (complete when it appears), then waits for SIGTERM,
// SIGINT or SIGHUP and stops every node. An error if they do not start.
absl::Status HoldDhtNodes(const DhtNodesOptions& options, const std::string& urls_file);

}  // namespace load
}  // namespace microledger

#endif  // MICROLEDGER_TOOLS_LOAD_DISCOVERY_BENCH_H_
