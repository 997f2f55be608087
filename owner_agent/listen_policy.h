// Where ml-owner may listen. The agent signs with the owner's keys for whoever
// can reach it, so it listens on loopback or a Unix socket unless it is deployed
// behind TLS with a bearer token. Thread-safe.
#ifndef MICROLEDGER_OWNER_AGENT_LISTEN_POLICY_H_
#define MICROLEDGER_OWNER_AGENT_LISTEN_POLICY_H_

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace microledger {

// True for "unix:PATH", 127.0.0.0/8, [::1] and localhost addresses.
bool IsLocalListenAddress(absl::string_view listen);

// OK for a local address, or for any address with both TLS and a token;
// FailedPrecondition explaining what to add otherwise.
absl::Status CheckListenExposure(absl::string_view listen, bool tls, bool token);

}  // namespace microledger

#endif  // MICROLEDGER_OWNER_AGENT_LISTEN_POLICY_H_
