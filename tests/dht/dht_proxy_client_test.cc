// The DHT proxy client against a real private OpenDHT network of three
// dhtnode processes on this machine.
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "serving/dht_client.h"
#include "tests/dht/dht_cluster.h"

namespace microledger {
namespace {

using ::testing::IsEmpty;
using ::testing::UnorderedElementsAreArray;

std::string RandomKey() {
  static std::mt19937_64 random{std::random_device{}()};
  return absl::StrFormat("%016x%016x%08x", random(), random(), random() & 0xffffffffu);
}

std::unique_ptr<DhtClient> Client(const std::string& url, absl::Duration timeout) {
  absl::StatusOr<std::unique_ptr<DhtClient>> client = NewDhtProxyClient(url, timeout);
  EXPECT_TRUE(client.ok()) << client.status();
  return client.ok() ? *std::move(client) : NewMemoryDht();
}

// Gets `key` through `client` until it holds at least `count` values or 10 s
// have passed; the last values got.
std::vector<std::string> GetAtLeast(DhtClient& client, const std::string& key, size_t count) {
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  std::vector<std::string> values;
  while (true) {
    absl::StatusOr<std::vector<std::string>> got = client.Get(key);
    EXPECT_TRUE(got.ok()) << got.status();
    if (got.ok()) values = *std::move(got);
    if (values.size() >= count || absl::Now() > deadline) return values;
    absl::SleepFor(absl::Milliseconds(20));
  }
}

using DhtProxyClientClusterTest = ThreeNodeDhtTest;

TEST_F(DhtProxyClientClusterTest, PutThroughOneNodeIsFoundThroughAnother) {
  auto writer = Client(cluster_->proxy_url(0), absl::Seconds(10));
  auto reader = Client(cluster_->proxy_url(2), absl::Seconds(10));
  const std::string key = RandomKey();
  const std::string value("binary\0value\xff", 13);
  ASSERT_TRUE(writer->Put(key, value, 42).ok());
  EXPECT_EQ(GetAtLeast(*reader, key, 1), std::vector<std::string>{value});
}

TEST_F(DhtProxyClientClusterTest, HundredValuesUnderOneKey) {
  auto writer = Client(cluster_->proxy_url(0), absl::Seconds(10));
  auto reader = Client(cluster_->proxy_url(2), absl::Seconds(10));
  const std::string key = RandomKey();
  std::vector<std::string> values;
  for (int i = 0; i < 100; ++i) {
    // Value data of a realistic size (SPEC §13: at most 4,096 bytes).
    values.push_back(absl::StrCat("value ", i, " ", std::string(4000, 'a' + i % 26)));
    ASSERT_TRUE(writer->Put(key, values.back(), 1000 + i).ok()) << i;
  }
  EXPECT_THAT(GetAtLeast(*reader, key, 100), UnorderedElementsAreArray(values));
}

TEST_F(DhtProxyClientClusterTest, KeyWithoutValuesGivesNone) {
  auto reader = Client(cluster_->proxy_url(1), absl::Seconds(10));
  absl::StatusOr<std::vector<std::string>> values = reader->Get(RandomKey());
  ASSERT_TRUE(values.ok()) << values.status();
  EXPECT_THAT(*values, IsEmpty());
}

// Put and get latencies on the loopback cluster, printed for BENCHMARKS-style
// notes: a put through node 0 (the proxy answers once the DHT stored it) and
// the first get through node 2 that finds it.
TEST_F(DhtProxyClientClusterTest, MeasuresPutAndGetLatency) {
  auto writer = Client(cluster_->proxy_url(0), absl::Seconds(10));
  auto reader = Client(cluster_->proxy_url(2), absl::Seconds(10));
  std::vector<double> put_ms, visible_ms;
  for (int i = 0; i < 30; ++i) {
    const std::string key = RandomKey();
    const std::string value(1000, 'v');
    const absl::Time start = absl::Now();
    ASSERT_TRUE(writer->Put(key, value, 7).ok());
    const absl::Time put_done = absl::Now();
    ASSERT_EQ(GetAtLeast(*reader, key, 1).size(), 1u);
    put_ms.push_back(absl::ToDoubleMilliseconds(put_done - start));
    visible_ms.push_back(absl::ToDoubleMilliseconds(absl::Now() - put_done));
  }
  for (auto* list : {&put_ms, &visible_ms}) std::sort(list->begin(), list->end());
  std::printf("put via node 0: median %.1f ms, max %.1f ms; then get via node 2: median %.1f ms, "
              "max %.1f ms (30 rounds)\n",
              put_ms[15], put_ms.back(), visible_ms[15], visible_ms.back());
}

TEST(DhtProxyClientUnreachableTest, RefusedConnectionIsUnavailableAtOnce) {
  absl::StatusOr<int> port = UnusedTcpPort();
  ASSERT_TRUE(port.ok()) << port.status();
  auto client = Client(absl::StrCat("http://127.0.0.1:", *port), absl::Seconds(10));
  const absl::Time start = absl::Now();
  EXPECT_EQ(client->Put(RandomKey(), "v", 1).code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(client->Get(RandomKey()).status().code(), absl::StatusCode::kUnavailable);
  EXPECT_LT(absl::Now() - start, absl::Seconds(1));
}

TEST(DhtProxyClientUnreachableTest, SilentProxyIsUnavailableAfterTheTimeout) {
  // A listening socket that never accepts: connections complete in the
  // kernel's backlog, and no answer ever comes.
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t size = sizeof address;
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&address), size), 0);
  ASSERT_EQ(listen(fd, 8), 0);
  ASSERT_EQ(getsockname(fd, reinterpret_cast<sockaddr*>(&address), &size), 0);
  auto client = Client(absl::StrCat("http://127.0.0.1:", ntohs(address.sin_port)),
                       absl::Milliseconds(300));
  const absl::Time start = absl::Now();
  EXPECT_EQ(client->Get(RandomKey()).status().code(), absl::StatusCode::kUnavailable);
  const absl::Duration elapsed = absl::Now() - start;
  EXPECT_GE(elapsed, absl::Milliseconds(250));
  EXPECT_LT(elapsed, absl::Seconds(2));
  close(fd);
}

TEST(DhtProxyClientLoneNodeTest, PutOnANodeWithoutPeersIsUnavailable) {
  absl::StatusOr<std::unique_ptr<DhtCluster>> lone = DhtCluster::Start(1);
  ASSERT_TRUE(lone.ok()) << lone.status();
  auto client = Client((*lone)->proxy_url(0), absl::Seconds(10));
  const absl::Status put = client->Put(RandomKey(), "v", 1);
  EXPECT_EQ(put.code(), absl::StatusCode::kUnavailable) << put;
}

TEST(DhtProxyClientLoneNodeTest, StoppedNodeIsUnavailableAndAnswersAgainOnceRestarted) {
  absl::StatusOr<std::unique_ptr<DhtCluster>> cluster = DhtCluster::Start(2);
  ASSERT_TRUE(cluster.ok()) << cluster.status();
  auto client = Client((*cluster)->proxy_url(1), absl::Seconds(10));
  const std::string key = RandomKey();
  ASSERT_TRUE(client->Put(key, "before", 1).ok());
  (*cluster)->StopNode(1);
  EXPECT_EQ(client->Get(key).status().code(), absl::StatusCode::kUnavailable);
  ASSERT_TRUE((*cluster)->RestartNode(1).ok());
  // Node 0 kept the value; the restarted node finds it.
  EXPECT_EQ(GetAtLeast(*client, key, 1), std::vector<std::string>{"before"});
}

}  // namespace
}  // namespace microledger
