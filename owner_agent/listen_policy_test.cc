#include "owner_agent/listen_policy.h"

#include "gtest/gtest.h"

namespace microledger {
namespace {

TEST(ListenPolicyTest, LocalAddresses) {
  for (const char* listen :
       {"127.0.0.1:7401", "127.0.0.2:0", "127.255.255.254:7401", "[::1]:7401",
        "[0:0:0:0:0:0:0:1]:7401", "unix:/run/ml-owner/agent.sock"}) {
    EXPECT_TRUE(IsLocalListenAddress(listen)) << listen;
    EXPECT_TRUE(CheckListenExposure(listen, false, false).ok()) << listen;
  }
}

TEST(ListenPolicyTest, NamesAreNeverLocal) {
  for (const char* listen : {"localhost:7401", "127.0.0.1.nip.io:7401", "127.example:7401",
                             "ip6-localhost:7401", "LOCALHOST:7401"}) {
    EXPECT_FALSE(IsLocalListenAddress(listen)) << listen;
    EXPECT_EQ(CheckListenExposure(listen, false, false).code(),
              absl::StatusCode::kFailedPrecondition)
        << listen;
  }
}

TEST(ListenPolicyTest, ExposedAddressesNeedTlsAndToken) {
  for (const char* listen : {"0.0.0.0:7401", "[::]:7401", "10.1.2.3:7401",
                             "example.com:7401", "128.0.0.1:7401", "[::ffff:127.0.0.1]:7401",
                             "localhost:7401"}) {
    EXPECT_FALSE(IsLocalListenAddress(listen)) << listen;
    EXPECT_EQ(CheckListenExposure(listen, false, false).code(),
              absl::StatusCode::kFailedPrecondition)
        << listen;
    EXPECT_FALSE(CheckListenExposure(listen, true, false).ok()) << listen;
    EXPECT_FALSE(CheckListenExposure(listen, false, true).ok()) << listen;
    EXPECT_TRUE(CheckListenExposure(listen, true, true).ok()) << listen;
  }
}

TEST(ListenPolicyTest, LoopbackLookalikesAreNotLocal) {
  // Not strict dotted quads: gRPC would resolve them, so they are not literals.
  for (const char* listen : {"127.1:7401", "127.0.0.1.:7401", "0127.0.0.1:7401",
                             "127.000.000.001:7401", "7401", "127.0.0.1:99999"}) {
    EXPECT_FALSE(IsLocalListenAddress(listen)) << listen;
    EXPECT_FALSE(CheckListenExposure(listen, false, false).ok()) << listen;
  }
}

TEST(ListenPolicyTest, InvalidAddressesAreRefusedEvenWithTlsAndToken) {
  for (const char* listen : {"127.0.0.1:99999", "::1:7401", "127.1:7401", "unix:"}) {
    EXPECT_EQ(CheckListenExposure(listen, true, true).code(),
              absl::StatusCode::kInvalidArgument)
        << listen;
  }
}

}  // namespace
}  // namespace microledger
