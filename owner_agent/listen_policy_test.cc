#include "owner_agent/listen_policy.h"

#include "gtest/gtest.h"

namespace microledger {
namespace {

TEST(ListenPolicyTest, LocalAddresses) {
  for (const char* listen : {"127.0.0.1:7401", "127.0.0.2:0", "[::1]:7401",
                             "localhost:7401", "unix:/run/ml-owner.sock"}) {
    EXPECT_TRUE(IsLocalListenAddress(listen)) << listen;
    EXPECT_TRUE(CheckListenExposure(listen, false, false).ok()) << listen;
  }
}

TEST(ListenPolicyTest, ExposedAddressesNeedTlsAndToken) {
  for (const char* listen : {"0.0.0.0:7401", "[::]:7401", "10.1.2.3:7401",
                             "example.com:7401", "128.0.0.1:7401", "7401"}) {
    EXPECT_FALSE(IsLocalListenAddress(listen)) << listen;
    EXPECT_EQ(CheckListenExposure(listen, false, false).code(),
              absl::StatusCode::kFailedPrecondition)
        << listen;
    EXPECT_FALSE(CheckListenExposure(listen, true, false).ok()) << listen;
    EXPECT_FALSE(CheckListenExposure(listen, false, true).ok()) << listen;
    EXPECT_TRUE(CheckListenExposure(listen, true, true).ok()) << listen;
  }
}

}  // namespace
}  // namespace microledger
