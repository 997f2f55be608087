#include "serving/admission_control.h"

#include <thread>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace microledger {
namespace {

using ::testing::HasSubstr;

AdmissionLimits Small() {
  AdmissionLimits limits;
  limits.max_concurrent_appends = 3;
  limits.max_concurrent_appends_per_connection = 2;
  limits.max_append_streams = 3;
  limits.max_append_streams_per_connection = 2;
  limits.max_subscriptions = 3;
  limits.max_subscriptions_per_connection = 2;
  limits.max_inflight_request_bytes = 1000;
  return limits;
}

void ExpectRefused(const absl::StatusOr<AdmissionControl::Ticket>& ticket,
                   const std::string& flag) {
  ASSERT_FALSE(ticket.ok());
  EXPECT_EQ(ticket.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(ticket.status().message(), HasSubstr("--" + flag + "="));
}

TEST(AdmissionControlTest, AppendsPerConnectionThenInTotal) {
  AdmissionControl control(Small());
  auto a1 = control.AdmitAppend("ipv4:127.0.0.1:1", 10);
  auto a2 = control.AdmitAppend("ipv4:127.0.0.1:1", 10);
  ASSERT_TRUE(a1.ok() && a2.ok());
  ExpectRefused(control.AdmitAppend("ipv4:127.0.0.1:1", 10),
                "max_concurrent_appends_per_connection");
  auto b1 = control.AdmitAppend("ipv4:127.0.0.1:2", 10);
  ASSERT_TRUE(b1.ok());
  ExpectRefused(control.AdmitAppend("ipv4:127.0.0.1:3", 10), "max_concurrent_appends");
  // Refusals took nothing.
  EXPECT_EQ(control.usage().appends, 3u);
  EXPECT_EQ(control.usage().request_bytes, 30u);
  EXPECT_EQ(control.usage().connections, 2u);
  a1->Release();
  EXPECT_TRUE(control.AdmitAppend("ipv4:127.0.0.1:1", 10).ok());  // Released at once.
  EXPECT_EQ(control.usage().appends, 2u);
}

TEST(AdmissionControlTest, RequestBytesInFlight) {
  AdmissionControl control(Small());
  auto big = control.AdmitAppend("a", 900);
  ASSERT_TRUE(big.ok());
  ExpectRefused(control.AdmitAppend("b", 101), "max_inflight_request_bytes");
  EXPECT_TRUE(control.AdmitAppend("b", 100).ok());
  ExpectRefused(control.AdmitAppend("c", 1001), "max_inflight_request_bytes");
  big->Release();
  ExpectRefused(control.AdmitAppend("c", 1001), "max_inflight_request_bytes");
  EXPECT_EQ(control.usage().request_bytes, 0u);
  EXPECT_EQ(control.usage().appends, 0u);
}

TEST(AdmissionControlTest, StreamsAndSubscriptionsAreCountedApart) {
  AdmissionControl control(Small());
  std::vector<AdmissionControl::Ticket> held;
  for (int i = 0; i < 2; ++i) {
    auto stream = control.AdmitAppendStream("p");
    auto subscription = control.AdmitSubscription("p");
    ASSERT_TRUE(stream.ok() && subscription.ok());
    held.push_back(*std::move(stream));
    held.push_back(*std::move(subscription));
  }
  ExpectRefused(control.AdmitAppendStream("p"), "max_append_streams_per_connection");
  ExpectRefused(control.AdmitSubscription("p"), "max_subscriptions_per_connection");
  EXPECT_TRUE(control.AdmitAppend("p", 1).ok());  // Appends are another count.
  auto other_stream = control.AdmitAppendStream("q");
  auto other_subscription = control.AdmitSubscription("q");
  ASSERT_TRUE(other_stream.ok() && other_subscription.ok());
  ExpectRefused(control.AdmitAppendStream("r"), "max_append_streams");
  ExpectRefused(control.AdmitSubscription("r"), "max_subscriptions");
  held.clear();  // Destroying a ticket releases it.
  EXPECT_EQ(control.usage().append_streams, 1u);
  EXPECT_EQ(control.usage().subscriptions, 1u);
  EXPECT_EQ(control.usage().connections, 1u);
}

TEST(AdmissionControlTest, MovedTicketsReleaseOnce) {
  AdmissionControl control(Small());
  AdmissionControl::Ticket ticket = *control.AdmitAppend("p", 5);
  AdmissionControl::Ticket moved = std::move(ticket);
  ticket.Release();  // Moved-from: holds nothing.
  EXPECT_EQ(control.usage().appends, 1u);
  moved.Release();
  moved.Release();
  EXPECT_EQ(control.usage().appends, 0u);
  EXPECT_EQ(control.usage().request_bytes, 0u);
}

// Many threads admitting and releasing: never more than a limit at once, and
// everything is given back.
TEST(AdmissionControlTest, ConcurrentAdmissionsNeverPassTheLimits) {
  AdmissionLimits limits;
  limits.max_concurrent_appends = 8;
  limits.max_concurrent_appends_per_connection = 3;
  limits.max_inflight_request_bytes = 1 << 20;
  AdmissionControl control(limits);
  std::atomic<size_t> held{0}, peak{0}, admitted{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      const std::string peer = "peer" + std::to_string(t % 4);
      for (int i = 0; i < 2000; ++i) {
        absl::StatusOr<AdmissionControl::Ticket> ticket = control.AdmitAppend(peer, 100);
        if (!ticket.ok()) continue;
        ++admitted;
        const size_t now = ++held;
        size_t seen = peak.load();
        while (now > seen && !peak.compare_exchange_weak(seen, now)) {
        }
        --held;
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_LE(peak.load(), 8u);
  EXPECT_GT(admitted.load(), 0u);
  AdmissionControl::Usage usage = control.usage();
  EXPECT_EQ(usage.appends, 0u);
  EXPECT_EQ(usage.request_bytes, 0u);
  EXPECT_EQ(usage.connections, 0u);
}

}  // namespace
}  // namespace microledger
