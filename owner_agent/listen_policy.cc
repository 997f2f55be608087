#include "owner_agent/listen_policy.h"

#include "absl/strings/str_cat.h"
#include "common/error_text.h"
#include "serving/listen_address.h"

namespace microledger {
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
