#include "serving/listen_address.h"

#include <arpa/inet.h>
#include <sys/un.h>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/error_text.h"

namespace microledger {
namespace {

constexpr absl::string_view kUnixPrefix = "unix:";
constexpr size_t kMaxUnixPathBytes = sizeof(sockaddr_un{}.sun_path) - 1;
constexpr size_t kMaxDnsNameBytes = 253;
constexpr size_t kMaxDnsLabelBytes = 63;

// Names the address, not a flag: the same parser checks --listen, the
// mirror's --admin_listen, mlctl's --from and a DHT proxy URL, and the caller
// knows which one it read (it may prefix the message with its flag).
absl::Status Invalid(absl::string_view listen, absl::string_view why) {
  return absl::InvalidArgumentError(
      absl::StrCat("listen address ", QuoteForError(listen), ": ", why));
}

bool IsDnsName(absl::string_view host) {
  if (host.empty() || host.size() > kMaxDnsNameBytes) return false;
  for (absl::string_view label : absl::StrSplit(host, '.')) {
    if (label.empty() || label.size() > kMaxDnsLabelBytes) return false;
    if (label.front() == '-' || label.back() == '-') return false;
    for (char c : label) {
      if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '-') return false;
    }
  }
  return true;
}

bool LooksNumeric(absl::string_view host) {
  for (char c : host) {
    if (!absl::ascii_isdigit(static_cast<unsigned char>(c)) && c != '.') return false;
  }
  return true;
}

absl::StatusOr<ListenAddress> ParseUnix(absl::string_view listen) {
  ListenAddress address;
  address.kind = ListenAddress::Kind::kUnix;
  address.path = std::string(listen.substr(kUnixPrefix.size()));
  if (address.path.empty()) return Invalid(listen, "unix: needs a socket path");
  if (absl::StartsWith(address.path, "//")) {
    return Invalid(listen, "write a Unix socket as unix:PATH (unix:/run/x.sock), "
                           "not as a unix:// URI");
  }
  if (address.path.find('\0') != std::string::npos) {
    return Invalid(listen, "the socket path contains a NUL byte");
  }
  if (address.path.size() > kMaxUnixPathBytes) {
    return Invalid(listen, absl::StrCat("a Unix socket path has at most ",
                                        kMaxUnixPathBytes, " bytes"));
  }
  return address;
}

absl::StatusOr<int> ParsePort(absl::string_view listen, absl::string_view port) {
  constexpr absl::string_view kPortRule = "PORT must be decimal digits, 0..65535";
  if (port.empty() || port.size() > 5) return Invalid(listen, kPortRule);
  int value = 0;
  for (char c : port) {
    if (!absl::ascii_isdigit(static_cast<unsigned char>(c))) return Invalid(listen, kPortRule);
    value = value * 10 + (c - '0');
  }
  if (value > 65535) return Invalid(listen, kPortRule);
  return value;
}

}  // namespace

absl::StatusOr<ListenAddress> ParseListenAddress(absl::string_view listen) {
  if (absl::StartsWith(listen, kUnixPrefix)) return ParseUnix(listen);
  const size_t colon = listen.rfind(':');
  if (colon == absl::string_view::npos) {
    return Invalid(listen, "expected HOST:PORT or unix:PATH");
  }
  ListenAddress address;
  absl::StatusOr<int> port = ParsePort(listen, listen.substr(colon + 1));
  if (!port.ok()) return port.status();
  address.port = *port;
  const absl::string_view host = listen.substr(0, colon);
  if (host.empty()) {
    return Invalid(listen, "HOST is missing (0.0.0.0 or [::] listen on every interface)");
  }
  if (host.front() == '[') {
    const absl::string_view inside = host.substr(1, host.size() - 2);
    in6_addr ipv6;
    if (host.size() < 2 || host.back() != ']' ||
        inet_pton(AF_INET6, std::string(inside).c_str(), &ipv6) != 1) {
      return Invalid(listen, "not an IPv6 address in brackets ([::1]:PORT)");
    }
    address.host = std::string(inside);
    address.host_form = ListenAddress::HostForm::kIpv6;
    return address;
  }
  if (absl::StrContains(host, ':')) {
    return Invalid(listen, "an IPv6 address needs brackets ([::1]:PORT)");
  }
  address.host = std::string(host);
  if (LooksNumeric(host)) {
    in_addr ipv4;
    if (inet_pton(AF_INET, address.host.c_str(), &ipv4) != 1) {
      return Invalid(listen, "not an IPv4 dotted quad (four numbers 0..255)");
    }
    address.host_form = ListenAddress::HostForm::kIpv4;
    return address;
  }
  if (!IsDnsName(host)) return Invalid(listen, "HOST is not a valid host name");
  address.host_form = ListenAddress::HostForm::kName;
  return address;
}

namespace {

bool IsLoopbackLiteral(const ListenAddress& address) {
  switch (address.host_form) {
    case ListenAddress::HostForm::kIpv4: {
      in_addr ipv4;
      return inet_pton(AF_INET, address.host.c_str(), &ipv4) == 1 &&
             (ntohl(ipv4.s_addr) >> 24) == 127;
    }
    case ListenAddress::HostForm::kIpv6: {
      in6_addr ipv6;
      return inet_pton(AF_INET6, address.host.c_str(), &ipv6) == 1 &&
             IN6_IS_ADDR_LOOPBACK(&ipv6);
    }
    case ListenAddress::HostForm::kName:
      return false;
  }
  return false;
}

}  // namespace

bool IsLocalListenAddress(absl::string_view listen) {
  absl::StatusOr<ListenAddress> address = ParseListenAddress(listen);
  if (!address.ok()) return false;
  return address->kind == ListenAddress::Kind::kUnix || IsLoopbackLiteral(*address);
}

}  // namespace microledger
