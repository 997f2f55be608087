#include "owner_agent/listen_policy.h"

#include <arpa/inet.h>

#include "absl/strings/str_cat.h"
#include "common/error_text.h"
#include "serving/listen_address.h"

namespace microledger {
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

absl::Status CheckListenExposure(absl::string_view listen, bool tls, bool token) {
  if (absl::StatusOr<ListenAddress> address = ParseListenAddress(listen); !address.ok()) {
    return address.status();
  }
  if (IsLocalListenAddress(listen) || (tls && token)) return absl::OkStatus();
  return absl::FailedPreconditionError(absl::StrCat(
      "--listen=", QuoteForError(listen),
      " may be reachable from other machines (only unix:PATH, 127.x.y.z and [::1] "
      "count as local; names such as localhost are not resolved): the agent signs "
      "with the owner's keys for any caller, so it needs TLS (--tls_cert, --tls_key) "
      "and a bearer token (--token_file) there, or a loopback address or unix:PATH"));
}

}  // namespace microledger
