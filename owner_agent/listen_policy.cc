#include "owner_agent/listen_policy.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace microledger {

bool IsLocalListenAddress(absl::string_view listen) {
  if (absl::StartsWith(listen, "unix:")) return true;
  const size_t colon = listen.rfind(':');
  if (colon == absl::string_view::npos) return false;
  const absl::string_view host = listen.substr(0, colon);
  return host == "localhost" || host == "[::1]" || absl::StartsWith(host, "127.");
}

absl::Status CheckListenExposure(absl::string_view listen, bool tls, bool token) {
  if (IsLocalListenAddress(listen) || (tls && token)) return absl::OkStatus();
  return absl::FailedPreconditionError(absl::StrCat(
      "--listen=", listen,
      " is reachable from other machines: the agent signs with the owner's keys "
      "for any caller, so it needs TLS (--tls_cert, --tls_key) and a bearer token "
      "(--token_file) there, or a loopback address or unix:PATH"));
}

}  // namespace microledger
