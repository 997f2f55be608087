// Test harness: a private OpenDHT network of N `dhtnode` processes (Debian's
// package) on this machine, each with its REST proxy, for the tests of the
// DHT client and the locator announcer against the real thing.
//
// dhtnode binds its DHT port on every address and its proxy on [::], and has
// no option to bind loopback only; the cluster therefore uses a random private
// network id (-n), so that its nodes talk only to each other, and bootstraps
// node k > 0 to node 0 over 127.0.0.1 (never to a public bootstrap node).
// Ports are free ports chosen by binding probes (dual-stack, UDP for the DHT,
// TCP for the proxy). Every node runs with PR_SET_PDEATHSIG, so a crashed test
// leaves no node behind; the destructor stops them (SIGTERM, SIGKILL after
// 5 s). Each node logs to node<k>.log in a fresh directory under $TEST_TMPDIR.
//
// Not thread-safe (one test thread drives it).
#ifndef MICROLEDGER_TESTS_DHT_DHT_CLUSTER_H_
#define MICROLEDGER_TESTS_DHT_DHT_CLUSTER_H_

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"

namespace microledger {

class DhtCluster {
 public:
  // Starts `nodes` nodes (at least 1) and waits, at most `ready_timeout`,
  // until every node's /node/info reports at least one good IPv4 peer (a
  // single node is ready once its proxy answers). Unavailable, with the tail
  // of the log of a node that was not ready, if they do not get there.
  static absl::StatusOr<std::unique_ptr<DhtCluster>> Start(
      int nodes, absl::Duration ready_timeout = absl::Seconds(20));

  DhtCluster(const DhtCluster&) = delete;
  DhtCluster& operator=(const DhtCluster&) = delete;
  ~DhtCluster();

  int size() const { return static_cast<int>(nodes_.size()); }
  // "http://127.0.0.1:PORT", the REST proxy of node `node` (0-based).
  const std::string& proxy_url(int node) const { return nodes_[node].proxy_url; }

  // Stops node `node` (SIGTERM, SIGKILL after 5 s); its proxy then refuses
  // connections. No-op for a stopped node.
  void StopNode(int node);
  // Starts a stopped node again on its ports (bootstrapped to node 0, or to
  // node 1 for node 0) and waits, at most `ready_timeout`, until it is ready.
  absl::Status RestartNode(int node, absl::Duration ready_timeout = absl::Seconds(20));

  // The good IPv4 peers node `node` reports on /node/info; Unavailable when
  // its proxy does not answer.
  absl::StatusOr<int> GoodPeers(int node) const;

 private:
  struct Node {
    int udp_port = 0;
    int proxy_port = 0;
    std::string proxy_url;
    std::string log_path;
    pid_t pid = -1;
  };

  DhtCluster(std::string dir, uint32_t network_id)
      : dir_(std::move(dir)), network_id_(network_id) {}
  absl::Status Launch(int node);
  absl::Status WaitReady(const std::vector<int>& nodes, absl::Duration timeout) const;

  const std::string dir_;
  const uint32_t network_id_;
  std::vector<Node> nodes_;
};

// A TCP port on which nothing listens right now (bound by a probe, then
// released), e.g. for an unreachable proxy URL.
absl::StatusOr<int> UnusedTcpPort();

// A gtest fixture whose tests share one cluster of three nodes, started once
// per test suite (SetUpTestSuite) and stopped after it; derive from it.
class ThreeNodeDhtTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite();
  static void TearDownTestSuite();
  void SetUp() override;

  static DhtCluster* cluster_;
};

}  // namespace microledger

#endif  // MICROLEDGER_TESTS_DHT_DHT_CLUSTER_H_
