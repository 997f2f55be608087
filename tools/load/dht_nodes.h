// A private OpenDHT network of N `dhtnode` processes (Debian's package) on
// this machine, each with its REST proxy, for ml-discovery-bench. The same
// scheme as the tests' harness (tests/dht/dht_cluster.h), with what a
// benchmark needs on top: no verbose logging (dhtnode -v logs every packet,
// which would be counted as DHT CPU) and, by default, `--no-rate-limit`.
//
// Why no rate limit: OpenDHT drops requests beyond 1024/s from one IP address
// (max_peer_req_per_sec, its default). On loopback every node has the address
// 127.0.0.1, so a node receives all the others' requests "from one peer" and
// drops some once the benchmark puts faster than a few hundred values a second;
// the sender retries ~1 s later. In a real network a host's puts go to the 8
// nodes nearest each key, spread over many addresses, and never meet that
// limit. `rate_limit = true` keeps OpenDHT's default to show the effect.
//
// dhtnode binds its DHT port on every address and its proxy on [::], and has
// no option to bind loopback only; the network therefore uses a random private
// network id (-n), so that its nodes talk only to each other, and node k > 0
// bootstraps to node 0 over 127.0.0.1 (never to a public bootstrap node).
// Ports are free ports chosen by binding probes. Every node runs with
// PR_SET_PDEATHSIG (SIGKILL), so a crashed benchmark leaves no node behind;
// Stop (and the destructor) sends SIGTERM to every node at once, then waits
// at most 5 s for each before SIGKILL. Each node's output goes to
// node<k>.out in `dir`.
//
// Not thread-safe (one thread drives it).
#ifndef MICROLEDGER_TOOLS_LOAD_DHT_NODES_H_
#define MICROLEDGER_TOOLS_LOAD_DHT_NODES_H_

#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace microledger {
namespace load {

struct DhtNodesOptions {
  int nodes = 3;            // At least 2 (a lone node refuses puts).
  std::string dir;          // Where node<k>.out go; must exist.
  bool rate_limit = false;  // Keep OpenDHT's request rate limits (see above).
  // Ready when every node reports at least min(nodes - 1, min_peers) good
  // IPv4 peers on /node/info, within ready_timeout. (A node's "good" count
  // stays low on loopback, e.g. 1 of 2 in a 3-node network for minutes;
  // searches still reach every node.)
  int min_peers = 1;
  absl::Duration ready_timeout = absl::Seconds(60);
};

class DhtNodes {
 public:
  // Unavailable (with the tail of a node's output) if the nodes do not get
  // ready; the nodes started are stopped.
  static absl::StatusOr<std::unique_ptr<DhtNodes>> Start(const DhtNodesOptions& options);

  DhtNodes(const DhtNodes&) = delete;
  DhtNodes& operator=(const DhtNodes&) = delete;
  ~DhtNodes() { Stop(); }

  int size() const { return static_cast<int>(nodes_.size()); }
  // "http://127.0.0.1:PORT", the REST proxy of node `k` (0-based).
  const std::string& proxy_url(int k) const { return nodes_[k].proxy_url; }
  pid_t pid(int k) const { return nodes_[k].pid; }
  uint32_t network_id() const { return network_id_; }
  // CPU seconds (utime + stime) of all running nodes, or of node `k`.
  double CpuSeconds() const;
  double NodeCpuSeconds(int k) const;
  // Stops every node; idempotent.
  void Stop();

 private:
  struct Node {
    int udp_port = 0;
    int proxy_port = 0;
    std::string proxy_url;
    pid_t pid = -1;
  };
  DhtNodes(DhtNodesOptions options, uint32_t network_id)
      : options_(std::move(options)), network_id_(network_id) {}
  absl::Status Launch(int k);
  absl::Status WaitReady() const;

  const DhtNodesOptions options_;
  const uint32_t network_id_;
  std::vector<Node> nodes_;
};

}  // namespace load
}  // namespace microledger

#endif  // MICROLEDGER_TOOLS_LOAD_DHT_NODES_H_
