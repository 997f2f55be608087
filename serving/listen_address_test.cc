#include "serving/listen_address.h"

#include <string>

#include "gtest/gtest.h"

namespace microledger {
namespace {

TEST(ListenAddressTest, TcpForms) {
  absl::StatusOr<ListenAddress> ipv4 = ParseListenAddress("127.0.0.1:7401");
  ASSERT_TRUE(ipv4.ok()) << ipv4.status();
  EXPECT_EQ(ipv4->kind, ListenAddress::Kind::kTcp);
  EXPECT_EQ(ipv4->host, "127.0.0.1");
  EXPECT_EQ(ipv4->host_form, ListenAddress::HostForm::kIpv4);
  EXPECT_EQ(ipv4->port, 7401);

  absl::StatusOr<ListenAddress> ipv6 = ParseListenAddress("[::1]:0");
  ASSERT_TRUE(ipv6.ok()) << ipv6.status();
  EXPECT_EQ(ipv6->host, "::1");
  EXPECT_EQ(ipv6->host_form, ListenAddress::HostForm::kIpv6);
  EXPECT_EQ(ipv6->port, 0);

  absl::StatusOr<ListenAddress> name = ParseListenAddress("ml-host.example:65535");
  ASSERT_TRUE(name.ok()) << name.status();
  EXPECT_EQ(name->host_form, ListenAddress::HostForm::kName);
  EXPECT_EQ(name->port, 65535);

  EXPECT_TRUE(ParseListenAddress("0.0.0.0:7400").ok());
  EXPECT_TRUE(ParseListenAddress("[::]:7400").ok());
}

TEST(ListenAddressTest, UnixPath) {
  absl::StatusOr<ListenAddress> unix_socket = ParseListenAddress("unix:/run/ml/agent.sock");
  ASSERT_TRUE(unix_socket.ok()) << unix_socket.status();
  EXPECT_EQ(unix_socket->kind, ListenAddress::Kind::kUnix);
  EXPECT_EQ(unix_socket->path, "/run/ml/agent.sock");
  EXPECT_TRUE(ParseListenAddress("unix:" + std::string(107, 'a')).ok());
}

TEST(ListenAddressTest, RejectsBadPorts) {
  for (const char* listen : {"127.0.0.1:99999", "127.0.0.1:65536", "127.0.0.1:", "127.0.0.1:+80",
                             "127.0.0.1:-1", "127.0.0.1:0x50", "127.0.0.1: 80",
                             "127.0.0.1:000080", "127.0.0.1:80a", "7401"}) {
    absl::StatusOr<ListenAddress> parsed = ParseListenAddress(listen);
    EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument) << listen;
  }
  EXPECT_NE(ParseListenAddress("127.0.0.1:99999").status().message().find("0..65535"),
            absl::string_view::npos);
}

TEST(ListenAddressTest, RejectsBadHosts) {
  for (const char* listen :
       {":7400", "::1:7400", "[::1:7400", "[::g]:7400", "[]:7400", "[127.0.0.1]:7400",
        "127.1:7400", "127.0.0.256:7400", "127.000.0.1:7400", "1.2.3.4.5:7400",
        "bad_name:7400", "-x.example:7400", "a..b:7400", "host name:7400"}) {
    absl::StatusOr<ListenAddress> parsed = ParseListenAddress(listen);
    EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument) << listen;
  }
}

TEST(ListenAddressTest, RejectsBadUnixPaths) {
  for (const std::string& listen : {std::string("unix:"), std::string("unix://tmp/x.sock"),
                                    std::string("unix:a\0b", 8),
                                    "unix:" + std::string(108, 'a')}) {
    EXPECT_EQ(ParseListenAddress(listen).status().code(), absl::StatusCode::kInvalidArgument)
        << listen;
  }
}

TEST(ListenAddressTest, ErrorNamesTheAddressNotAFlag) {
  // The parser also checks the mirror's --admin_listen: no flag is assumed.
  const std::string listen = "unix:" + std::string(108, 'a');
  const std::string message(ParseListenAddress(listen).status().message());
  EXPECT_EQ(message.rfind("listen address " + listen + ": ", 0), 0u) << message;
  EXPECT_EQ(message.find("--listen"), std::string::npos) << message;
}

TEST(ListenAddressTest, ErrorQuotesAtMostABoundedPrefix) {
  const std::string huge = std::string(1 << 20, 'h') + ":1";
  absl::StatusOr<ListenAddress> parsed = ParseListenAddress(huge);
  ASSERT_FALSE(parsed.ok());
  EXPECT_LT(parsed.status().message().size(), 400u);
}

}  // namespace
}  // namespace microledger
