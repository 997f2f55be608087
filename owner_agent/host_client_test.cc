#include "owner_agent/host_client.h"

#include <string>

#include "gtest/gtest.h"

namespace microledger {
namespace {

// A hostile host's status: an unknown code and an 8 MiB message.
TEST(HostErrorTest, UntrustedCodeAndMessageAreBounded) {
  absl::Status error = HostError(12345, std::string(8 << 20, 'x'));
  EXPECT_EQ(error.code(), absl::StatusCode::kUnknown);
  EXPECT_LT(error.message().size(), 1024u);
  EXPECT_EQ(HostError(-1, "m").code(), absl::StatusCode::kUnknown);
  EXPECT_EQ(HostError(0, "m").code(), absl::StatusCode::kUnknown);
  error = HostError(static_cast<int>(absl::StatusCode::kFailedPrecondition), "previous: x");
  EXPECT_EQ(error.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(error.message(), "previous: x");
}

}  // namespace
}  // namespace microledger
