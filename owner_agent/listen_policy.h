// Where ml-owner may listen. The agent signs with the owner's keys for whoever
// can reach it, so it listens on loopback or a Unix socket unless it is deployed
// behind TLS with a bearer token. "Local" is decided from the text alone and
// nothing is resolved: only unix:PATH, an IPv4 dotted quad in 127.0.0.0/8
// (parsed strictly, as serving/listen_address.h does) and the IPv6 loopback
// [::1] are local. Every name is not, `localhost` included (a resolver, an
// /etc/hosts entry or a DNS name such as 127.0.0.1.nip.io can point a name
// anywhere). Thread-safe.
#ifndef MICROLEDGER_OWNER_AGENT_LISTEN_POLICY_H_
#define MICROLEDGER_OWNER_AGENT_LISTEN_POLICY_H_

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "serving/listen_address.h"

namespace microledger {

// IsLocalListenAddress (serving/listen_address.h) decides what is local.
// OK for a local address, or for any valid address with both TLS and a token;
// InvalidArgument for an invalid address; FailedPrecondition explaining what to
// add otherwise.
absl::Status CheckListenExposure(absl::string_view listen, bool tls, bool token);

}  // namespace microledger

#endif  // MICROLEDGER_OWNER_AGENT_LISTEN_POLICY_H_
