#include "serving/client_rate_limiter.h"

#include "absl/time/time.h"
#include "gtest/gtest.h"

namespace microledger {
namespace {

class ClientRateLimiterTest : public ::testing::Test {
 protected:
  ClientRateLimiter Make(double per_second, double burst, size_t max_clients = 100) {
    RateLimit limit;
    limit.per_second = per_second;
    limit.burst = burst;
    limit.max_clients = max_clients;
    return ClientRateLimiter(limit, [this] { return now_; });
  }

  absl::Time now_ = absl::FromUnixSeconds(1000);
};

TEST_F(ClientRateLimiterTest, BurstThenRefillPerClient) {
  ClientRateLimiter limiter = Make(2, 3);
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(limiter.Allow("10.0.0.1")) << i;
  EXPECT_FALSE(limiter.Allow("10.0.0.1"));
  EXPECT_TRUE(limiter.Allow("10.0.0.2"));  // Another client has its own bucket.
  now_ += absl::Milliseconds(500);         // One token back at 2 per second.
  EXPECT_TRUE(limiter.Allow("10.0.0.1"));
  EXPECT_FALSE(limiter.Allow("10.0.0.1"));
  now_ += absl::Hours(1);  // Never more than the burst.
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(limiter.Allow("10.0.0.1")) << i;
  EXPECT_FALSE(limiter.Allow("10.0.0.1"));
}

TEST_F(ClientRateLimiterTest, ZeroRateIsUnlimited) {
  ClientRateLimiter limiter = Make(0, 1);
  for (int i = 0; i < 1000; ++i) ASSERT_TRUE(limiter.Allow("10.0.0.1"));
}

TEST_F(ClientRateLimiterTest, TableIsBoundedAndIdleClientsMakeRoom) {
  ClientRateLimiter limiter = Make(1, 2, 2);
  EXPECT_TRUE(limiter.Allow("a"));
  EXPECT_TRUE(limiter.Allow("b"));
  EXPECT_FALSE(limiter.Allow("c"));  // Both buckets are in use: refused.
  now_ += absl::Seconds(5);          // a and b are full again: dropped for c.
  EXPECT_TRUE(limiter.Allow("c"));
}

TEST(ClientAddressTest, GrpcPeers) {
  EXPECT_EQ(ClientAddressOfGrpcPeer("ipv4:127.0.0.1:5000"), "127.0.0.1");
  EXPECT_EQ(ClientAddressOfGrpcPeer("ipv6:[::1]:5000"), "::1");
  EXPECT_EQ(ClientAddressOfGrpcPeer("unix:/tmp/x.sock"), "unix:/tmp/x.sock");
}

}  // namespace
}  // namespace microledger
